"""The audit trail of users and permissions (accounts_userauditevent, written by
PostgreSQL triggers): every path, with the actor where the application knows it."""

import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import Group, Permission
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.test import Client

from accounts.audit import _command_source
from accounts.models import User, UserAuditEvent
from accounts.services import OFFICER_GROUP_NAME, user_role_change
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory
from tests.concurrency import database_url

ROOT = Path(__file__).resolve().parents[2]


def events(**filters):
    return list(UserAuditEvent.objects.filter(**filters).order_by("id"))


def last(**filters) -> UserAuditEvent:
    return UserAuditEvent.objects.filter(**filters).latest("id")


def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


@pytest.mark.django_db
def test_a_raw_orm_change_from_a_shell_is_recorded_without_an_actor():
    """Plain code outside any request or command: the trigger still writes, with the
    database role that connected."""
    officer = OfficerFactory()

    User.objects.filter(pk=officer.pk).update(is_active=False)

    event = last(subject_id=officer.pk)
    assert event.action == UserAuditEvent.Action.USER_CHANGED
    assert event.changes == {"is_active": [True, False]}
    assert (event.actor_id, event.actor_source) == (None, "")
    with connection.cursor() as cursor:
        cursor.execute("SELECT session_user, txid_current()")
        role, txid = cursor.fetchone()
    assert event.database_role == role
    assert event.transaction_id == txid  # the test's own transaction


@pytest.mark.django_db
def test_plain_sql_is_recorded_too():
    borrower = BorrowerFactory()
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE accounts_user SET name = 'Plain SQL', is_active = false WHERE id = %s",
            [borrower.pk],
        )

    assert last(subject_id=borrower.pk).changes == {
        "name": [borrower.name, "Plain SQL"],
        "is_active": [True, False],
    }


@pytest.mark.django_db
def test_group_membership_and_permissions_are_recorded():
    borrower = BorrowerFactory()
    group = Group.objects.create(name="Auditors")
    approve = Permission.objects.get(codename="approve_loan", content_type__app_label="loans")
    before = UserAuditEvent.objects.count()

    borrower.groups.add(group)
    borrower.user_permissions.add(approve)
    group.permissions.add(approve)
    borrower.groups.remove(group)
    borrower.user_permissions.remove(approve)
    group.name = "Internal auditors"
    group.save()

    recorded = [
        (e.action, e.subject_email, e.group_name, e.permission)
        for e in UserAuditEvent.objects.order_by("id")[before:]
    ]
    assert recorded == [
        ("group_added", borrower.email, "Auditors", ""),
        ("permission_added", borrower.email, "", "loans.approve_loan"),
        ("group_permission_added", "", "Auditors", "loans.approve_loan"),
        ("group_removed", borrower.email, "Auditors", ""),
        ("permission_removed", borrower.email, "", "loans.approve_loan"),
        ("group_changed", "", "Internal auditors", ""),
    ]


@pytest.mark.django_db
def test_a_role_change_through_the_service_records_role_flags_and_group():
    borrower = BorrowerFactory()
    before = UserAuditEvent.objects.count()

    user_role_change(user_id=borrower.pk, role=User.Role.OFFICER)

    recorded = UserAuditEvent.objects.order_by("id")[before:]
    changed = [e for e in recorded if e.action == "user_changed"]
    assert changed[0].changes == {"role": ["BORROWER", "OFFICER"], "is_staff": [False, True]}
    assert [(e.action, e.group_name) for e in recorded if e.group_name] == [
        ("group_added", OFFICER_GROUP_NAME)
    ]


@pytest.mark.django_db
def test_the_admin_records_the_signed_in_administrator(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    admin = AdminFactory()
    officer = OfficerFactory()
    client = admin_client(admin)

    reset = client.post(
        f"/admin/accounts/user/{officer.pk}/password/",
        {"password1": "A-new-pass-for-42", "password2": "A-new-pass-for-42"},
    )

    assert reset.status_code == 302
    event = last(subject_id=officer.pk)
    assert event.changes == {"password": "changed"}  # never the hash
    assert event.actor_id == admin.pk
    assert event.actor_source == f"POST /admin/accounts/user/{officer.pk}/password/"


@pytest.mark.django_db
def test_the_admins_change_form_records_is_active_and_groups():
    admin = AdminFactory()
    borrower = BorrowerFactory()
    group = Group.objects.create(name="Auditors")
    client = admin_client(admin)
    before = UserAuditEvent.objects.count()

    changed = client.post(
        f"/admin/accounts/user/{borrower.pk}/change/",
        {
            "email": borrower.email,
            "name": borrower.name,
            "role": User.Role.BORROWER,
            "groups": [group.pk],
            # is_active left out: the checkbox unticked
        },
    )

    assert changed.status_code == 302, changed.content.decode()[:2000]
    recorded = {e.action: e for e in UserAuditEvent.objects.order_by("id")[before:]}
    assert recorded["user_changed"].changes == {"is_active": [True, False]}
    assert recorded["group_added"].group_name == "Auditors"
    assert {e.actor_id for e in recorded.values()} == {admin.pk}


@pytest.mark.django_db
def test_registration_through_the_api_is_recorded_with_its_request(api_client):
    response = api_client.post(
        "/api/auth/register",
        {"name": "New", "email": "new-user@example.com", "password": "A-long-pass-42"},
        format="json",
    )

    assert response.status_code == 201
    event = last(subject_email="new-user@example.com")
    assert event.action == "user_created"
    assert event.changes["role"] == "BORROWER"
    assert (event.actor_id, event.actor_source) == (None, "POST /api/auth/register")


@pytest.mark.django_db(transaction=True)
def test_a_management_command_is_recorded_as_such():
    """``manage.py createofficer`` in its own process, against this test's database."""
    env = {
        **os.environ,
        "DATABASE_URL": database_url(),
        "DJANGO_SETTINGS_MODULE": "lendingsite.settings",
    }

    result = subprocess.run(
        [
            sys.executable,
            "manage.py",
            "createofficer",
            "--email",
            "cmd@example.com",
            "--name",
            "By Command",
            "--password",
            "A-long-pass-42",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stderr
    event = last(subject_email="cmd@example.com", action="user_created")
    assert event.actor_source.startswith("manage.py createofficer (os user ")
    assert event.actor_id is None
    assert event.changes["role"] == "OFFICER"


def test_the_command_source_names_the_command_only_under_manage_py():
    assert _command_source(["/srv/lending/manage.py", "shell"]).startswith("manage.py shell (")
    assert _command_source(["pytest", "tests"]) == ""
    assert _command_source(["manage.py"]) == ""


@pytest.mark.django_db
def test_the_trail_is_append_only():
    borrower = BorrowerFactory()
    event = last(subject_id=borrower.pk)

    for statement in (
        "UPDATE accounts_userauditevent SET actor_id = 1 WHERE id = %s",
        "DELETE FROM accounts_userauditevent WHERE id = %s",
    ):
        with (
            pytest.raises(DatabaseError, match="append-only"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event.pk])


@pytest.mark.django_db
def test_the_applications_role_reads_the_trail_and_cannot_forge_it():
    """It may only read the table; its own changes are still recorded (the triggers
    write as their owner); it can neither insert a row nor call the writer."""
    borrower = BorrowerFactory()
    role = "audit_app_role_test"
    with connection.cursor() as cursor:
        cursor.execute(f"CREATE ROLE {role} NOLOGIN")
    call_command("grant_app_role", role, stdout=StringIO())

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL ROLE {role}")
        cursor.execute("UPDATE accounts_user SET is_active = false WHERE id = %s", [borrower.pk])
        cursor.execute("RESET ROLE")
    assert last(subject_id=borrower.pk).changes == {"is_active": [True, False]}

    for forged in (
        "INSERT INTO accounts_userauditevent (occurred_at, action, changes, database_role, "
        "transaction_id, subject_email, group_name, permission, actor_source) "
        "VALUES (now(), 'user_changed', '{}', 'x', 1, '', '', '', '')",
        "SELECT accounts_audit_write('user_changed', 1, 'x', NULL, NULL, '{}')",
    ):
        with (
            pytest.raises(DatabaseError, match="permission denied"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(f"SET LOCAL ROLE {role}")
            cursor.execute(forged)


@pytest.mark.django_db
def test_administrators_see_the_trail_read_only_and_officers_do_not():
    admin, officer = AdminFactory(), OfficerFactory()
    User.objects.filter(pk=officer.pk).update(name="Renamed")
    client = admin_client(admin)

    listing = client.get("/admin/accounts/userauditevent/")

    assert listing.status_code == 200
    body = listing.content.decode()
    assert officer.email in body and "Renamed" in body
    assert "argon2" not in body and "md5$" not in body
    assert client.get("/admin/accounts/userauditevent/add/").status_code == 403
    event = last(subject_id=officer.pk)
    detail = client.post(f"/admin/accounts/userauditevent/{event.pk}/change/", {})
    assert detail.status_code in (200, 403)
    event.refresh_from_db()
    assert event.changes == {"name": [officer.name, "Renamed"]}
    assert admin_client(officer).get("/admin/accounts/userauditevent/").status_code == 403
