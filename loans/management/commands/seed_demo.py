from datetime import timedelta
from decimal import Decimal
from io import StringIO

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.utils import timezone

from accounts.emails import email_normalize
from accounts.models import User
from accounts.services import user_create
from ledger.services import business_date_start
from loans.models import Loan
from loans.services import loan_apply, loan_approve
from wallets.services import wallet_deposit

DEMO_OFFICER = ("admin@example.com", "admin123", "Demo Admin")
DEMO_CHECKER = ("officer@example.com", "officer123", "Demo Officer")
DEMO_BORROWER = ("borrower@example.com", "borrower123", "Demo Borrower")
DEMO_LATE_BORROWER = ("late@example.com", "late12345", "Demo Late Borrower")
# A new database starts trading this many days ago, so the demo has a loan in arrears.
HISTORY_DAYS = 75


class Command(BaseCommand):
    help = "Load demo users and loans (development only; refused unless DEBUG is on)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo data is for development only: set DEBUG=1.")
        history = business_date_start(day=timezone.localdate() - timedelta(days=HISTORY_DAYS))
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
            if history:
                # Disbursed on the first business date, never repaid: in arrears today.
                late = self._user(DEMO_LATE_BORROWER, User.Role.BORROWER)
                loan = loan_apply(
                    borrower=late, principal_amount=Decimal("30000.00"), tenure_months=6
                )
                loan_approve(loan_id=loan.pk, officer=officer)
        if history:
            # The days since the first business date, closed one after another, as nightly.
            call_command("close_business_day", stdout=StringIO())
        self.stdout.write("Demo data loaded:")
        # Role, then where the user works: the admin site (/admin/) or the API.
        self.stdout.write(f"  administrator (admin site)  {DEMO_OFFICER[0]} / {DEMO_OFFICER[1]}")
        self.stdout.write(f"  loan officer  (admin site)  {DEMO_CHECKER[0]} / {DEMO_CHECKER[1]}")
        self.stdout.write(f"  borrower      (API)         {DEMO_BORROWER[0]} / {DEMO_BORROWER[1]}")
        if User.objects.filter(email=DEMO_LATE_BORROWER[0]).exists():
            late_email, late_password, _ = DEMO_LATE_BORROWER
            self.stdout.write(
                f"  borrower      (API)         {late_email} / {late_password}  (in arrears)"
            )

    def _user(self, credentials, role):
        email, password, name = credentials
        user = User.objects.filter(email=email_normalize(email)).first()
        if user is None:
            # Demo passwords are deliberately simple, so validation is skipped here.
            user = user_create(email=email, password=password, name=name, role=role)
        return user
