from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from loans.schedule import InterestMethod


class Loan(FSMModelMixin, models.Model):
    """A borrower's loan and where it stands in its life.

    States and transitions are the seed's state machine; the ``status`` field is
    protected, so only the transition methods below can change it, and each
    transition changes this row's fields only. Money moves in ``loans.services``, which
    locks the row, transitions and saves inside one transaction.
    """

    class Status(models.TextChoices):
        APPLIED = "APPLIED", "Applied"
        APPROVED = "APPROVED", "Approved"
        REJECTED = "REJECTED", "Rejected"
        ACTIVE = "ACTIVE", "Active"
        CLOSED = "CLOSED", "Closed"

    INTEREST_METHOD_CHOICES = [
        (InterestMethod.REDUCING.value, "Reducing balance"),
        (InterestMethod.FLAT.value, "Flat"),
    ]

    borrower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="loans"
    )
    principal_amount = models.DecimalField(max_digits=12, decimal_places=2)
    tenure_months = models.PositiveSmallIntegerField()
    interest_rate = models.DecimalField(max_digits=5, decimal_places=2)  # annual, percent
    interest_method = models.CharField(
        max_length=16, choices=INTEREST_METHOD_CHOICES, default=InterestMethod.REDUCING.value
    )
    # The maker-checker threshold in force when the loan was applied for; the database
    # checks the rule against it (see Meta.constraints).
    maker_checker_threshold = models.DecimalField(max_digits=12, decimal_places=2)
    emi_amount = models.DecimalField(max_digits=12, decimal_places=2)
    total_interest = models.DecimalField(max_digits=12, decimal_places=2)
    # What the borrower still owes: unpaid principal plus unpaid scheduled interest.
    # Zero until the loan is disbursed.
    outstanding_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    status = FSMField(default=Status.APPLIED, choices=Status.choices, protected=True)

    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    disbursed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    disbursed_at = models.DateTimeField(null=True, blank=True)
    # The journal entry that paid the principal out; set exactly when the loan is disbursed.
    disbursement_entry = models.OneToOneField(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="disbursed_loan",
    )
    rejected_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    rejected_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        permissions = [
            ("approve_loan", "Can approve and disburse loans"),
            ("reject_loan", "Can reject loans"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(principal_amount__gt=0), name="loans_loan_principal_positive"
            ),
            models.CheckConstraint(
                condition=Q(tenure_months__gte=1), name="loans_loan_tenure_positive"
            ),
            models.CheckConstraint(
                condition=Q(interest_rate__gte=0), name="loans_loan_rate_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(outstanding_amount__gte=0), name="loans_loan_outstanding_non_negative"
            ),
            models.CheckConstraint(
                condition=~Q(status="CLOSED") | Q(outstanding_amount=0),
                name="loans_loan_closed_means_repaid",
            ),
            models.CheckConstraint(
                condition=~Q(status="ACTIVE") | Q(outstanding_amount__gt=0),
                name="loans_loan_active_means_owing",
            ),
            models.CheckConstraint(
                condition=Q(
                    status__in=["APPLIED", "APPROVED", "REJECTED"],
                    disbursement_entry__isnull=True,
                )
                | (
                    ~Q(status__in=["APPLIED", "APPROVED", "REJECTED"])
                    & Q(disbursement_entry__isnull=False)
                ),
                name="loans_loan_disbursed_has_entry",
            ),
            models.CheckConstraint(
                condition=~Q(status="REJECTED") | ~Q(rejection_reason=""),
                name="loans_loan_rejection_has_reason",
            ),
            models.CheckConstraint(
                condition=Q(disbursed_by__isnull=True)
                | Q(approved_by__isnull=True)
                | Q(principal_amount__lt=F("maker_checker_threshold"))
                | ~Q(disbursed_by=F("approved_by")),
                name="loans_loan_maker_checker",
            ),
        ]
        indexes = [
            models.Index(fields=["borrower", "status"], name="loans_loan_borrower_status"),
            models.Index(fields=["status", "created_at"], name="loans_loan_status_created"),
        ]

    def __str__(self):
        return f"Loan #{self.pk} ({self.status})"

    @property
    def needs_two_officers(self) -> bool:
        return self.principal_amount >= self.maker_checker_threshold

    @property
    def total_amount(self) -> Decimal:
        return self.principal_amount + self.total_interest

    # ``permission``: who may take the transition (django-fsm's
    # ``get_available_user_status_transitions`` answers the console's "which buttons").
    @transition(
        field=status, source=Status.APPLIED, target=Status.APPROVED, permission="loans.approve_loan"
    )
    def approve(self, *, by) -> None:
        self.approved_by, self.approved_at = by, timezone.now()

    @transition(
        field=status, source=Status.APPLIED, target=Status.REJECTED, permission="loans.reject_loan"
    )
    def reject(self, *, by, reason: str) -> None:
        self.rejected_by, self.rejected_at, self.rejection_reason = by, timezone.now(), reason

    @transition(
        field=status, source=Status.APPROVED, target=Status.ACTIVE, permission="loans.approve_loan"
    )
    def disburse(self, *, by) -> None:
        self.disbursed_by, self.disbursed_at = by, timezone.now()

    @transition(field=status, source=Status.ACTIVE, target=Status.CLOSED)
    def close(self) -> None:
        self.closed_at = timezone.now()


class Installment(models.Model):
    """One row of a loan's amortization schedule, and how much of it has been paid."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="installments")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    principal = models.DecimalField(max_digits=12, decimal_places=2)
    interest = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    remaining_principal = models.DecimalField(max_digits=12, decimal_places=2)
    principal_paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    interest_paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))

    class Meta:
        ordering = ["loan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["loan", "number"], name="loans_installment_unique"),
            models.CheckConstraint(
                condition=Q(principal_paid__gte=0, principal_paid__lte=F("principal")),
                name="loans_installment_principal_paid_in_range",
            ),
            models.CheckConstraint(
                condition=Q(interest_paid__gte=0, interest_paid__lte=F("interest")),
                name="loans_installment_interest_paid_in_range",
            ),
            models.CheckConstraint(
                condition=Q(total=F("principal") + F("interest")),
                name="loans_installment_total_is_sum",
            ),
        ]

    def __str__(self):
        return f"#{self.number} of loan {self.loan_id}"

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid


class Repayment(models.Model):
    """A borrower's payment on a loan, split into principal and interest parts."""

    class Type(models.TextChoices):
        PARTIAL = "PARTIAL", "Partial"
        FULL = "FULL", "Full"

    # One member until payments can be reversed: the corrections of loan servicing add
    # REVERSED, and the portfolio figures already count SUCCESS only.
    class Status(models.TextChoices):
        SUCCESS = "SUCCESS", "Success"

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    principal_part = models.DecimalField(max_digits=12, decimal_places=2)
    interest_part = models.DecimalField(max_digits=12, decimal_places=2)
    type = models.CharField(max_length=8, choices=Type.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SUCCESS)
    idempotency_key = models.CharField(max_length=255)
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="repayment"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "idempotency_key"], name="loans_repayment_unique_key"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="loans_repayment_positive"),
            models.CheckConstraint(
                condition=Q(amount=F("principal_part") + F("interest_part")),
                name="loans_repayment_parts_sum",
            ),
        ]

    def __str__(self):
        return f"Repayment {self.amount} on loan {self.loan_id}"


class LoanEvent(models.Model):
    """The audit trail: one row per transition (who, when, from → to, why, from where).

    Written by the services in the same transaction as the transition. Append-only: a
    trigger refuses UPDATE and DELETE (migration ``0003_loanevent_append_only``).
    """

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="events")
    source = models.CharField(max_length=16, blank=True)  # blank: the application itself
    target = models.CharField(max_length=16)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+"
    )
    reason = models.TextField(blank=True)
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "pk"]
        indexes = [models.Index(fields=["loan", "id"], name="loans_event_loan_idx")]

    def __str__(self):
        return f"{self.loan_id}: {self.source or '∅'} → {self.target}"
