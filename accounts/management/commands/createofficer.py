import getpass
import sys

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email

from accounts.exceptions import EmailTakenError
from accounts.models import User
from accounts.services import user_create


class Command(BaseCommand):
    help = (
        "Create a loan officer: a staff user in the 'Loan officers' group who signs in "
        "at /admin/. Without --password, the password is asked for twice."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--password",
            help="Avoid on shared machines (it stays in the shell history); omit to be asked.",
        )

    def handle(self, *args, email, name, password, **options):
        try:
            validate_email(email.strip())
        except ValidationError as exc:
            raise CommandError(f"Not an email address: {email!r}") from exc
        if not name.strip():
            raise CommandError("The name cannot be empty.")
        if password is None:
            password = self._ask_password()
        try:
            user = user_create(
                email=email, name=name, password=password, role=User.Role.OFFICER, validate=True
            )
        except EmailTakenError as exc:
            raise CommandError(exc.message) from exc
        except ValidationError as exc:
            messages = exc.message_dict.get("password", exc.messages)
            raise CommandError("Password refused: " + " ".join(messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Loan officer {user.email} created."))

    def _ask_password(self) -> str:
        if not sys.stdin.isatty():
            raise CommandError("No terminal to ask for the password: pass --password.")
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        if not password:
            raise CommandError("The password cannot be empty.")
        return password
