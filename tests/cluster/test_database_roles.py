"""The application's database role in the deployed topology: the ledger is out of its reach.

Migrations run as the owner role (``lending_owner``); the instances, the daily jobs and
``deploy/local-cluster manage`` run as ``lending``, which owns nothing and holds only the
rights ``manage.py grant_app_role`` gives it after every migrate (docs/SECURITY.md).
"""

import uuid

import psycopg
import pytest
from psycopg import errors

from tests.cluster.client import PASSWORD, PRIMARY_PORT, new_email

pytestmark = pytest.mark.cluster

# Each statement is tried as the application's role, in a transaction that is rolled
# back whatever happens (a TRUNCATE that succeeded must not empty the cluster's ledger).
FORBIDDEN = {
    "update a posting": "UPDATE ledger_posting SET amount = amount * 2",
    "update an entry": "UPDATE ledger_journalentry SET description = 'edited'",
    "delete a posting": "DELETE FROM ledger_posting",
    "delete an entry": "DELETE FROM ledger_journalentry",
    "truncate the postings": "TRUNCATE ledger_posting",
    "truncate the entries": "TRUNCATE ledger_journalentry CASCADE",
    "truncate the accounts": "TRUNCATE ledger_account CASCADE",
    "disable the postings' triggers": "ALTER TABLE ledger_posting DISABLE TRIGGER ALL",
    "disable the entries' triggers": "ALTER TABLE ledger_journalentry DISABLE TRIGGER USER",
    "drop the append-only trigger": (
        "DROP TRIGGER IF EXISTS ledger_posting_append_only ON ledger_posting"
    ),
    "alter a posting's column": "ALTER TABLE ledger_posting ALTER COLUMN amount DROP NOT NULL",
    "drop a constraint": (
        "ALTER TABLE ledger_posting DROP CONSTRAINT IF EXISTS ledger_posting_amount_nonzero"
    ),
    "rename an account": "UPDATE ledger_account SET code = code || '-x'",
    "move an account's kind": "UPDATE ledger_account SET kind = 'INCOME'",
    "delete an account": "DELETE FROM ledger_account",
    "delete the business date": "DELETE FROM ledger_businessdate",
    "rewrite the migrations' history": "DELETE FROM django_migrations",
    "create a table": "CREATE TABLE planted (id int)",
    "create a function": "CREATE FUNCTION planted() RETURNS int LANGUAGE sql AS 'SELECT 1'",
}


def app_connection(cluster):
    return psycopg.connect(cluster.dsn(PRIMARY_PORT), connect_timeout=5, autocommit=True)


def owner_connection(cluster):
    password = cluster.secrets["OWNER_DB_PASSWORD"]
    return psycopg.connect(
        f"host=127.0.0.1 port={PRIMARY_PORT} dbname=lending user=lending_owner password={password}",
        connect_timeout=5,
        autocommit=True,
    )


@pytest.mark.parametrize("statement", FORBIDDEN.values(), ids=FORBIDDEN.keys())
def test_the_applications_role_cannot_change_the_ledger_behind_its_back(cluster, statement):
    with (
        app_connection(cluster) as conn,
        pytest.raises(errors.InsufficientPrivilege),
        conn.transaction(force_rollback=True),
    ):
        conn.execute(statement)


def test_the_applications_role_owns_nothing_and_is_no_superuser(cluster):
    with app_connection(cluster) as conn:
        role = conn.execute(
            "SELECT rolsuper, rolcreaterole, rolcreatedb, rolbypassrls FROM pg_roles "
            "WHERE rolname = current_user"
        ).fetchone()
        owned = conn.execute(
            "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'public' AND c.relowner = 'lending'::regrole"
        ).fetchall()
        database_owner = conn.execute(
            "SELECT pg_get_userbyid(datdba) FROM pg_database WHERE datname = 'lending'"
        ).fetchone()[0]

    assert role == (False, False, False, False)
    assert owned == []
    assert database_owner == "lending_owner"


def test_the_ledger_is_readable_and_appendable_only(cluster):
    """SELECT and INSERT on entries and postings; UPDATE of nothing but the cached
    balance on accounts and the date on the business date."""
    with app_connection(cluster) as conn:
        rights = dict(
            conn.execute(
                """
                SELECT t.name, array_to_string(ARRAY(
                    SELECT p FROM unnest(ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE',
                                               'TRUNCATE', 'REFERENCES', 'TRIGGER']) p
                    WHERE has_table_privilege(current_user, t.name, p)), ',')
                FROM unnest(ARRAY['ledger_journalentry', 'ledger_posting', 'ledger_account',
                                  'ledger_businessdate']) AS t(name)
                """
            ).fetchall()
        )
        updatable = conn.execute(
            """
            SELECT table_name, array_agg(column_name::text ORDER BY column_name)
            FROM information_schema.columns
            WHERE table_schema = 'public' AND table_name LIKE 'ledger\\_%%'
              AND has_column_privilege(current_user, table_name, column_name, 'UPDATE')
            GROUP BY table_name ORDER BY table_name
            """
        ).fetchall()

    assert rights == {
        "ledger_journalentry": "SELECT,INSERT",
        "ledger_posting": "SELECT,INSERT",
        "ledger_account": "SELECT,INSERT",
        "ledger_businessdate": "SELECT,INSERT",
    }
    assert updatable == [
        ("ledger_account", ["balance", "updated_at"]),
        ("ledger_businessdate", ["date", "updated_at"]),
    ]


def test_a_table_added_by_a_later_migration_is_granted_by_the_deploys_migrate_step(cluster):
    """``deploy/local-cluster migrate`` (migrate as the owner, then ``grant_app_role``) is
    the one deploy step: a table that did not exist at the last grant is usable after it."""
    table = f"planted_{uuid.uuid4().hex[:8]}"
    with owner_connection(cluster) as owner:
        owner.execute(f"CREATE TABLE {table} (id bigint GENERATED BY DEFAULT AS IDENTITY, x int)")
    try:
        with app_connection(cluster) as conn, pytest.raises(errors.InsufficientPrivilege):
            conn.execute(f"INSERT INTO {table} (x) VALUES (1)")

        cluster.run("migrate", timeout=300)

        with app_connection(cluster) as conn:
            conn.execute(f"INSERT INTO {table} (x) VALUES (1)")
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0] == 1
            with pytest.raises(errors.InsufficientPrivilege):
                conn.execute(f"TRUNCATE {table}")
    finally:
        with owner_connection(cluster) as owner:
            owner.execute(f"DROP TABLE {table}")


def test_money_still_moves_under_the_applications_role(cluster):
    """A deposit, a withdrawal and the books clean, with the instances on the narrow role
    (the whole cluster suite, the journey and the close of business included, runs so too)."""
    client = cluster.client(source_ip="127.0.0.41")
    registered = client.post(
        "/api/auth/register", {"name": "Roles", "email": new_email("roles"), "password": PASSWORD}
    )
    assert registered.status == 201, registered.body
    client.token = registered.json()["access_token"]

    deposited = client.post(
        "/api/wallet/deposit", {"amount": "700.00", "idempotency_key": uuid.uuid4().hex}
    )
    withdrawn = client.post(
        "/api/wallet/withdraw", {"amount": "250.00", "idempotency_key": uuid.uuid4().hex}
    )

    assert (deposited.status, withdrawn.status) == (201, 201), (deposited.body, withdrawn.body)
    assert client.get("/api/wallet/balance").json()["balance"] == "450.00"
    reconciled = cluster.run("manage", "reconcile", timeout=300)
    assert reconciled.returncode == 0
