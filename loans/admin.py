"""The loan officers' console.

Decisions (approve, reject), fee waivers and write-offs go through the same services as the API —
atomic, with the loan row locked — so two officers acting at once get a message, never
an error page.
"""

from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Case, Exists, IntegerField, OuterRef, Sum, Value, When
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html, format_html_join
from django.utils.timesince import timesince
from django_fsm import TransitionNotAllowed

from ledger.selectors import business_date_get
from lendingsite.admin_money import inr_column
from lendingsite.csv_export import DATE, DATETIME, MONEY, NUMBER, Column
from lendingsite.exceptions import ApplicationError
from lendingsite.http import client_ip
from lendingsite.money import format_inr
from lendingsite.readonly_admin import ReadOnlyAdmin
from lendingsite.statements import statement_download
from loans.api.serializers import LoanStatementOutputSerializer
from loans.exceptions import REASON_REQUIRED, LoanError, LoanStateError
from loans.locks import loan_product_qs_lock_against_new_loans
from loans.models import (
    CloseFailure,
    DelinquencyChange,
    Installment,
    Loan,
    LoanEvent,
    LoanProduct,
    LoanRecovery,
    LoanWriteOff,
    OfficerActionRequest,
    Repayment,
)
from loans.reversals import REVERSIBLE_STATUSES, recovery_reverse, repayment_reverse
from loans.selectors import DISBURSED_STATUSES as DISBURSED
from loans.selectors import PENDING_STATUSES as PENDING
from loans.selectors import (
    ZERO,
    LoanPosition,
    action_request_list_pending,
    bucket_codes,
    fee_waiver_list,
    installment_list_fee_due,
    loan_entry_list,
    loan_list_overdue,
    loan_payoff_quote,
    loan_positions,
    loan_product_list,
    schedule_version_list,
)
from loans.services import loan_approve, loan_fee_waive, loan_reject, loan_write_off
from loans.statement_pdf import loan_statement_filename, loan_statement_pdf
from loans.statements import loan_statement
from loans.write_offs import write_off_figures
from wallets.models import Wallet
from wallets.selectors import wallet_get_for_user


class PrincipalBandFilter(admin.SimpleListFilter):
    title = "principal"
    parameter_name = "principal"
    BANDS = {
        "small": ("under 50,000", None, Decimal("50000")),
        "medium": ("50,000 to 200,000", Decimal("50000"), Decimal("200000")),
        "large": ("200,000 and over", Decimal("200000"), None),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _, _) in self.BANDS.items()]

    def queryset(self, request, queryset):
        if self.value() not in self.BANDS:
            return queryset
        _, low, high = self.BANDS[self.value()]
        if low is not None:
            queryset = queryset.filter(principal_amount__gte=low)
        if high is not None:
            queryset = queryset.filter(principal_amount__lt=high)
        return queryset


def _products(request) -> list[LoanProduct]:
    """The products, read once per request: the product and bucket filters share them."""
    if not hasattr(request, "_loan_products"):
        request._loan_products = loan_product_list()
    return request._loan_products


class ProductFilter(admin.SimpleListFilter):
    title = "product"
    parameter_name = "product"

    def lookups(self, request, model_admin):
        return [(product.code, product.code) for product in _products(request)]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(product__code=self.value())


class BucketFilter(admin.SimpleListFilter):
    """The delinquency buckets the products define, from current to the latest."""

    title = "delinquency bucket"
    parameter_name = "bucket"

    def lookups(self, request, model_admin):
        return [(code, code) for code in bucket_codes(_products(request))]

    def queryset(self, request, queryset):
        if self.value() is None:
            return queryset
        return queryset.filter(delinquency_bucket=self.value())


class DaysPastDueFilter(admin.SimpleListFilter):
    title = "days past due"
    parameter_name = "dpd"
    BANDS = {
        "current": ("current (0)", 0, 0),
        "1-30": ("1 to 30", 1, 30),
        "31-60": ("31 to 60", 31, 60),
        "61-90": ("61 to 90", 61, 90),
        "91+": ("91 and more", 91, None),
    }

    def lookups(self, request, model_admin):
        return [(key, label) for key, (label, _, _) in self.BANDS.items()]

    def queryset(self, request, queryset):
        if self.value() not in self.BANDS:
            return queryset
        _, low, high = self.BANDS[self.value()]
        queryset = queryset.filter(days_past_due__gte=low)
        if high is not None:
            queryset = queryset.filter(days_past_due__lte=high)
        return queryset


class FeeWaiverForm(forms.Form):
    """The shape of a waiver; the service decides whether it is allowed."""

    installment_number = forms.TypedChoiceField(
        label="Installment", coerce=int, widget=forms.RadioSelect
    )
    amount = forms.DecimalField(
        label="Amount",
        required=False,
        min_value=Decimal("0.01"),
        max_digits=12,
        decimal_places=2,
        help_text="Leave empty to waive the whole unpaid fee.",
    )
    # Blank reasons reach the service, whose refusal is the one rule (as for rejections).
    reason = forms.CharField(label="Reason", required=False, max_length=1000)

    def __init__(self, *args, installments, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["installment_number"]
        field.choices = [
            (
                i.number,
                f"#{i.number}, due {i.due_date.isoformat()}: {format_inr(i.fee_due)} unpaid "
                f"of a {format_inr(i.fee_charged)} fee",
            )
            for i in installments
        ]
        field.initial = installments[0].number


def _reversible(loan: Loan) -> list:
    """What an officer may reverse on the loan: its standing repayments (ACTIVE or CLOSED),
    or its standing recoveries (WRITTEN_OFF), newest first."""
    if loan.status == Loan.Status.WRITTEN_OFF:
        standing = loan.recoveries.filter(status=LoanRecovery.Status.SUCCESS)
    elif loan.status in REVERSIBLE_STATUSES:
        standing = loan.repayments.filter(status=Repayment.Status.SUCCESS)
    else:
        return []
    return list(standing.order_by("-value_date", "-pk"))


class RepaymentReversalForm(forms.Form):
    """Which standing repayment to reverse, and why (the service decides if it may be)."""

    repayment_id = forms.TypedChoiceField(label="Repayment", coerce=int, widget=forms.RadioSelect)
    # Blank reasons reach the service, whose refusal is the one rule.
    reason = forms.CharField(label="Reason", required=False, max_length=1000)

    def __init__(self, *args, repayments=(), recoveries=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["repayment_id"]
        field.choices = [
            (
                r.pk,
                f"#{r.pk} of {r.value_date.isoformat()}: {format_inr(r.amount)} (fee "
                f"{format_inr(r.fee_part)}, interest {format_inr(r.interest_part)}, "
                f"principal {format_inr(r.principal_part)})",
            )
            for r in repayments
        ] + [
            (r.pk, f"#{r.pk} of {r.value_date.isoformat()}: {format_inr(r.amount)} recovered")
            for r in recoveries
        ]
        if recoveries:
            field.label = "Recovery"


class ReadOnlyInline(admin.TabularInline):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class InstallmentInline(ReadOnlyInline):
    model = Installment
    verbose_name_plural = "repayment schedule"
    classes = ["collapse"]  # up to 60 rows: folded, the loan's figures come first
    fields = [
        "number",
        "due_date",
        "principal_inr",
        "interest_inr",
        "total_inr",
        "remaining_principal_inr",
        "principal_paid_inr",
        "interest_paid_inr",
        "interest_waived_inr",
        "fee_charged_inr",
        "fee_paid_inr",
        "fee_waived_inr",
        "paid_on",
        "schedule_status",
    ]
    readonly_fields = fields
    principal_inr = inr_column("principal", "principal")
    interest_inr = inr_column("interest", "interest")
    total_inr = inr_column("total", "total")
    remaining_principal_inr = inr_column("remaining_principal", "remaining principal")
    principal_paid_inr = inr_column("principal_paid", "principal paid")
    interest_paid_inr = inr_column("interest_paid", "interest paid")
    interest_waived_inr = inr_column("interest_waived", "interest waived")
    fee_charged_inr = inr_column("fee_charged", "fee charged")
    fee_paid_inr = inr_column("fee_paid", "fee paid")
    fee_waived_inr = inr_column("fee_waived", "fee waived")

    def get_queryset(self, request):
        # The status against the business date, computed with the rows.
        return (
            super()
            .get_queryset(request)
            .annotate(
                status=Case(
                    When(paid_on__isnull=False, then=Value("PAID")),
                    When(due_date__lt=business_date_get(), then=Value("OVERDUE")),
                    default=Value("PENDING"),
                )
            )
        )

    @admin.display(description="status")
    def schedule_status(self, installment):
        """PAID, OVERDUE (due before the business date, not fully paid) or PENDING."""
        return installment.status


class RepaymentInline(ReadOnlyInline):
    model = Repayment
    fields = [
        "created_at",
        "value_date",
        "amount_inr",
        "principal_inr",
        "interest_inr",
        "fee_inr",
        "type",
        "status",
        "reversed_on",
        "reversal_reason",
    ]
    readonly_fields = fields
    amount_inr = inr_column("amount", "amount")
    principal_inr = inr_column("principal_part", "principal part")
    interest_inr = inr_column("interest_part", "interest part")
    fee_inr = inr_column("fee_part", "fee part")


class DelinquencyChangeInline(ReadOnlyInline):
    model = DelinquencyChange
    verbose_name = "change of delinquency bucket"
    verbose_name_plural = "delinquency history"
    fields = ["on", "from_bucket", "to_bucket", "days_past_due"]
    readonly_fields = fields
    ordering = ["-pk"]  # newest first


class LoanEventInline(ReadOnlyInline):
    model = LoanEvent
    verbose_name = "audit trail entry"
    verbose_name_plural = "audit trail"
    fields = ["created_at", "source", "target", "actor", "reason", "client_ip"]
    readonly_fields = fields

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("actor")


@admin.register(Loan)
class LoanAdmin(admin.ModelAdmin):
    # Short headings: the list has to fit beside the navigation and the filters.
    list_display = [
        "id",
        "borrower_email",
        "product_code",
        "principal",
        "annual_rate",
        "emi",
        "outstanding",
        "dpd",
        "bucket",
        "status",
        "age",
    ]
    list_display_links = ["id", "borrower_email"]
    list_filter = [
        "status",
        BucketFilter,
        DaysPastDueFilter,
        ProductFilter,
        PrincipalBandFilter,
        "created_at",
    ]
    list_select_related = ["borrower", "product"]
    search_fields = ["borrower__email", "borrower__name"]
    date_hierarchy = "created_at"
    list_per_page = 50
    show_full_result_count = False
    actions = ["approve_selected", "reject_selected"]
    inlines = [LoanEventInline, DelinquencyChangeInline, RepaymentInline, InstallmentInline]
    # *Export CSV* above the list: these columns, for every loan the list's filters select.
    export_columns = (
        Column("loan_id", "id", NUMBER),
        Column("applied_at", "created_at", DATETIME),
        Column("borrower_email", "borrower__email"),
        Column("borrower_name", "borrower__name"),
        Column("product", "product__code"),
        Column("status", "status"),
        Column("principal_amount", "principal_amount", MONEY),
        Column("interest_rate_percent", "interest_rate", NUMBER),
        Column("interest_method", "interest_method"),
        Column("tenure_months", "tenure_months", NUMBER),
        Column("emi_amount", "emi_amount", MONEY),
        Column("total_interest", "total_interest", MONEY),
        Column("outstanding_amount", "outstanding_amount", MONEY),
        Column("days_past_due", "days_past_due", NUMBER),
        Column("delinquency_bucket", "delinquency_bucket"),
        Column("approved_at", "approved_at", DATETIME),
        Column("disbursed_on", "disbursed_on", DATE),
        Column("disbursed_at", "disbursed_at", DATETIME),
        Column("rejected_at", "rejected_at", DATETIME),
        Column("rejection_reason", "rejection_reason"),
        Column("closed_at", "closed_at", DATETIME),
        Column("written_off_amount", "written_off_amount", MONEY),
        Column("recovered_amount", "recovered_amount", MONEY),
    )
    # Decision fields shown only once they hold something (an active loan has no rejecter).
    DECISION_FIELDS = (
        "approved_by",
        "approved_at",
        "disbursed_by",
        "disbursed_at",
        "rejected_by",
        "rejected_at",
        "rejection_reason",
        "closed_at",
    )
    fieldsets = [
        (
            "Loan",
            {
                "fields": [
                    "borrower",
                    "wallet_balance",
                    "status",
                    "product",
                    "principal",
                    "tenure",
                    "rate",
                    "interest_method",
                    "emi",
                    "total_interest_inr",
                    "outstanding",
                ]
            },
        ),
        (
            "Servicing",
            {
                "fields": [
                    "business_date",
                    "closed_through",
                    "days_past_due",
                    "delinquency_bucket",
                    "overdue_amount",
                    "fees_due",
                    "next_due",
                ]
            },
        ),
        (
            "Decisions",
            {"fields": ["two_officers", *DECISION_FIELDS]},
        ),
        ("Fee waivers", {"fields": ["fee_waivers"]}),
        ("Payoff and schedule versions", {"fields": ["payoff_quote", "schedule_versions"]}),
        (
            "Write-off and recovery",
            {"fields": ["write_off_summary", "recoveries", "officer_requests"]},
        ),
        ("Ledger", {"fields": ["ledger_entries"]}),
    ]
    # Fieldsets of disbursed loans only.
    SERVICED = (
        "Servicing",
        "Fee waivers",
        "Payoff and schedule versions",
        "Write-off and recovery",
    )
    readonly_fields = [field for _, options in fieldsets for field in options["fields"]]

    # --- list ---------------------------------------------------------------------
    def get_queryset(self, request):
        # Loans waiting for an officer first, then the newest.
        return (
            super()
            .get_queryset(request)
            .annotate(
                pending_rank=Case(
                    When(status__in=PENDING, then=Value(0)),
                    default=Value(1),
                    output_field=IntegerField(),
                )
            )
            .order_by("pending_rank", "-created_at", "-pk")
        )

    @admin.display(description="borrower", ordering="borrower__email")
    def borrower_email(self, loan):
        return loan.borrower.email

    @admin.display(description="product", ordering="product__code")
    def product_code(self, loan):
        return loan.product.code

    @admin.display(description="principal", ordering="principal_amount")
    def principal(self, loan):
        return format_inr(loan.principal_amount)

    @admin.display(description="rate %", ordering="interest_rate")
    def annual_rate(self, loan):
        return loan.interest_rate

    @admin.display(description="EMI", ordering="emi_amount")
    def emi(self, loan):
        return format_inr(loan.emi_amount)

    @admin.display(description="outstanding", ordering="outstanding_amount")
    def outstanding(self, loan):
        return format_inr(loan.outstanding_amount)

    total_interest_inr = inr_column("total_interest", "total interest")

    @admin.display(description="DPD", ordering="days_past_due")
    def dpd(self, loan):
        return loan.days_past_due

    @admin.display(description="bucket", ordering="delinquency_bucket")
    def bucket(self, loan):
        return loan.delinquency_bucket

    @admin.display(description="age", ordering="created_at")
    def age(self, loan):
        return timesince(loan.created_at, timezone.now()).split(",")[0]

    # --- detail -------------------------------------------------------------------
    def get_fieldsets(self, request, obj=None):
        if obj is None:
            return self.fieldsets
        shown = {"two_officers"} | {
            name for name in self.DECISION_FIELDS if getattr(obj, name) not in (None, "")
        }
        serviced = obj.status in DISBURSED
        return [
            (name, {"fields": [f for f in options["fields"] if name != "Decisions" or f in shown]})
            for name, options in self.fieldsets
            if serviced or name not in self.SERVICED
        ]

    def _position(self, loan) -> tuple:
        """The business date and the loan's position on it, read once per page."""
        if not hasattr(loan, "_position"):
            today = business_date_get()
            position = None
            if loan.status == Loan.Status.ACTIVE:  # as the API: a written-off loan owes nothing
                position = loan_positions(loan_ids=[loan.pk], as_of=today).get(loan.pk)
            loan._position = (today, position or LoanPosition())
        return loan._position

    @admin.display(description="business date")
    def business_date(self, loan):
        return formats.localize(self._position(loan)[0])  # as the model's dates show

    @admin.display(description="overdue (fees included)")
    def overdue_amount(self, loan):
        return format_inr(self._position(loan)[1].overdue_amount)

    @admin.display(description="late fees due")
    def fees_due(self, loan):
        return format_inr(self._position(loan)[1].fees_due)

    @admin.display(description="next due")
    def next_due(self, loan):
        position = self._position(loan)[1]
        if position.next_due_date is None:
            return "—"
        return (
            f"{format_inr(position.next_due_amount)} on {formats.localize(position.next_due_date)}"
        )

    @admin.display(description="fee waivers")
    def fee_waivers(self, loan):
        waivers = list(fee_waiver_list(loan_id=loan.pk))
        if not waivers:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    w.installment.number,
                    format_inr(w.amount),
                    w.reason,
                    w.officer.email,
                    w.value_date.isoformat(),
                )
                for w in waivers
            ),
        )
        return format_html(
            '<table class="fee-waivers"><tr><th>installment</th><th>amount</th>'
            "<th>reason</th><th>officer</th><th>value date</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="payoff at the business date")
    def payoff_quote(self, loan):
        if loan.status != Loan.Status.ACTIVE:
            return "— (only an ACTIVE loan can be paid off)"
        today = self._position(loan)[0]
        quote = loan_payoff_quote(loan=loan, as_of=today)
        return format_html(
            '<table class="payoff"><tr><th>principal</th><th>interest</th><th>fees</th>'
            "<th>credit</th><th>total</th></tr>"
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><strong>{}</strong></td></tr>"
            "</table>",
            *(
                format_inr(v)
                for v in (quote.principal, quote.interest, quote.fees, quote.credit, quote.total)
            ),
        )

    @admin.display(description="schedule versions")
    def schedule_versions(self, loan):
        versions = list(schedule_version_list(loan=loan))
        if not versions:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td><td>{}</td></tr>",
            (
                (
                    v.number,
                    v.get_reason_display(),
                    v.business_date.isoformat(),
                    v.created_at.strftime("%Y-%m-%d %H:%M"),
                    v.installment_count,
                    format_inr(v.emi_amount),
                    format_inr(v.total_interest),
                    v.note or "—",
                )
                for v in versions
            ),
        )
        return format_html(
            '<table class="schedule-versions"><tr><th>version</th><th>why</th>'
            "<th>business date</th><th>made at</th><th>installments</th><th>EMI</th>"
            "<th>total interest</th><th>note</th></tr>{}</table>",
            rows,
        )

    @admin.display(description="written off")
    def write_off_summary(self, loan):
        record = (
            LoanWriteOff.objects.filter(loan=loan)
            .select_related("officer", "confirmation__requested_by")
            .first()
        )
        if record is None:
            return "—"
        by = record.officer.email if record.officer else "the close of business"
        if record.confirmation is not None:
            by = f"{by}, confirming {record.confirmation.requested_by.email}'s request"
        return format_html(
            "{} on {} by {} at {} days past due: principal {}, interest due {}, fees {}. "
            "Reason: {}",
            format_inr(record.amount),
            record.value_date.isoformat(),
            by,
            record.days_past_due,
            format_inr(record.principal),
            format_inr(record.interest),
            format_inr(record.fees),
            record.reason,
        )

    @admin.display(description="recoveries")
    def recoveries(self, loan):
        rows = list(LoanRecovery.objects.filter(loan=loan).order_by("-pk"))
        if not rows:
            return "—" if loan.status != Loan.Status.WRITTEN_OFF else "none yet"
        return format_html(
            '<table class="fee-waivers"><tr><th>amount</th><th>value date</th></tr>{}</table>'
            "<p>Recovered {} of {}.</p>",
            format_html_join(
                "",
                "<tr><td>{}</td><td>{}</td></tr>",
                ((format_inr(r.amount), r.value_date.isoformat()) for r in rows),
            ),
            format_inr(loan.recovered_amount),
            format_inr(loan.written_off_amount),
        )

    @admin.display(description="waiting for a second officer")
    def officer_requests(self, loan):
        pending = action_request_list_pending(loan=loan)
        if not pending:
            return "—"
        return format_html_join(
            "",
            "<p>{} of {} (target #{}), asked by {} on {}: {}</p>",
            (
                (
                    r.get_kind_display(),
                    format_inr(r.amount),
                    r.target_id,
                    r.requested_by.email,
                    r.requested_at.strftime("%Y-%m-%d %H:%M"),
                    r.reason,
                )
                for r in pending
            ),
        )

    @admin.display(description="tenure")
    def tenure(self, loan):
        return f"{loan.tenure_months} months"

    @admin.display(description="interest rate")
    def rate(self, loan):
        return f"{loan.interest_rate} % a year"

    @admin.display(description="two officers needed")
    def two_officers(self, loan):
        threshold = format_inr(loan.maker_checker_threshold)
        if loan.needs_two_officers:
            return f"Yes: one approves, another disburses (principal at or above {threshold})"
        return f"No (principal below {threshold})"

    @admin.display(description="wallet balance")
    def wallet_balance(self, loan):
        try:
            wallet = wallet_get_for_user(user=loan.borrower_id)
        except Wallet.DoesNotExist:
            return "—"
        return f"{format_inr(wallet.balance)} {wallet.currency}"

    @admin.display(description="ledger entries")
    def ledger_entries(self, loan):
        entries = loan_entry_list(loan=loan)
        if not entries:
            return "—"
        rows = format_html_join(
            "",
            '<tr><td><a href="{}">#{}</a></td><td>{}</td><td>{}</td><td>{}</td></tr>',
            (
                (
                    reverse("admin:ledger_journalentry_change", args=[e.pk]),
                    e.pk,
                    e.kind,
                    e.reference,
                    timezone.localtime(e.created_at).strftime("%Y-%m-%d %H:%M"),
                )
                for e in entries
            ),
        )
        return format_html(
            "<table><tr><th>entry</th><th>kind</th><th>reference</th><th>when</th></tr>{}</table>",
            rows,
        )

    def has_add_permission(self, request):
        return False  # loans are applied for by borrowers, through the API

    def has_change_permission(self, request, obj=None):
        return False  # every change is a transition, made by the buttons below

    def has_delete_permission(self, request, obj=None):
        return False

    def change_view(self, request, object_id, form_url="", extra_context=None):
        loan = self.get_object(request, object_id)
        extra_context = {
            **(extra_context or {}),
            **self._decision_context(request, loan),
            "can_waive": loan is not None and self._can_waive(request, loan),
            "can_reverse": loan is not None and self._can_reverse(request, loan),
            "can_write_off": loan is not None and self._can_write_off(request, loan),
            "has_statement": loan is not None and loan.disbursed_on is not None,
        }
        return super().change_view(request, object_id, form_url, extra_context)

    def _decision_context(self, request, loan):
        if loan is None:
            return {}
        # The state machine says what this officer may do from here (states and permissions).
        allowed = {t.name for t in loan.get_available_user_status_transitions(request.user)}
        return {
            "can_approve": bool(allowed & {"approve", "disburse"}),
            "can_reject": "reject" in allowed,
            "approve_label": (
                "Disburse (second officer)"
                if loan.status == Loan.Status.APPROVED
                else "Approve"
                if loan.needs_two_officers
                else "Approve and disburse"
            ),
        }

    # --- decisions ----------------------------------------------------------------
    def get_urls(self):
        decide = self.admin_site.admin_view(self.decision_view)
        return [
            path(
                "collections/",
                self.admin_site.admin_view(self.collections_view),
                name="loans_loan_collections",
            ),
            path(
                "<int:loan_id>/approve/", decide, {"action": "approve"}, name="loans_loan_approve"
            ),
            path("<int:loan_id>/reject/", decide, {"action": "reject"}, name="loans_loan_reject"),
            path(
                "<int:loan_id>/statement/",
                self.admin_site.admin_view(self.statement_view),
                name="loans_loan_statement",
            ),
            path(
                "<int:loan_id>/waive-fee/",
                self.admin_site.admin_view(self.waive_fee_view),
                name="loans_loan_waive_fee",
            ),
            path(
                "<int:loan_id>/reverse-repayment/",
                self.admin_site.admin_view(self.reverse_repayment_view),
                name="loans_loan_reverse_repayment",
            ),
            path(
                "<int:loan_id>/write-off/",
                self.admin_site.admin_view(self.write_off_view),
                name="loans_loan_write_off",
            ),
            *super().get_urls(),
        ]

    def decision_view(self, request, loan_id, action):
        """GET: a confirmation page (with the reason box for a rejection). POST: decide."""
        permission = "loans.approve_loan" if action == "approve" else "loans.reject_loan"
        if not request.user.has_perm(permission):
            raise PermissionDenied
        loan = get_object_or_404(Loan.objects.select_related("borrower", "approved_by"), pk=loan_id)
        change_url = reverse("admin:loans_loan_change", args=[loan.pk])
        reason = request.POST.get("reason", "")
        if request.method == "POST":
            refusal = self._decide(request, loan.pk, action, reason)
            if refusal is None or refusal.code != REASON_REQUIRED:
                return HttpResponseRedirect(change_url)  # the outcome is shown as a message
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "loan": loan,
            "action": action,
            "reason": reason,
            "change_url": change_url,
            "title": f"{action.title()} loan #{loan.pk}",
            **self._decision_context(request, loan),
        }
        return TemplateResponse(request, "admin/loans/loan/decision.html", context)

    def _decide(self, request, loan_id, action, reason="") -> ApplicationError | None:
        """Run one decision through the services; report the outcome as a message.

        Returns the refusal, if any. A rejection without a reason is refused by the
        service; the officer is then asked again, on the same page.
        """
        try:
            if action == "approve":
                loan = loan_approve(
                    loan_id=loan_id, officer=request.user, client_ip=client_ip(request)
                )
            else:
                loan = loan_reject(
                    loan_id=loan_id,
                    officer=request.user,
                    reason=reason,
                    client_ip=client_ip(request),
                )
        except ApplicationError as exc:
            if exc.code == REASON_REQUIRED:
                messages.error(request, exc.extra["rejection_reason"][0])
            else:
                messages.error(request, f"Loan #{loan_id}: {exc.message}")
            return exc
        except TransitionNotAllowed as exc:
            messages.error(request, f"Loan #{loan_id}: {exc}")
            return LoanStateError(str(exc))
        messages.success(request, f"Loan #{loan_id} is now {loan.status}.")
        return None

    @admin.action(description="Approve selected loans…", permissions=["approve"])
    def approve_selected(self, request, queryset):
        """Show the loans, their amounts and the total; approve them once confirmed.

        The confirmation posts the ids it showed, so "select all" across pages approves
        exactly the loans the officer saw, never one that arrived in between.
        """
        if "apply" in request.POST:
            for loan_id in queryset.order_by("pk").values_list("pk", flat=True):
                self._decide(request, loan_id, "approve")
            return None
        loans = list(queryset.select_related("borrower").order_by("pk"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "loans": loans,
            "loan_ids": [loan.pk for loan in loans],
            "total": format_inr(sum((loan.principal_amount for loan in loans), Decimal("0.00"))),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "title": "Approve loans",
        }
        return TemplateResponse(request, "admin/loans/loan/approve_selected.html", context)

    @admin.action(description="Reject selected loans…", permissions=["reject"])
    def reject_selected(self, request, queryset):
        """Ask for one reason, then reject each loan with it (the service checks the reason)."""
        reason = request.POST.get("reason", "")
        if "apply" in request.POST:
            loan_ids = list(queryset.order_by("pk").values_list("pk", flat=True))
            for loan_id in loan_ids:
                refusal = self._decide(request, loan_id, "reject", reason)
                if refusal is not None and refusal.code == REASON_REQUIRED:
                    break  # the same reason is refused for every loan: ask once more
            else:
                return None
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "loans": queryset.select_related("borrower"),
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
            "title": "Reject loans",
        }
        return TemplateResponse(request, "admin/loans/loan/reject_selected.html", context)

    def has_approve_permission(self, request):
        return request.user.has_perm("loans.approve_loan")

    def has_reject_permission(self, request):
        return request.user.has_perm("loans.reject_loan")

    # --- collections ---------------------------------------------------------------
    COLLECTIONS_PER_PAGE = 50

    def collections_view(self, request):
        """The overdue loans, longest overdue first, with what to collect and whom to call.

        A fixed number of queries whatever the number of loans: the page of loans (its
        amounts are subqueries), the paginator's count and the total.
        """
        if not self.has_view_permission(request):
            raise PermissionDenied
        today = business_date_get()
        queue = loan_list_overdue(as_of=today)
        page = Paginator(queue, self.COLLECTIONS_PER_PAGE).get_page(request.GET.get("p"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": "Collections queue",
            "business_date": today,
            "page": page,
            "total": queue.aggregate(total=Sum("overdue_amount"))["total"] if page else ZERO,
        }
        return TemplateResponse(request, "admin/loans/loan/collections.html", context)

    # --- fee waivers --------------------------------------------------------------
    @staticmethod
    def _can_waive(request, loan) -> bool:
        """Offer the waiver to those allowed, on an active loan with a fee left to waive."""
        return (
            request.user.has_perm("loans.waive_fee")
            and loan.status == Loan.Status.ACTIVE
            and installment_list_fee_due(loan_id=loan.pk).exists()
        )

    def waive_fee_view(self, request, loan_id):
        """GET: choose the installment, the amount and the reason. POST: waive.

        The waiver runs through ``loans.services.loan_fee_waive``, as in the API. Bad input
        and the service's refusals of it (no reason, more than the fee) are shown as
        messages on this page, which asks again; a loan no longer ACTIVE, or left with no
        fee to waive, sends the officer back to the loan with a message.
        """
        if not request.user.has_perm("loans.waive_fee"):
            raise PermissionDenied
        loan = get_object_or_404(Loan.objects.select_related("borrower", "product"), pk=loan_id)
        change_url = reverse("admin:loans_loan_change", args=[loan.pk])
        if loan.status != Loan.Status.ACTIVE:
            messages.error(request, f"Loan #{loan.pk} is {loan.status}: no fee can be waived.")
            return HttpResponseRedirect(change_url)
        owing = list(installment_list_fee_due(loan_id=loan.pk))
        if not owing:
            messages.error(request, f"Loan #{loan.pk} has no late fee left to waive.")
            return HttpResponseRedirect(change_url)
        posted = request.POST if request.method == "POST" else None
        form = FeeWaiverForm(posted, installments=owing)
        if request.method == "POST":
            if form.is_valid():
                refusal = self._waive(request, loan.pk, form.cleaned_data, owing)
                if refusal is None or not isinstance(refusal, LoanError):
                    return HttpResponseRedirect(change_url)  # the outcome is a message
            else:
                for name, errors in form.errors.items():
                    for error in errors:
                        messages.error(request, f"{form.fields[name].label}: {error}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "loan": loan,
            "form": form,
            "owing": owing,
            "business_date": business_date_get(),
            "change_url": change_url,
            "title": f"Waive a late fee on loan #{loan.pk}",
        }
        return TemplateResponse(request, "admin/loans/loan/waive_fee.html", context)

    def _waive(self, request, loan_id, data, owing) -> ApplicationError | None:
        """Waive through the service; report the outcome as a message, return any refusal."""
        number = data["installment_number"]
        amount = data["amount"]
        if amount is None:  # the whole unpaid fee, as the page showed it
            amount = next(i.fee_due for i in owing if i.number == number)
        try:
            loan_fee_waive(
                loan_id=loan_id,
                installment_number=number,
                amount=amount,
                reason=data["reason"],
                officer=request.user,
                client_ip=client_ip(request),
            )
        except ApplicationError as exc:
            field, sep, text = exc.message.partition(": ")
            shown = f"{field.capitalize()}: {text}" if sep and field.isidentifier() else exc.message
            messages.error(request, shown)
            return exc
        messages.success(
            request,
            f"Waived {format_inr(amount)} of the late fee on installment #{number} "
            f"of loan #{loan_id}.",
        )
        return None

    # --- reversals -----------------------------------------------------------------
    @staticmethod
    def _can_reverse(request, loan) -> bool:
        """Offer reversals to those allowed, on a loan with a standing repayment (or, written
        off, a standing recovery)."""
        return request.user.has_perm("loans.reverse_repayment") and bool(_reversible(loan))

    def reverse_repayment_view(self, request, loan_id):
        """GET: choose the repayment and give the reason. POST: reverse it.

        Runs ``loans.reversals.repayment_reverse``, as the API does: above the loan's
        maker-checker threshold the first officer's reversal is recorded and waits for a
        second officer, who reverses it by making the same choice here. Refusals are shown
        as messages; a missing reason asks again.
        """
        if not request.user.has_perm("loans.reverse_repayment"):
            raise PermissionDenied
        loan = get_object_or_404(Loan.objects.select_related("borrower", "product"), pk=loan_id)
        change_url = reverse("admin:loans_loan_change", args=[loan.pk])
        standing = _reversible(loan)
        written_off = loan.status == Loan.Status.WRITTEN_OFF
        what = "recovery" if written_off else "repayment"
        if not standing:
            messages.error(request, f"Loan #{loan.pk} has no {what} that can be reversed.")
            return HttpResponseRedirect(change_url)
        form = RepaymentReversalForm(
            request.POST if request.method == "POST" else None,
            **{"recoveries" if written_off else "repayments": standing},
        )
        if request.method == "POST":
            if form.is_valid():
                refusal = self._reverse(request, loan.pk, form.cleaned_data, written_off)
                if refusal is None or refusal.code != "reversal_reason_required":
                    return HttpResponseRedirect(change_url)
            else:
                for name, errors in form.errors.items():
                    for error in errors:
                        messages.error(request, f"{form.fields[name].label}: {error}")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "loan": loan,
            "form": form,
            "pending": OfficerActionRequest.objects.filter(
                loan=loan,
                kind=OfficerActionRequest.Kind.REVERSE_RECOVERY
                if written_off
                else OfficerActionRequest.Kind.REVERSE_REPAYMENT,
                status=OfficerActionRequest.Status.PENDING,
            ).select_related("requested_by"),
            "business_date": business_date_get(),
            "change_url": change_url,
            "what": what,
            "title": f"Reverse a {what} of loan #{loan.pk}",
        }
        return TemplateResponse(request, "admin/loans/loan/reverse_repayment.html", context)

    def _reverse(self, request, loan_id, data, written_off) -> ApplicationError | None:
        """Reverse through the service; report the outcome as a message, return any refusal."""
        try:
            if written_off:
                return self._reverse_recovery(request, loan_id, data)
            outcome = repayment_reverse(
                loan_id=loan_id,
                repayment_id=data["repayment_id"],
                officer=request.user,
                reason=data["reason"],
                client_ip=client_ip(request),
            )
        except ApplicationError as exc:
            field, sep, text = exc.message.partition(": ")
            shown = f"{field.capitalize()}: {text}" if sep and field.isidentifier() else exc.message
            messages.error(request, shown)
            return exc
        if isinstance(outcome, OfficerActionRequest):
            messages.warning(
                request,
                f"The reversal of repayment #{data['repayment_id']} "
                f"({format_inr(outcome.amount)}) is above the loan's threshold of "
                f"{format_inr(outcome.threshold)}: recorded, "
                "and carried out when a second officer reverses it too.",
            )
            return None
        outcome.loan.refresh_from_db()
        messages.success(
            request,
            f"Repayment #{outcome.pk} ({format_inr(outcome.amount)}) reversed: the money is "
            f"back in the wallet and the loan's other repayments were re-allocated. Loan "
            f"#{loan_id} is {outcome.loan.status} and owes "
            f"{format_inr(outcome.loan.outstanding_amount)}.",
        )
        return None

    @staticmethod
    def _reverse_recovery(request, loan_id, data) -> None:
        """``loans.reversals.recovery_reverse``; refusals propagate to ``_reverse``."""
        outcome = recovery_reverse(
            loan_id=loan_id,
            recovery_id=data["repayment_id"],
            officer=request.user,
            reason=data["reason"],
            client_ip=client_ip(request),
        )
        if isinstance(outcome, OfficerActionRequest):
            messages.warning(
                request,
                f"The reversal of recovery #{data['repayment_id']} "
                f"({format_inr(outcome.amount)}) is above the loan's threshold of "
                f"{format_inr(outcome.threshold)}: recorded, "
                "and carried out when a second officer reverses it too.",
            )
            return None
        outcome.loan.refresh_from_db()
        messages.success(
            request,
            f"Recovery #{outcome.pk} ({format_inr(outcome.amount)}) reversed: the money is "
            f"back in the wallet. Loan #{loan_id} has {format_inr(outcome.loan.recovered_amount)} "
            "recovered.",
        )
        return None

    # --- write-off ----------------------------------------------------------------
    @staticmethod
    def _can_write_off(request, loan) -> bool:
        return request.user.has_perm("loans.write_off_loan") and loan.status == Loan.Status.ACTIVE

    def write_off_view(self, request, loan_id):
        """GET: what the loan would be written off for today, and a reason box. POST: write
        it off through ``loans.services.loan_write_off``, as the API does.

        Above the loan's maker-checker threshold the first officer's write-off is recorded
        and waits; a different officer's confirms it. Refusals are messages: no reason asks
        again on this page; anything else returns to the loan.
        """
        if not request.user.has_perm("loans.write_off_loan"):
            raise PermissionDenied
        loan = get_object_or_404(Loan.objects.select_related("borrower", "product"), pk=loan_id)
        change_url = reverse("admin:loans_loan_change", args=[loan.pk])
        if loan.status != Loan.Status.ACTIVE:
            messages.error(request, f"Loan #{loan.pk} is {loan.status}: it cannot be written off.")
            return HttpResponseRedirect(change_url)
        reason = request.POST.get("reason", "")
        if request.method == "POST":
            try:
                done = loan_write_off(
                    loan_id=loan.pk,
                    officer=request.user,
                    reason=reason,
                    client_ip=client_ip(request),
                )
            except ApplicationError as exc:
                messages.error(request, f"Loan #{loan.pk}: {exc.message}")
                if exc.code != "write_off_reason_required":
                    return HttpResponseRedirect(change_url)
            else:
                if isinstance(done, OfficerActionRequest):
                    messages.warning(
                        request,
                        f"Write-off of loan #{loan.pk} recorded: its unpaid principal "
                        f"{format_inr(done.amount)} is above the threshold of "
                        f"{format_inr(done.threshold)}, so a second officer must confirm it.",
                    )
                else:
                    messages.success(
                        request,
                        f"Loan #{loan.pk} is now WRITTEN_OFF "
                        f"({format_inr(done.amount)} written off).",
                    )
                return HttpResponseRedirect(change_url)
        today = business_date_get()
        owed = write_off_figures(loan_ids=[loan.pk], day=today).get(loan.pk)
        pending = [r for r in action_request_list_pending(loan=loan) if r.kind == "WRITE_OFF"]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "loan": loan,
            "owed": owed,
            "pending": pending[0] if pending else None,
            "needs_two": owed is not None and owed.principal > loan.maker_checker_threshold,
            "reason": reason or (pending[0].reason if pending else ""),
            "business_date": today,
            "change_url": change_url,
            "title": f"Write off loan #{loan.pk}",
        }
        return TemplateResponse(request, "admin/loans/loan/write_off.html", context)

    # --- statements -----------------------------------------------------------------
    def statement_view(self, request, loan_id):
        """Choose a period and download the loan's statement, as the API gives it."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        loan = get_object_or_404(Loan, pk=loan_id)
        change_url = reverse("admin:loans_loan_change", args=[loan.pk])
        return statement_download(
            request,
            build=lambda **period: loan_statement(loan=loan, **period),
            as_json=lambda statement: LoanStatementOutputSerializer(statement).data,
            as_pdf=loan_statement_pdf,
            filename=loan_statement_filename,
            context={
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": f"Statement of loan #{loan.pk}",
                "subject": f"Loan #{loan.pk}",
                "change_url": change_url,
                "changelist_url": reverse("admin:loans_loan_changelist"),
                "explanation": "The loan's terms, every event with the balance it left, "
                "and the schedule: the statement the borrower gets from the API.",
                "default_period": "from the disbursement to the business date",
            },
        )


# --- Repayments ----------------------------------------------------------------------
@admin.register(Repayment)
class RepaymentAdmin(ReadOnlyAdmin):
    """Every repayment across loans, newest first: to find, check and export payments."""

    list_display = [
        "id",
        "loan_link",
        "borrower_email",
        "amount_inr",
        "principal_inr",
        "interest_inr",
        "fee_inr",
        "value_date",
        "type",
        "status",
        "created_at",
    ]
    list_display_links = ["id"]
    list_filter = ["status", "type", "value_date"]
    list_select_related = ["loan__borrower"]
    search_fields = ["=loan__id", "loan__borrower__email", "loan__borrower__name"]
    search_help_text = "Search by loan number, or the borrower's email or name."
    date_hierarchy = "value_date"
    ordering = ["-pk"]
    show_full_result_count = False
    export_columns = (
        Column("repayment_id", "id", NUMBER),
        Column("loan_id", "loan_id", NUMBER),
        Column("borrower_email", "loan__borrower__email"),
        Column("borrower_name", "loan__borrower__name"),
        Column("value_date", "value_date", DATE),
        Column("amount", "amount", MONEY),
        Column("principal_part", "principal_part", MONEY),
        Column("interest_part", "interest_part", MONEY),
        Column("fee_part", "fee_part", MONEY),
        Column("type", "type"),
        Column("status", "status"),
        Column("journal_entry_id", "entry_id", NUMBER),
        Column("created_at", "created_at", DATETIME),
    )

    @admin.display(description="loan", ordering="loan_id")
    def loan_link(self, repayment):
        url = reverse("admin:loans_loan_change", args=[repayment.loan_id])
        return format_html('<a href="{}">Loan #{}</a>', url, repayment.loan_id)

    @admin.display(description="borrower", ordering="loan__borrower__email")
    def borrower_email(self, repayment):
        return repayment.loan.borrower.email

    amount_inr = inr_column("amount", "amount")
    principal_inr = inr_column("principal_part", "principal")
    interest_inr = inr_column("interest_part", "interest")
    fee_inr = inr_column("fee_part", "late fees")


# --- Loan products -------------------------------------------------------------------
SERVICING_LOCKED = (
    "This product has loans, so these rules are fixed: a loan is serviced on the terms it "
    "was sold on. To sell new terms, add a new product (and untick “is active” here to stop "
    "selling this one)."
)


class LoanProductForm(forms.ModelForm):
    """The admin's product form (the admin names the model and the fields)."""

    def clean(self):
        """Refuse a change of servicing rules if the product has loans (row locked)."""
        cleaned = super().clean()
        changed = set(self.changed_data) & set(LoanProduct.SERVICING_FIELDS)
        if self.instance.pk is not None and changed:
            # The admin's save runs in this transaction: once the row is locked, no loan
            # can be sold on the product until the new rules are committed.
            loan_product_qs_lock_against_new_loans().filter(pk=self.instance.pk).first()
            if Loan.objects.filter(product_id=self.instance.pk).exists():
                raise forms.ValidationError(SERVICING_LOCKED)
        return cleaned


@admin.register(LoanProduct)
class LoanProductAdmin(admin.ModelAdmin):
    """Administrators add and edit products; officers may look (``view_loanproduct``)."""

    form = LoanProductForm
    list_display = [
        "code",
        "name",
        "is_active",
        "principal_band",
        "rate_band",
        "grace_days",
        "has_loans",
    ]
    list_filter = ["is_active"]
    search_fields = ["code", "name"]
    fieldsets = [
        (None, {"fields": ["code", "name", "is_active"]}),
        (
            "Limits and price",
            {
                "fields": [
                    ("min_principal", "max_principal"),
                    ("min_tenure_months", "max_tenure_months"),
                    ("min_rate", "max_rate", "default_rate"),
                    "maker_checker_threshold",
                    "max_open_loans",
                ]
            },
        ),
        (
            "Servicing rules",
            {
                "fields": [
                    "interest_method",
                    "grace_days",
                    "late_fee_kind",
                    ("late_fee_value", "late_fee_min", "late_fee_max"),
                    "allocation_order",
                    "npa_days",
                    "npa_allocation_order",
                    "buckets",
                    "write_off_days",
                ],
                "description": (
                    "Late fee value: the flat amount, or the percentage of the installment's "
                    "unpaid amount. Buckets: [[code, first day past due], …], the first at 0."
                ),
            },
        ),
    ]

    def get_queryset(self, request):
        in_use = Loan.objects.filter(product=OuterRef("pk"))
        return super().get_queryset(request).annotate(in_use=Exists(in_use))

    @admin.display(description="principal")
    def principal_band(self, product):
        return f"{format_inr(product.min_principal)} to {format_inr(product.max_principal)}"

    @admin.display(description="rate (% a year)")
    def rate_band(self, product):
        return f"{product.min_rate} to {product.max_rate} (default {product.default_rate})"

    @admin.display(description="has loans", boolean=True, ordering="in_use")
    def has_loans(self, product):
        return product.in_use

    @staticmethod
    def _in_use(product) -> bool:
        if product is None:
            return False
        if not hasattr(product, "in_use"):  # not read through get_queryset
            product.in_use = Loan.objects.filter(product=product).exists()
        return product.in_use

    def get_fieldsets(self, request, obj=None):
        if not self._in_use(obj):
            return self.fieldsets
        *others, (name, options) = self.fieldsets
        return [*others, (name, {**options, "description": SERVICING_LOCKED})]

    def get_readonly_fields(self, request, obj=None):
        if self._in_use(obj):
            # The code too: loans and applications name their product by it (STANDARD
            # renamed would be re-created from the settings by the next application).
            return ("code", *LoanProduct.SERVICING_FIELDS)
        return ()

    def has_delete_permission(self, request, obj=None):
        # A product with loans stays (PROTECT): it can be made inactive instead.
        if self._in_use(obj):
            return False
        return super().has_delete_permission(request, obj)

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # one at a time, each checked for loans
        return actions


@admin.register(CloseFailure)
class CloseFailureAdmin(ReadOnlyAdmin):
    """Loans the close of business could not close for a day; retried on the next run."""

    list_display = ["loan_link", "day", "error", "created_at"]
    list_display_links = ["day"]  # the loan column links to the loan
    list_filter = ["day"]
    list_select_related = ["loan"]
    search_fields = ["=loan__id"]
    search_help_text = "Search by loan number."
    ordering = ["-day", "loan_id"]
    show_full_result_count = False

    @admin.display(description="loan", ordering="loan_id")
    def loan_link(self, failure):
        url = reverse("admin:loans_loan_change", args=[failure.loan_id])
        return format_html('<a href="{}">Loan #{}</a>', url, failure.loan_id)


@admin.register(OfficerActionRequest)
class OfficerActionRequestAdmin(ReadOnlyAdmin):
    """Officer actions above a loan's threshold: those waiting for a second officer first.

    Confirming one is the same action taken from its loan's page by a different officer.
    """

    list_display = [
        "loan_link",
        "kind",
        "target_id",
        "amount_inr",
        "threshold_inr",
        "status",
        "requested_by",
        "requested_at",
        "confirmed_by",
    ]
    list_display_links = ["kind"]
    list_filter = ["status", "kind"]
    list_select_related = ["requested_by", "confirmed_by"]
    search_fields = ["=loan__id"]
    search_help_text = "Search by loan number."
    ordering = ["-pk"]
    show_full_result_count = False
    amount_inr = inr_column("amount", "amount")
    threshold_inr = inr_column("threshold", "threshold")

    @admin.display(description="loan", ordering="loan_id")
    def loan_link(self, request_):
        url = reverse("admin:loans_loan_change", args=[request_.loan_id])
        return format_html('<a href="{}">Loan #{}</a>', url, request_.loan_id)
