from django.core.management.base import BaseCommand, CommandError

from accounts.emails import email_normalize
from accounts.models import User
from accounts.second_factor import otp_enrolment_start


class Command(BaseCommand):
    help = (
        "Start the enrolment of a staff user's authenticator (the first one, or after a lost "
        "phone): earlier devices are removed; the user confirms the new one with a code at "
        "their next admin login (accounts/second_factor.py)."
    )

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        user = User.objects.filter(email=email_normalize(email)).first()
        if user is None:
            raise CommandError(f"no user {email!r}")
        try:
            otp_enrolment_start(user_id=user.pk)
        except ValueError as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Enrolment started for {user.email}: they sign in to the admin with their "
            "password and scan the code shown there."
        )
