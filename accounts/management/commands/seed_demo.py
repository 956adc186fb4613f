from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.models import User
from accounts.services import user_create
from wallets.services import wallet_open

DEMO_OFFICER = ("admin@example.com", "admin123", "Demo Admin")
DEMO_BORROWER = ("borrower@example.com", "borrower123", "Demo Borrower")


class Command(BaseCommand):
    help = "Load demo users (development only; refused unless DEBUG is on)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data is for development only: set DEBUG=1.")
        with transaction.atomic():
            email, password, name = DEMO_OFFICER
            if not User.objects.filter(email__iexact=email).exists():
                user_create(email=email, password=password, name=name, role=User.Role.ADMIN)
            email, password, name = DEMO_BORROWER
            if not User.objects.filter(email__iexact=email).exists():
                # Demo passwords are deliberately simple, so validation is skipped here.
                wallet_open(user=user_create(email=email, password=password, name=name))
        self.stdout.write("Demo data loaded:")
        self.stdout.write(f"  officer  (admin)  {DEMO_OFFICER[0]} / {DEMO_OFFICER[1]}")
        self.stdout.write(f"  borrower (API)    {DEMO_BORROWER[0]} / {DEMO_BORROWER[1]}")
