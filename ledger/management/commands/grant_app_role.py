from django.core.management.base import BaseCommand, CommandError
from django.db import DEFAULT_DB_ALIAS, connections, transaction

from lendingsite.db_roles import grant_statements


class Command(BaseCommand):
    help = (
        "Give the application's database role exactly its rights (lendingsite/db_roles.py): "
        "the journal read and append only, the rest read and write, nothing owned. Run as "
        "the owner role after every migrate; safe to repeat."
    )

    def add_arguments(self, parser):
        parser.add_argument("role", help="the role the application connects as, e.g. lending")
        parser.add_argument("--database", default=DEFAULT_DB_ALIAS)

    def handle(self, *args, role, database, **options):
        connection = connections[database]
        quote = connection.ops.quote_name
        with transaction.atomic(using=database), connection.cursor() as cursor:
            cursor.execute(
                "SELECT current_user, current_schema(), "
                "(SELECT rolsuper FROM pg_roles WHERE rolname = %s)",
                [role],
            )
            current, schema, superuser = cursor.fetchone()
            if superuser is None:
                raise CommandError(f"there is no role {role!r}")
            if role == current:
                raise CommandError(
                    f"{role!r} is the role running this command: the application must run "
                    "as another role than the one that owns the schema"
                )
            if superuser:
                raise CommandError(f"{role!r} is a superuser: no grant can narrow it")
            cursor.execute(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = %s AND pg_get_userbyid(c.relowner) = %s ORDER BY 1",
                [schema, role],
            )
            owned = [name for (name,) in cursor.fetchall()]
            if owned:
                raise CommandError(
                    f"{role!r} owns {len(owned)} relations ({', '.join(owned[:5])}…): an owner "
                    f"can alter them, disable their triggers and truncate them. Move them to the "
                    f"owner role first: REASSIGN OWNED BY {role} TO {current}"
                )
            cursor.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = %s ORDER BY 1", [schema]
            )
            tables = [name for (name,) in cursor.fetchall()]
            who, where = quote(role), quote(schema)
            statements = [
                f"GRANT USAGE ON SCHEMA {where} TO {who}",
                f"REVOKE CREATE ON SCHEMA {where} FROM PUBLIC, {who}",
                *grant_statements(role=role, tables=tables, quote=quote),
                f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {where} FROM {who}",
                f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA {where} TO {who}",
            ]
            for statement in statements:
                cursor.execute(statement)
        self.stdout.write(f"granted {role} its rights on {len(tables)} tables of {schema}")
