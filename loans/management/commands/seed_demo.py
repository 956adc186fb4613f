from decimal import Decimal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from accounts.emails import email_normalize
from accounts.models import User
from accounts.services import user_create
from loans.models import Loan
from loans.services import loan_apply, loan_approve
from wallets.services import wallet_deposit

DEMO_OFFICER = ("admin@example.com", "admin123", "Demo Admin")
DEMO_CHECKER = ("officer@example.com", "officer123", "Demo Officer")
DEMO_BORROWER = ("borrower@example.com", "borrower123", "Demo Borrower")


class Command(BaseCommand):
    help = "Load demo users and loans (development only; refused unless DEBUG is on)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data is for development only: set DEBUG=1.")
        with transaction.atomic():
            officer = self._user(DEMO_OFFICER, User.Role.ADMIN)
            self._user(DEMO_CHECKER, User.Role.OFFICER)
            borrower = self._user(DEMO_BORROWER, User.Role.BORROWER)
            if not Loan.objects.filter(borrower=borrower).exists():
                wallet_deposit(user=borrower, amount=Decimal("5000.00"), idempotency_key="demo")
                active = loan_apply(
                    borrower=borrower, principal_amount=Decimal("50000.00"), tenure_months=12
                )
                loan_approve(loan_id=active.pk, officer=officer)
                loan_apply(borrower=borrower, principal_amount=Decimal("20000.00"), tenure_months=6)
        self.stdout.write("Demo data loaded:")
        self.stdout.write(f"  admin    (admin)  {DEMO_OFFICER[0]} / {DEMO_OFFICER[1]}")
        self.stdout.write(f"  officer  (admin)  {DEMO_CHECKER[0]} / {DEMO_CHECKER[1]}")
        self.stdout.write(f"  borrower (API)    {DEMO_BORROWER[0]} / {DEMO_BORROWER[1]}")

    def _user(self, credentials, role):
        email, password, name = credentials
        user = User.objects.filter(email=email_normalize(email)).first()
        if user is None:
            # Demo passwords are deliberately simple, so validation is skipped here.
            user = user_create(email=email, password=password, name=name, role=role)
        return user
