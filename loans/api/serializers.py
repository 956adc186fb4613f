from rest_framework import serializers

from ledger.selectors import business_date_get
from lendingsite.money import format_money
from lendingsite.statements import StatementPeriodOutputSerializer
from loans.models import (
    Installment,
    Loan,
    LoanRecovery,
    LoanWriteOff,
    OfficerActionRequest,
    Repayment,
)
from loans.schedule import Quote
from loans.selectors import LoanPosition, installment_status, loan_positions

MONEY = {"max_digits": 14, "decimal_places": 2}


class LoanOutputSerializer(serializers.ModelSerializer):
    """A loan, and where it stands on the business date (build it with ``loan_output``)."""

    user_id = serializers.IntegerField(source="borrower_id")
    product = serializers.CharField(source="product.code")
    business_date = serializers.SerializerMethodField()
    overdue_amount = serializers.SerializerMethodField()
    fees_due = serializers.SerializerMethodField()
    next_due_date = serializers.SerializerMethodField()
    next_due_amount = serializers.SerializerMethodField()
    total_amount = serializers.DecimalField(max_digits=14, decimal_places=2)
    approved_by = serializers.IntegerField(source="approved_by_id", allow_null=True)
    disbursed_by = serializers.IntegerField(source="disbursed_by_id", allow_null=True)
    rejected_by = serializers.IntegerField(source="rejected_by_id", allow_null=True)

    class Meta:
        model = Loan
        fields = [
            "id",
            "user_id",
            "principal_amount",
            "tenure_months",
            "interest_rate",
            "interest_method",
            "status",
            "outstanding_amount",
            "written_off_amount",
            "recovered_amount",
            "emi_amount",
            "total_interest",
            "total_amount",
            "approved_by",
            "approved_at",
            "disbursed_by",
            "disbursed_at",
            "rejected_by",
            "rejected_at",
            "rejection_reason",
            "closed_at",
            "created_at",
            "updated_at",
            "product",
            "business_date",
            "days_past_due",
            "delinquency_bucket",
            "overdue_amount",
            "fees_due",
            "next_due_date",
            "next_due_amount",
        ]

    def _position(self, loan) -> LoanPosition:
        return self.context["positions"].get(loan.pk, LoanPosition())

    def get_business_date(self, loan) -> str:
        return self.context["business_date"].isoformat()

    @staticmethod
    def _money(value) -> str:
        return f"{value:.2f}"

    def get_overdue_amount(self, loan) -> str:
        return self._money(self._position(loan).overdue_amount)

    def get_fees_due(self, loan) -> str:
        return self._money(self._position(loan).fees_due)

    def get_next_due_date(self, loan) -> str | None:
        due = self._position(loan).next_due_date
        return due.isoformat() if due else None

    def get_next_due_amount(self, loan) -> str | None:
        amount = self._position(loan).next_due_amount
        return None if amount is None else self._money(amount)


def quote_output(priced: Quote) -> dict:
    """A quote as ``POST /api/loans/calculate-emi`` answers it.

    Built by hand rather than by ``LoanCalculateEmiApi.OutputSerializer`` (which stays as
    the schema's description): a five-year schedule is 60 rows of six fields, and DRF's
    per-field machinery cost more than pricing the loan (docs/BENCHMARKS.md). A test holds
    both to the same output.
    """
    return {
        "emi_amount": format_money(priced.emi_amount),
        "total_interest": format_money(priced.total_interest),
        "total_amount": format_money(priced.total_amount),
        "tenure_months": priced.tenure_months,
        "schedule": [
            {
                "number": row.number,
                "due_date": row.due_date.isoformat(),
                "principal": format_money(row.principal),
                "interest": format_money(row.interest),
                "total": format_money(row.total),
                "remaining_principal": format_money(row.remaining_principal),
            }
            for row in priced.installments
        ],
    }


def loan_output(loans, *, many: bool = False) -> dict | list:
    """Serialize a loan (or loans) with its position on the business date: one query."""
    today = business_date_get()
    rows = list(loans) if many else [loans]
    context = {
        "business_date": today,
        "positions": loan_positions(
            loan_ids=[loan.pk for loan in rows if loan.status == Loan.Status.ACTIVE],
            as_of=today,
        ),
    }
    return LoanOutputSerializer(rows if many else loans, many=many, context=context).data


class InstallmentOutputSerializer(serializers.ModelSerializer):
    """A schedule row with what was paid, charged and waived, and its status."""

    paid = serializers.DecimalField(max_digits=12, decimal_places=2)
    status = serializers.SerializerMethodField()

    class Meta:
        model = Installment
        fields = [
            "number",
            "due_date",
            "principal",
            "interest",
            "total",
            "remaining_principal",
            "principal_paid",
            "interest_paid",
            "interest_waived",
            "paid",
            "fee_charged",
            "fee_paid",
            "fee_waived",
            "paid_on",
            "status",
        ]

    def get_status(self, installment) -> str:
        """PAID, OVERDUE (due before the business date and not fully paid) or PENDING."""
        return installment_status(installment, as_of=self.context["business_date"])


class RepaymentOutputSerializer(serializers.ModelSerializer):
    loan_id = serializers.IntegerField()

    class Meta:
        model = Repayment
        fields = [
            "id",
            "loan_id",
            "amount",
            "principal_part",
            "interest_part",
            "fee_part",
            "value_date",
            "type",
            "purpose",
            "interest_waived",
            "status",
            "created_at",
            "reversed_on",
            "reversal_reason",
        ]


class PayoffQuoteOutputSerializer(serializers.Serializer):
    loan_id = serializers.IntegerField()
    as_of = serializers.DateField()
    principal = serializers.DecimalField(**MONEY)
    interest = serializers.DecimalField(**MONEY)
    fees = serializers.DecimalField(**MONEY)
    credit = serializers.DecimalField(**MONEY)
    total = serializers.DecimalField(**MONEY)


class ScheduleVersionOutputSerializer(serializers.Serializer):
    """When and why a loan's schedule was made (``GET /schedule/versions``)."""

    version = serializers.IntegerField(source="number")
    reason = serializers.CharField()
    note = serializers.CharField()
    business_date = serializers.DateField()
    created_at = serializers.DateTimeField()
    repayment_id = serializers.IntegerField(allow_null=True)
    emi_amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    total_interest = serializers.DecimalField(max_digits=12, decimal_places=2)
    installments = serializers.IntegerField(source="installment_count")


class ScheduleVersionRowOutputSerializer(serializers.Serializer):
    """An installment as a schedule version planned it (``GET /schedule/versions/N``)."""

    number = serializers.IntegerField()
    due_date = serializers.DateField()
    principal = serializers.DecimalField(max_digits=12, decimal_places=2)
    interest = serializers.DecimalField(max_digits=12, decimal_places=2)
    total = serializers.DecimalField(max_digits=12, decimal_places=2)
    remaining_principal = serializers.DecimalField(max_digits=12, decimal_places=2)


class _StatementMoney(serializers.DecimalField):
    def __init__(self, **kwargs):
        super().__init__(**MONEY, **kwargs)


def _money_text(value) -> str:
    return f"{value:.2f}"


class LoanStatementLineSerializer(serializers.Serializer):
    """A statement line. Written out directly: a statement has thousands (same output as
    the declared fields, which document the schema)."""

    MONEY_FIELDS = ("debit", "credit", "fees", "interest", "principal", "recovered", "balance")

    date = serializers.DateField(source="on")
    kind = serializers.CharField()
    description = serializers.CharField()
    reference = serializers.CharField()
    debit = _StatementMoney()
    credit = _StatementMoney()
    fees = _StatementMoney()
    interest = _StatementMoney()
    principal = _StatementMoney()
    recovered = _StatementMoney(help_text="paid on a written-off loan (its balance stays 0)")
    balance = _StatementMoney()

    def to_representation(self, line) -> dict:
        return {
            "date": line.on.isoformat(),
            "kind": line.kind,
            "description": line.description,
            "reference": line.reference,
            **{name: _money_text(getattr(line, name)) for name in self.MONEY_FIELDS},
        }


class LoanStatementScheduleRowSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_date = serializers.DateField()
    principal = _StatementMoney()
    interest = _StatementMoney()
    total = _StatementMoney()
    fee_charged = _StatementMoney()
    paid = _StatementMoney()
    fee_paid = _StatementMoney()
    fee_waived = _StatementMoney()
    unpaid = _StatementMoney()
    paid_on = serializers.DateField(allow_null=True)
    status = serializers.CharField()


class LoanStatementOutputSerializer(serializers.Serializer):
    """A loan's statement (``loans.statements.loan_statement``); the PDF reads the same data."""

    class Terms(serializers.Serializer):
        product = serializers.CharField(source="product_code")
        product_name = serializers.CharField()
        principal_amount = _StatementMoney()
        interest_rate = serializers.DecimalField(max_digits=5, decimal_places=2)
        interest_method = serializers.CharField()
        tenure_months = serializers.IntegerField()
        emi_amount = _StatementMoney()
        total_interest = _StatementMoney()
        disbursed_on = serializers.DateField()

    class Totals(serializers.Serializer):
        debit = _StatementMoney()
        credit = _StatementMoney()
        recovered = _StatementMoney()

    loan_id = serializers.IntegerField()
    borrower_name = serializers.CharField()
    borrower_email = serializers.CharField()
    status = serializers.CharField()
    business_date = serializers.DateField()
    days_past_due = serializers.IntegerField()
    delinquency_bucket = serializers.CharField()
    terms = Terms(source="*")
    period = StatementPeriodOutputSerializer()
    opening_balance = _StatementMoney()
    lines = LoanStatementLineSerializer(many=True)
    totals = Totals()
    closing_balance = _StatementMoney()
    schedule = LoanStatementScheduleRowSerializer(many=True)
    written_off_amount = _StatementMoney()
    recovered_amount = _StatementMoney()
    payoff = PayoffQuoteOutputSerializer(
        allow_null=True, help_text="paying it off on the business date; null unless ACTIVE"
    )


PENDING_CONFIRMATION = "PENDING_CONFIRMATION"


class PendingConfirmationSerializer(serializers.ModelSerializer):
    """The 202 answer to an officer action that waits for a second officer
    (``loans.confirmations``): the request recorded, and what it waits for."""

    status = serializers.SerializerMethodField()
    detail = serializers.SerializerMethodField()
    request_id = serializers.IntegerField(source="pk")
    loan_id = serializers.IntegerField()
    requested_by = serializers.IntegerField(source="requested_by_id")
    amount = serializers.DecimalField(**MONEY)
    threshold = serializers.DecimalField(**MONEY)

    class Meta:
        model = OfficerActionRequest
        fields = [
            "status",
            "detail",
            "request_id",
            "kind",
            "loan_id",
            "target_id",
            "amount",
            "threshold",
            "reason",
            "requested_by",
            "requested_at",
        ]

    def get_status(self, request) -> str:
        return PENDING_CONFIRMATION

    def get_detail(self, request) -> str:
        return (
            f"{request.get_kind_display()} of {request.amount} is above the loan's "
            f"maker-checker threshold of {request.threshold}: recorded, and carried out "
            "when a different officer makes the same request."
        )


class WriteOffOutputSerializer(serializers.ModelSerializer):
    """A loan's write-off: what it owed, when, by whom (``officer`` null: the close)."""

    loan_id = serializers.IntegerField()
    officer = serializers.IntegerField(source="officer_id", allow_null=True)
    confirmed_request = serializers.IntegerField(source="confirmation_id", allow_null=True)

    class Meta:
        model = LoanWriteOff
        fields = [
            "loan_id",
            "value_date",
            "principal",
            "interest",
            "fees",
            "amount",
            "days_past_due",
            "officer",
            "confirmed_request",
            "reason",
            "created_at",
        ]


class RecoveryOutputSerializer(serializers.ModelSerializer):
    loan_id = serializers.IntegerField()
    # Plain text: the same two values as a repayment's status, documented here.
    status = serializers.CharField(help_text="SUCCESS, or REVERSED once an officer reversed it")

    class Meta:
        model = LoanRecovery
        fields = [
            "id",
            "loan_id",
            "amount",
            "value_date",
            "created_at",
            "status",
            "reversed_on",
            "reversal_reason",
        ]
