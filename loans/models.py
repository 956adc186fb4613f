from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django_fsm import FSMField, FSMModelMixin, transition

from loans.schedule import InterestMethod

DEFAULT_BUCKETS = [
    ["CURRENT", 0],
    ["DPD_1_30", 1],
    ["DPD_31_60", 31],
    ["DPD_61_90", 61],
    ["DPD_91_PLUS", 91],
]


def default_buckets() -> list:
    return [list(bucket) for bucket in DEFAULT_BUCKETS]


class LoanProduct(models.Model):
    """What a loan is sold as: its limits, its price and how it is serviced.

    The rules of servicing live here: grace days and the late fee (charged by the close
    of business, ``loans.close_of_business``), the order in which a payment is
    allocated (``loans.allocation``), and the delinquency buckets. A product that has
    loans keeps its servicing rules (the admin refuses to change them): a loan is
    serviced on the terms it was sold on; sell new terms as a new product.
    """

    class LateFeeKind(models.TextChoices):
        FLAT = "FLAT", "A flat amount"
        PERCENT = "PERCENT", "A percentage of the installment's unpaid amount"

    class Allocation(models.TextChoices):
        # Fineract's "mifos standard": each installment in turn, oldest first.
        INSTALLMENT_FEES_INTEREST_PRINCIPAL = (
            "INSTALLMENT_FEES_INTEREST_PRINCIPAL",
            "Installment by installment, oldest first: fees, interest, principal",
        )
        # For non-performing loans: recover the capital first.
        PRINCIPAL_INTEREST_FEES = (
            "PRINCIPAL_INTEREST_FEES",
            "All principal first (oldest first), then interest, then fees",
        )

    STANDARD = "STANDARD"
    # The rules a loan is serviced by: fixed once the product has loans.
    SERVICING_FIELDS = (
        "interest_method",
        "grace_days",
        "late_fee_kind",
        "late_fee_value",
        "late_fee_min",
        "late_fee_max",
        "allocation_order",
        "npa_days",
        "npa_allocation_order",
        "buckets",
        "write_off_days",
    )

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    is_active = models.BooleanField(default=True)
    min_principal = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0.01"))
    max_principal = models.DecimalField(max_digits=12, decimal_places=2)
    min_tenure_months = models.PositiveSmallIntegerField(default=1)
    max_tenure_months = models.PositiveSmallIntegerField()
    min_rate = models.DecimalField(max_digits=5, decimal_places=2)  # annual, percent
    max_rate = models.DecimalField(max_digits=5, decimal_places=2)
    default_rate = models.DecimalField(max_digits=5, decimal_places=2)
    interest_method = models.CharField(
        max_length=16,
        choices=[
            (InterestMethod.REDUCING.value, "Reducing balance"),
            (InterestMethod.FLAT.value, "Flat"),
        ],
        default=InterestMethod.REDUCING.value,
    )
    grace_days = models.PositiveSmallIntegerField(default=5)
    late_fee_kind = models.CharField(
        max_length=8, choices=LateFeeKind.choices, default=LateFeeKind.PERCENT
    )
    # FLAT: the fee; PERCENT: the percentage of the installment's unpaid amount.
    late_fee_value = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("2"))
    late_fee_min = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, default=Decimal("100.00")
    )
    late_fee_max = models.DecimalField(
        max_digits=12, decimal_places=2, null=True, blank=True, default=Decimal("1000.00")
    )
    allocation_order = models.CharField(
        max_length=40,
        choices=Allocation.choices,
        default=Allocation.INSTALLMENT_FEES_INTEREST_PRINCIPAL,
    )
    # Loans at least this many days past due are non-performing and use the second order.
    npa_days = models.PositiveSmallIntegerField(default=91)
    npa_allocation_order = models.CharField(
        max_length=40, choices=Allocation.choices, default=Allocation.PRINCIPAL_INTEREST_FEES
    )
    # [[code, first day past due], ...] in ascending order, the first at 0.
    buckets = models.JSONField(default=default_buckets)
    maker_checker_threshold = models.DecimalField(max_digits=12, decimal_places=2)
    # The close of business writes off an ACTIVE loan on the day its days past due reach
    # this many (``loans.write_offs``); empty: never automatically.
    write_off_days = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        default=None,
        help_text="Days past due at which the close of business writes a loan off; "
        "empty: never automatically.",
    )
    max_open_loans = models.PositiveSmallIntegerField(default=2)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(min_principal__gt=0, max_principal__gte=F("min_principal")),
                name="loans_product_principal_band",
            ),
            models.CheckConstraint(
                condition=Q(
                    min_tenure_months__gte=1, max_tenure_months__gte=F("min_tenure_months")
                ),
                name="loans_product_tenure_band",
            ),
            models.CheckConstraint(
                condition=Q(
                    min_rate__gte=0,
                    max_rate__gte=F("min_rate"),
                    default_rate__gte=F("min_rate"),
                    default_rate__lte=F("max_rate"),
                ),
                name="loans_product_rate_band",
            ),
            models.CheckConstraint(
                condition=Q(late_fee_value__gte=0)
                & (Q(late_fee_min__isnull=True) | Q(late_fee_min__gte=0))
                & (
                    Q(late_fee_max__isnull=True)
                    | Q(late_fee_min__isnull=True)
                    | Q(late_fee_max__gte=F("late_fee_min"))
                ),
                name="loans_product_late_fee",
            ),
            models.CheckConstraint(
                condition=Q(write_off_days__isnull=True) | Q(write_off_days__gte=1),
                name="loans_product_write_off_days",
            ),
        ]

    def __str__(self):
        return f"{self.code} ({self.name})"

    def clean(self):
        from django.core.exceptions import ValidationError

        buckets = self.buckets
        valid = (
            isinstance(buckets, list)
            and buckets
            and all(
                isinstance(b, list)
                and len(b) == 2
                and isinstance(b[0], str)
                and b[0]
                and isinstance(b[1], int)
                for b in buckets
            )
        )
        if not valid:
            raise ValidationError({"buckets": "A list of [code, first day past due] pairs."})
        days = [b[1] for b in buckets]
        if days[0] != 0 or days != sorted(set(days)):
            raise ValidationError(
                {"buckets": "Days must start at 0 and rise strictly, e.g. [['CURRENT', 0], …]."}
            )
        if len({b[0] for b in buckets}) != len(buckets):
            raise ValidationError({"buckets": "Bucket codes must differ."})

    def bucket_for(self, days_past_due: int) -> str:
        """The bucket of a loan so many days past due (the same rule as the close's SQL)."""
        return [code for code, first in self.buckets if first <= days_past_due][-1]


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
        WRITTEN_OFF = "WRITTEN_OFF", "Written off"

    INTEREST_METHOD_CHOICES = [
        (InterestMethod.REDUCING.value, "Reducing balance"),
        (InterestMethod.FLAT.value, "Flat"),
    ]

    # Indexed by (borrower, status) below, which serves lookups by borrower too.
    borrower = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="loans", db_index=False
    )
    product = models.ForeignKey(LoanProduct, on_delete=models.PROTECT, related_name="loans")
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
    # What the borrower still owes: unpaid principal, unpaid scheduled interest and unpaid
    # fees. Zero until the loan is disbursed.
    outstanding_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    status = FSMField(default=Status.APPLIED, choices=Status.choices, protected=True)
    # What was owed when the loan was written off (unpaid principal, interest due and
    # fees: ``LoanWriteOff``), and what has been recovered since; both 0 otherwise.
    # Database defaults too: the benchmarks' books insert loans with SQL.
    written_off_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), db_default=Decimal("0.00")
    )
    recovered_amount = models.DecimalField(
        max_digits=14, decimal_places=2, default=Decimal("0.00"), db_default=Decimal("0.00")
    )

    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    disbursed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    disbursed_at = models.DateTimeField(null=True, blank=True)
    # The business date of the disbursement: the schedule's due dates count from it.
    disbursed_on = models.DateField(null=True, blank=True)
    # The last business day the close of business closed for this loan (NULL: none yet).
    closed_through = models.DateField(null=True, blank=True)
    # Delinquency as of the business date, kept by repayments, waivers and the close.
    days_past_due = models.PositiveIntegerField(default=0)
    delinquency_bucket = models.CharField(max_length=32, default="CURRENT")
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
            ("waive_fee", "Can waive late fees"),
            ("reverse_repayment", "Can reverse repayments"),
            ("write_off_loan", "Can write off loans"),
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
            # A written-off loan owes nothing on its books; what it owed is
            # written_off_amount, recovered up to that much. Other loans have neither.
            models.CheckConstraint(
                condition=Q(
                    status="WRITTEN_OFF",
                    outstanding_amount=0,
                    written_off_amount__gt=0,
                    recovered_amount__gte=0,
                    recovered_amount__lte=F("written_off_amount"),
                )
                | (~Q(status="WRITTEN_OFF") & Q(written_off_amount=0, recovered_amount=0)),
                name="loans_loan_written_off_amounts",
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
                condition=~Q(status="ACTIVE") | Q(closed_through__isnull=False),
                name="loans_loan_active_has_closed_through",
            ),
            models.CheckConstraint(
                condition=~Q(status="REJECTED") | ~Q(rejection_reason=""),
                name="loans_loan_rejection_has_reason",
            ),
            # An officer never decides on their own loan (a staff member who borrows).
            *(
                models.CheckConstraint(
                    condition=Q(**{f"{officer}__isnull": True}) | ~Q(**{officer: F("borrower")}),
                    name=f"loans_loan_not_own_{officer}",
                )
                for officer in ("approved_by", "disbursed_by", "rejected_by")
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
            # The close of business walks the active loans by id, day after day. No column
            # the close writes daily (closed_through) is indexed, so its UPDATE of every
            # loan can stay on the row's page (HOT; the table keeps room: migration 0010).
            models.Index(
                fields=["id"],
                condition=Q(status="ACTIVE"),
                name="loans_loan_active_idx",
            ),
            models.Index(
                fields=["-days_past_due"],
                condition=Q(days_past_due__gt=0),
                name="loans_loan_overdue_idx",
            ),
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

    # A reversal left a CLOSED loan owing again (``loans.reversals``); audited as a LoanEvent.
    @transition(field=status, source=Status.CLOSED, target=Status.ACTIVE)
    def reopen(self) -> None:
        self.closed_at = None

    @transition(
        field=status,
        source=Status.ACTIVE,
        target=Status.WRITTEN_OFF,
        permission="loans.write_off_loan",
    )
    def write_off(self, *, amount: Decimal) -> None:
        """By an officer or by the close of business (``loans.write_offs``)."""
        self.written_off_amount, self.outstanding_amount = amount, Decimal("0.00")


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
    # Interest the borrower no longer owes: a foreclosure's interest for the days not yet
    # run, and interest paid in advance that it gave back as credit. Never income.
    interest_waived = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    # The late fee (at most one per installment, charged by the close of business).
    fee_charged = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    fee_charged_on = models.DateField(null=True, blank=True)
    fee_paid = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    fee_waived = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    # The business date on which the installment became fully paid, fees included.
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["loan", "number"]
        indexes = [
            # What is still owed, by loan and due date: delinquency, fees, allocation.
            models.Index(
                fields=["loan", "due_date"],
                condition=Q(paid_on__isnull=True),
                name="loans_installment_unpaid_idx",
            ),
            # What falls due on a given day: the close's reminders (due in 3 days, overdue
            # today) read a chunk's few such installments, not each loan's unpaid ones.
            models.Index(
                fields=["due_date", "loan"],
                condition=Q(paid_on__isnull=True),
                name="loans_installment_due_idx",
            ),
        ]
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
                condition=Q(interest_waived__gte=0)
                & Q(interest__gte=F("interest_paid") + F("interest_waived")),
                name="loans_installment_interest_waived_in_range",
            ),
            models.CheckConstraint(
                condition=Q(total=F("principal") + F("interest")),
                name="loans_installment_total_is_sum",
            ),
            models.CheckConstraint(
                condition=Q(fee_paid__gte=0, fee_waived__gte=0)
                & Q(fee_charged__gte=F("fee_paid") + F("fee_waived")),
                name="loans_installment_fee_in_range",
            ),
            models.CheckConstraint(
                condition=Q(fee_charged=0, fee_charged_on__isnull=True)
                | Q(fee_charged__gt=0, fee_charged_on__isnull=False),
                name="loans_installment_fee_has_day",
            ),
            # paid_on is set exactly when everything is paid (or waived).
            models.CheckConstraint(
                condition=Q(
                    paid_on__isnull=False,
                    principal_paid=F("principal"),
                    interest=F("interest_paid") + F("interest_waived"),
                    fee_charged=F("fee_paid") + F("fee_waived"),
                )
                | (
                    Q(paid_on__isnull=True)
                    & (
                        Q(principal_paid__lt=F("principal"))
                        | Q(interest__gt=F("interest_paid") + F("interest_waived"))
                        | Q(fee_charged__gt=F("fee_paid") + F("fee_waived"))
                    )
                ),
                name="loans_installment_paid_on_when_paid",
            ),
        ]

    def __str__(self):
        return f"#{self.number} of loan {self.loan_id}"

    @property
    def paid(self) -> Decimal:
        return self.principal_paid + self.interest_paid

    @property
    def fee_due(self) -> Decimal:
        return self.fee_charged - self.fee_paid - self.fee_waived

    @property
    def interest_due(self) -> Decimal:
        return self.interest - self.interest_paid - self.interest_waived

    @property
    def principal_due(self) -> Decimal:
        return self.principal - self.principal_paid

    @property
    def unpaid(self) -> Decimal:
        """What is still owed on the installment, fees included (the one formula; in SQL:
        ``loans.selectors.UNPAID``)."""
        return self.principal_due + self.interest_due + self.fee_due


class Repayment(models.Model):
    """A borrower's payment on a loan, split into principal, interest and fee parts.

    A repayment stands (SUCCESS) until an officer reverses it (REVERSED,
    ``loans.reversals``): the reversal entry negates ``entry`` and the reversal's
    who, when and why are kept here. The parts of a standing repayment are its
    allocation as the replay of the loan's standing repayments last computed it.
    """

    class Type(models.TextChoices):
        PARTIAL = "PARTIAL", "Partial"
        FULL = "FULL", "Full"

    class Status(models.TextChoices):
        SUCCESS = "SUCCESS", "Success"
        REVERSED = "REVERSED", "Reversed"

    class Purpose(models.TextChoices):
        ORDINARY = "ORDINARY", "Repayment"
        REDUCE_EMI = "REDUCE_EMI", "Prepayment reducing the EMI"
        REDUCE_TENURE = "REDUCE_TENURE", "Prepayment reducing the tenure"
        FORECLOSURE = "FORECLOSURE", "Foreclosure (paid off early)"

    PREPAYMENTS = (Purpose.REDUCE_EMI, Purpose.REDUCE_TENURE)

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="repayments")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    principal_part = models.DecimalField(max_digits=12, decimal_places=2)
    interest_part = models.DecimalField(max_digits=12, decimal_places=2)
    fee_part = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    value_date = models.DateField()
    type = models.CharField(max_length=8, choices=Type.choices)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.SUCCESS)
    idempotency_key = models.CharField(max_length=255)
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="repayment"
    )
    # Database defaults too: rows written by SQL (benchmarks, data fixes) get them.
    purpose = models.CharField(
        max_length=16,
        choices=Purpose.choices,
        default=Purpose.ORDINARY,
        db_default=Purpose.ORDINARY,
    )
    # A foreclosure's interest no longer owed (recorded on its installments too).
    interest_waived = models.DecimalField(
        max_digits=12, decimal_places=2, default=Decimal("0"), db_default=Decimal("0")
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The reversal: the entry negating ``entry``, the entry re-allocating the loan's
    # other repayments and adjusting its fees (none when nothing changed), who, when, why.
    reversal_entry = models.OneToOneField(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_repayment",
    )
    reallocation_entry = models.OneToOneField(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reallocating_reversal",
    )
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_on = models.DateField(null=True, blank=True)  # the business date of the reversal
    reversal_reason = models.TextField(blank=True)
    reversal_client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(interest_waived=0) | Q(purpose="FORECLOSURE", interest_waived__gt=0),
                name="loans_repayment_waiver_by_foreclosure",
            ),
            models.UniqueConstraint(
                fields=["loan", "idempotency_key"], name="loans_repayment_unique_key"
            ),
            # Reversed exactly when a reversal (entry, officer, day, reason) is recorded.
            models.CheckConstraint(
                condition=Q(
                    status="SUCCESS",
                    reversal_entry__isnull=True,
                    reallocation_entry__isnull=True,
                    reversed_by__isnull=True,
                    reversed_at__isnull=True,
                    reversed_on__isnull=True,
                    reversal_reason="",
                )
                | (
                    Q(
                        status="REVERSED",
                        reversal_entry__isnull=False,
                        reversed_by__isnull=False,
                        reversed_at__isnull=False,
                        reversed_on__isnull=False,
                    )
                    & ~Q(reversal_reason="")
                ),
                name="loans_repayment_reversal_recorded",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="loans_repayment_positive"),
            models.CheckConstraint(
                condition=Q(amount=F("principal_part") + F("interest_part") + F("fee_part")),
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


class RepaymentAllocation(models.Model):
    """How much of a repayment went to one installment's fee, interest and principal."""

    repayment = models.ForeignKey(Repayment, on_delete=models.PROTECT, related_name="allocations")
    installment = models.ForeignKey(
        Installment, on_delete=models.PROTECT, related_name="allocations"
    )
    fee = models.DecimalField(max_digits=12, decimal_places=2)
    interest = models.DecimalField(max_digits=12, decimal_places=2)
    principal = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["repayment", "installment__number"]
        constraints = [
            models.UniqueConstraint(
                fields=["repayment", "installment"], name="loans_allocation_unique"
            ),
            # Interest is negative only where a foreclosure gives back interest paid in
            # advance (moved to principal: docs/LOANS.md, Foreclosure).
            models.CheckConstraint(
                condition=Q(fee__gte=0, principal__gte=0)
                & (Q(fee__gt=0) | ~Q(interest=0) | Q(principal__gt=0)),
                name="loans_allocation_positive",
            ),
        ]

    def __str__(self):
        return f"{self.repayment_id} → #{self.installment_id}"


class FeeWaiver(models.Model):
    """An officer's waiver of (part of) an installment's late fee. Append-only."""

    installment = models.ForeignKey(Installment, on_delete=models.PROTECT, related_name="waivers")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.TextField()
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    value_date = models.DateField()
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="fee_waiver"
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="loans_waiver_positive"),
            models.CheckConstraint(condition=~Q(reason=""), name="loans_waiver_has_reason"),
        ]

    def __str__(self):
        return f"Waiver of {self.amount} on #{self.installment_id}"


class DelinquencyChange(models.Model):
    """A loan moved from one delinquency bucket to another on a business date."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="delinquency_changes")
    on = models.DateField()
    from_bucket = models.CharField(max_length=32)
    to_bucket = models.CharField(max_length=32)
    days_past_due = models.PositiveIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "pk"]
        indexes = [models.Index(fields=["loan", "id"], name="loans_delinquency_loan_idx")]

    def __str__(self):
        return f"{self.loan_id} {self.on}: {self.from_bucket} → {self.to_bucket}"


class CloseFailure(models.Model):
    """A loan the close of business could not close for a day (retried on the next run)."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="close_failures")
    day = models.DateField()
    error = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["loan", "day"], name="loans_close_failure_unique"),
        ]

    def __str__(self):
        return f"{self.loan_id} {self.day}: {self.error[:60]}"


class ScheduleVersion(models.Model):
    """One schedule a loan has had: version 1 at disbursement, one more per reschedule.

    Append-only (a trigger refuses UPDATE and DELETE, migration
    ``0016_schedule_versions_append_only``): the history of what the borrower was told
    they owe, and why it changed. Written only by ``loans.rescheduling``; the loan's
    current installments always equal its latest version (``reconcile`` checks it).
    """

    class Reason(models.TextChoices):
        DISBURSEMENT = "DISBURSEMENT", "Disbursed"
        REDUCE_EMI = "REDUCE_EMI", "Prepayment reducing the EMI"
        REDUCE_TENURE = "REDUCE_TENURE", "Prepayment reducing the tenure"
        REVERSAL = "REVERSAL", "Recomputed after a reversal"

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="schedule_versions")
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=32, choices=Reason.choices)
    note = models.TextField(blank=True)
    business_date = models.DateField()
    repayment = models.ForeignKey(
        Repayment, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    emi_amount = models.DecimalField(max_digits=12, decimal_places=2)
    total_interest = models.DecimalField(max_digits=12, decimal_places=2)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["loan", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "number"], name="loans_schedule_version_unique"
            ),
            models.CheckConstraint(
                condition=Q(number__gte=1), name="loans_schedule_version_from_1"
            ),
        ]

    def __str__(self):
        return f"Schedule v{self.number} of loan {self.loan_id}"


class ScheduleVersionRow(models.Model):
    """An installment as a schedule version planned it. Append-only, like its version."""

    version = models.ForeignKey(ScheduleVersion, on_delete=models.PROTECT, related_name="rows")
    number = models.PositiveSmallIntegerField()
    due_date = models.DateField()
    principal = models.DecimalField(max_digits=12, decimal_places=2)
    interest = models.DecimalField(max_digits=12, decimal_places=2)
    total = models.DecimalField(max_digits=12, decimal_places=2)
    remaining_principal = models.DecimalField(max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["version", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["version", "number"], name="loans_schedule_version_row_unique"
            ),
            models.CheckConstraint(
                condition=Q(total=F("principal") + F("interest")),
                name="loans_schedule_version_row_total",
            ),
        ]

    def __str__(self):
        return f"#{self.number} of {self.version}"


class OfficerActionRequest(models.Model):
    """An officer action above the loan's maker-checker threshold, waiting for (or given)
    a second officer's confirmation. Written only by ``loans.confirmations``.

    One row per request: the first officer's call makes it PENDING; a different officer's
    identical call makes it CONFIRMED (and the action is carried out in the same
    transaction); a request whose figures no longer hold is SUPERSEDED; one left
    unconfirmed longer than ``OFFICER_REQUEST_EXPIRY_HOURS`` is EXPIRED by the next call.
    At most one request per (kind, target) is PENDING at a time (a partial UNIQUE index).
    """

    class Kind(models.TextChoices):
        REVERSE_REPAYMENT = "REVERSE_REPAYMENT", "Reverse a repayment"
        WRITE_OFF = "WRITE_OFF", "Write off a loan"
        REVERSE_RECOVERY = "REVERSE_RECOVERY", "Reverse a recovery"

    class Status(models.TextChoices):
        PENDING = "PENDING", "Waiting for a second officer"
        CONFIRMED = "CONFIRMED", "Confirmed and carried out"
        SUPERSEDED = "SUPERSEDED", "Superseded: the figures changed before confirmation"
        EXPIRED = "EXPIRED", "Expired: not confirmed in time"

    kind = models.CharField(max_length=24, choices=Kind.choices)
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="action_requests")
    # What the action acts on: the repayment's (or the recovery's) id for a reversal, the
    # loan's for a write-off.
    target_id = models.BigIntegerField()
    # The figure compared with the threshold when the request was made.
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    threshold = models.DecimalField(max_digits=12, decimal_places=2)
    reason = models.TextField(blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # confirmed, superseded, expired

    class Meta:
        ordering = ["loan", "pk"]
        indexes = [models.Index(fields=["loan", "id"], name="loans_action_request_loan_idx")]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "target_id"],
                condition=Q(status="PENDING"),
                name="loans_action_request_one_pending",
            ),
            models.CheckConstraint(
                condition=Q(amount__gt=F("threshold")), name="loans_action_request_above"
            ),
            # The checker is never the maker.
            models.CheckConstraint(
                condition=Q(confirmed_by__isnull=True) | ~Q(confirmed_by=F("requested_by")),
                name="loans_action_request_two_officers",
            ),
            models.CheckConstraint(
                condition=Q(status="PENDING", confirmed_by__isnull=True, closed_at__isnull=True)
                | Q(
                    status="CONFIRMED",
                    confirmed_by__isnull=False,
                    confirmed_at__isnull=False,
                    closed_at__isnull=False,
                )
                | Q(
                    status__in=["SUPERSEDED", "EXPIRED"],
                    confirmed_by__isnull=True,
                    closed_at__isnull=False,
                ),
                name="loans_action_request_status_fields",
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.target_id} on loan {self.loan_id} ({self.status})"


class LoanWriteOff(models.Model):
    """What a loan owed when it was written off, and who (or the close) wrote it off.

    Written by ``loans.write_offs`` in the transaction of the loan's ACTIVE → WRITTEN_OFF
    transition; one per loan. ``interest`` is the unpaid interest of the installments due
    on or before ``value_date`` (interest of later periods was never earned). The entry
    moves ``principal`` from loans receivable to loan losses and reverses ``fees`` (fees
    receivable ↔ fee income); none when both are 0. Unpaid interest was never recognised
    as income, so nothing is posted for it.
    """

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="write_off_record")
    value_date = models.DateField()
    principal = models.DecimalField(max_digits=14, decimal_places=2)
    interest = models.DecimalField(max_digits=14, decimal_places=2)
    fees = models.DecimalField(max_digits=14, decimal_places=2)
    amount = models.DecimalField(max_digits=14, decimal_places=2)
    days_past_due = models.PositiveIntegerField()
    # NULL: the close of business, by the product's write_off_days.
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    confirmation = models.OneToOneField(
        OfficerActionRequest,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="write_off",
    )
    reason = models.TextField()
    entry = models.OneToOneField(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="loan_write_off",
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(principal__gte=0, interest__gte=0, fees__gte=0)
                & Q(amount=F("principal") + F("interest") + F("fees"))
                & Q(amount__gt=0),
                name="loans_write_off_amount_is_sum",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="loans_write_off_has_reason"),
            models.CheckConstraint(
                condition=Q(entry__isnull=True, principal=0, fees=0)
                | (Q(entry__isnull=False) & (Q(principal__gt=0) | Q(fees__gt=0))),
                name="loans_write_off_entry_when_posted",
            ),
        ]

    def __str__(self):
        return f"Write-off of loan {self.loan_id}: {self.amount}"


class LoanRecovery(models.Model):
    """A payment on a written-off loan: wallet → recovery income.

    It stands (SUCCESS) until an officer reverses it (REVERSED, a bounced payment:
    ``loans.reversals.recovery_reverse``): the reversal entry negates ``entry`` and the
    reversal's who, when and why are kept here. Nothing else of it ever changes.
    """

    class Status(models.TextChoices):
        SUCCESS = "SUCCESS", "Success"
        REVERSED = "REVERSED", "Reversed"

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="recoveries")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    value_date = models.DateField()
    idempotency_key = models.CharField(max_length=255)
    entry = models.OneToOneField(
        "ledger.JournalEntry", on_delete=models.PROTECT, related_name="loan_recovery"
    )
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.SUCCESS, db_default=Status.SUCCESS
    )
    reversal_entry = models.OneToOneField(
        "ledger.JournalEntry",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="reversed_recovery",
    )
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_on = models.DateField(null=True, blank=True)  # the business date of the reversal
    reversal_reason = models.TextField(blank=True, default="", db_default="")
    reversal_client_ip = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "loan recoveries"
        constraints = [
            models.UniqueConstraint(
                fields=["loan", "idempotency_key"], name="loans_recovery_unique_key"
            ),
            models.CheckConstraint(condition=Q(amount__gt=0), name="loans_recovery_positive"),
            # Reversed exactly when a reversal (entry, officer, day, reason) is recorded.
            models.CheckConstraint(
                condition=Q(
                    status="SUCCESS",
                    reversal_entry__isnull=True,
                    reversed_by__isnull=True,
                    reversed_at__isnull=True,
                    reversed_on__isnull=True,
                    reversal_reason="",
                )
                | (
                    Q(
                        status="REVERSED",
                        reversal_entry__isnull=False,
                        reversed_by__isnull=False,
                        reversed_at__isnull=False,
                        reversed_on__isnull=False,
                    )
                    & ~Q(reversal_reason="")
                ),
                name="loans_recovery_reversal_recorded",
            ),
        ]

    def __str__(self):
        return f"Recovery {self.amount} on loan {self.loan_id}"
