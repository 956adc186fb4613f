"""Hypothesis drives the wallet and loan state machine through the API against a model.

The model is the business rules in a few lines: a balance, the business date, and per
loan a status, who approved it and its installments, with what is paid and charged on
each. Closing business days (``manage.py close_business_day``) charges late fees and
ages the loans; repayments pay fees first. After every step the API must agree with the
model, and after every run the books must reconcile.

The servicing rules, as the model knows them (the STANDARD product; the code has them
in loans/close_of_business.py and loans/allocation.py):

- installment k of a loan disbursed on business date B is due
  ``add_months(add_months(B, 1), k - 1)``, months clamped to the month's end;
- the close of day D charges an installment still unpaid, without a fee yet, whose due
  date is more than 5 days before D + 1, a fee of 2 % of its unpaid principal and
  interest, half-up to the cent, at least 100.00 and at most 1,000.00; the business
  date becomes D + 1;
- days past due: the business date less the due date of the oldest installment not
  fully paid (fee included) and due before it, or 0;
- a repayment pays installment by installment, oldest first, each one's fee, then its
  interest, then its principal; at 91 days past due or more, all principal first
  (oldest installment first), then all interest, then all fees.

Every run starts with a loan granted on its first business date. Days are closed one
at a time, several at a time (up to 40), or until a loan is a chosen number of days past
due (the edges of the grace days and of the buckets, and 91); the business date never
goes more than ``HORIZON`` past the first one, since each day closed costs time. Each
run is a savepoint rolled back at its end, so each starts on its own business date with
nothing else on the books.
"""

import calendar
import json
import os
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
MAX_PRINCIPAL = Decimal("500000.00")
MAKER_CHECKER = Decimal("200000.00")
MAX_OPEN = 2
EXAMPLES = int(os.environ.get("RELIABILITY_STATEFUL_EXAMPLES", "6"))
STEPS = int(os.environ.get("RELIABILITY_STATEFUL_STEPS", "30"))

amounts = st.decimals(min_value=CENT, max_value=Decimal("300000.00"), places=2)
principals = st.one_of(
    st.decimals(min_value=Decimal("100.00"), max_value=Decimal("50000.00"), places=2),
    st.decimals(min_value=MAKER_CHECKER, max_value=MAX_PRINCIPAL, places=2),
    st.just(MAX_PRINCIPAL + CENT),
)
tenures = st.one_of(st.integers(1, 60), st.sampled_from([61, 120]))
rates = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("50.00"), places=2)
# Loans that are granted at once (``borrow``).
small_principals = st.decimals(
    min_value=Decimal("1000.00"), max_value=Decimal("50000.00"), places=2
)
short_tenures = st.integers(1, 24)
# First business dates: any day, and month ends (due dates clamp to shorter months).
starts = st.one_of(
    st.dates(min_value=date(2026, 1, 1), max_value=date(2028, 12, 31)),
    st.sampled_from([date(2027, 1, 31), date(2028, 1, 31), date(2027, 8, 31), date(2028, 2, 29)]),
)

# The STANDARD product's servicing rules.
GRACE_DAYS = 5
FEE_PERCENT, FEE_MIN, FEE_MAX = Decimal("2"), Decimal("100.00"), Decimal("1000.00")
NPA_DAYS = 91
BUCKETS = [
    ("CURRENT", 0),
    ("DPD_1_30", 1),
    ("DPD_31_60", 31),
    ("DPD_61_90", 61),
    ("DPD_91_PLUS", 91),
]
# The business date never moves more than this past an example's first day.
HORIZON = timedelta(days=130)


def months_later(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def late_fee(unpaid: Decimal) -> Decimal:
    fee = (unpaid * FEE_PERCENT / 100).quantize(CENT, rounding=ROUND_HALF_UP)
    return min(max(fee, FEE_MIN), FEE_MAX)


def bucket(days_past_due: int) -> str:
    return [code for code, first in BUCKETS if first <= days_past_due][-1]


@dataclass
class ModelInstallment:
    due: date
    principal: Decimal
    interest: Decimal
    principal_paid: Decimal = ZERO
    interest_paid: Decimal = ZERO
    fee: Decimal = ZERO
    fee_paid: Decimal = ZERO

    def owed(self, part: str) -> Decimal:
        return getattr(self, part) - getattr(self, f"{part}_paid")

    @property
    def unpaid(self) -> Decimal:
        return self.owed("principal") + self.owed("interest") + self.owed("fee")


@dataclass
class ModelLoan:
    principal: Decimal
    total_interest: Decimal
    status: str = "APPLIED"
    approved_by: int | None = None
    installments: list[ModelInstallment] = field(default_factory=list)

    @property
    def outstanding(self) -> Decimal:
        return sum((i.unpaid for i in self.installments), ZERO)

    @property
    def fees_due(self) -> Decimal:
        return sum((i.owed("fee") for i in self.installments), ZERO)

    def overdue(self, today: date) -> Decimal:
        return sum((i.unpaid for i in self.installments if i.due < today), ZERO)

    def days_past_due(self, today: date) -> int:
        late = [i.due for i in self.installments if i.unpaid and i.due < today]
        return (today - min(late)).days if late else 0

    def charge_late_fees(self, through: date) -> list[Decimal]:
        """Close the days up to ``through``: nothing is paid meanwhile, so an installment
        is charged at most once, on its unpaid amount as it stands now."""
        charged = []
        for i in self.installments:
            if i.unpaid and not i.fee and (through + timedelta(days=1) - i.due).days > GRACE_DAYS:
                i.fee = late_fee(i.owed("principal") + i.owed("interest"))
                charged.append(i.fee)
        return charged

    def pay(self, amount: Decimal, today: date) -> dict[str, Decimal]:
        """Allocate ``amount`` (at most what is owed); return what went to each part."""
        unpaid = [i for i in self.installments if i.unpaid]
        if self.days_past_due(today) >= NPA_DAYS:
            steps = [(i, part) for part in ("principal", "interest", "fee") for i in unpaid]
        else:
            steps = [(i, part) for i in unpaid for part in ("fee", "interest", "principal")]
        split = dict.fromkeys(("principal", "interest", "fee"), ZERO)
        left = amount
        for installment, part in steps:
            paid = min(left, installment.owed(part))
            setattr(installment, f"{part}_paid", getattr(installment, f"{part}_paid") + paid)
            split[part] += paid
            left -= paid
        assert left == 0
        return split


class LendingMachine(RuleBasedStateMachine):
    # Counted over all examples, for the report: what the runs reached.
    steps = 0
    days_closed = 0
    late_fees = 0
    npa_payments = 0

    @initialize(start=starts, principal=small_principals, tenure=short_tenures, rate=rates)
    def open_accounts(self, start, principal, tenure, rate):
        """A borrower, two officers, and a loan granted on the first business date: every
        run has a loan to service (due dates are a month apart; days cost time)."""
        self.example = transaction.atomic()
        self.example.__enter__()
        set_business_date(start)
        self.today = start
        self.horizon = start + HORIZON
        self.borrower = BorrowerFactory()
        self.api = client_for(self.borrower)
        self.officers = [client_for(OfficerFactory()) for _ in range(2)]
        self.balance = Decimal("0.00")
        self.loans: dict[int, ModelLoan] = {}
        self.answers: dict[tuple[str, str], tuple[dict, int, dict]] = {}
        self.serial = 0
        self.borrow(principal, tenure, rate)

    # --- helpers --------------------------------------------------------------------
    def _money(self, path: str, payload: dict):
        type(self).steps += 1
        self.serial += 1
        key = f"key-{self.serial}"
        response = self.api.post(path, {**payload, "idempotency_key": key}, format="json")
        self.answers[(path, key)] = (payload, response.status_code, response.json())
        return response

    def _active(self) -> dict[int, ModelLoan]:
        return {loan_id: loan for loan_id, loan in self.loans.items() if loan.status == "ACTIVE"}

    def _open_loans(self, excluding=None) -> int:
        return sum(
            1
            for loan_id, loan in self.loans.items()
            if loan.status in ("APPROVED", "ACTIVE") and loan_id != excluding
        )

    # --- the wallet -----------------------------------------------------------------
    @rule(amount=amounts)
    def deposit(self, amount):
        response = self._money("/api/wallet/deposit", {"amount": str(amount)})

        assert response.status_code == 201, response.content
        self.balance += amount
        assert Decimal(response.json()["balance"]) == self.balance

    @rule(amount=amounts)
    def withdraw(self, amount):
        response = self._money("/api/wallet/withdraw", {"amount": str(amount)})

        if amount > self.balance:
            assert response.status_code == 400
            assert response.json()["code"] == "insufficient_funds"
        else:
            assert response.status_code == 201, response.content
            self.balance -= amount

    # --- loans ----------------------------------------------------------------------
    @rule(principal=principals, tenure=tenures, rate=rates)
    def apply(self, principal, tenure, rate):
        type(self).steps += 1
        body = {"principal_amount": str(principal), "tenure_months": tenure, "interest_rate": rate}
        response = self.api.post("/api/loans/apply", body, format="json")

        if principal > MAX_PRINCIPAL:
            assert response.json()["code"] == "principal_above_maximum"
        elif tenure > 60:
            assert response.json()["code"] == "tenure_out_of_range"
        elif self._open_loans() >= MAX_OPEN:
            assert response.json()["code"] == "too_many_open_loans"
        else:
            assert response.status_code == 201, response.content
            loan = response.json()
            assert loan["status"] == "APPLIED"
            self.loans[loan["id"]] = ModelLoan(principal, Decimal(loan["total_interest"]))
            return
        assert response.status_code == 400

    @rule(principal=small_principals, tenure=short_tenures, rate=rates)
    def borrow(self, principal, tenure, rate):
        """Apply and be approved at once: a loan to service (most applications above are
        refused or wait for a decision)."""
        before = set(self.loans)
        self.apply(principal, tenure, rate)
        (loan_id,) = set(self.loans) - before or (None,)
        if loan_id is not None:
            self.decide_on(loan_id, officer=0, approve=True)

    @precondition(lambda self: self.loans)
    @rule(data=st.data(), officer=st.integers(0, 1), approve=st.booleans())
    def decide(self, data, officer, approve):
        self.decide_on(data.draw(st.sampled_from(sorted(self.loans))), officer, approve)

    def decide_on(self, loan_id: int, officer: int, approve: bool) -> None:
        type(self).steps += 1
        loan = self.loans[loan_id]
        body = {"loan_id": loan_id, "approved": approve, "rejection_reason": "Not this time."}
        response = self.officers[officer].post("/api/loans/admin/approve", body, format="json")

        if not approve:
            if loan.status == "APPLIED":
                assert response.status_code == 200, response.content
                loan.status = "REJECTED"
            else:
                assert response.status_code == 409
            return
        if loan.status == "APPLIED":
            if self._open_loans(excluding=loan_id) >= MAX_OPEN:
                assert response.json()["code"] == "too_many_open_loans"
                return
            loan.approved_by = officer
            if loan.principal >= MAKER_CHECKER:
                loan.status = "APPROVED"
            else:
                self._disbursed(loan_id, loan)
        elif loan.status == "APPROVED":
            if loan.approved_by == officer:
                assert response.status_code == 409
                assert response.json()["code"] == "maker_checker"
                return
            self._disbursed(loan_id, loan)
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "invalid_state"
            return
        assert response.status_code == 200, response.content
        assert response.json()["status"] == loan.status

    def _disbursed(self, loan_id: int, loan: ModelLoan) -> None:
        """ACTIVE: the schedule's amounts are the API's (the schedule arithmetic has its
        own tests); its due dates are the model's, from the business date."""
        loan.status = "ACTIVE"
        self.balance += loan.principal
        rows = self.api.get(f"/api/loans/{loan_id}/schedule").json()
        first_due = months_later(self.today, 1)
        loan.installments = [
            ModelInstallment(
                months_later(first_due, row["number"] - 1),
                Decimal(row["principal"]),
                Decimal(row["interest"]),
            )
            for row in rows
        ]
        assert [row["due_date"] for row in rows] == [i.due.isoformat() for i in loan.installments]
        assert sum(i.principal for i in loan.installments) == loan.principal
        assert loan.outstanding == loan.principal + loan.total_interest

    @precondition(lambda self: self.loans)
    @rule(data=st.data(), share=st.sampled_from(["all", "part", "too_much", "tiny"]))
    def repay(self, data, share):
        self._repay(data.draw(st.sampled_from(sorted(self.loans))), share)

    @precondition(lambda self: self._overdue())
    @rule(data=st.data(), share=st.sampled_from(["overdue", "fees", "part", "tiny", "all"]))
    def repay_an_overdue_loan(self, data, share):
        """Catch up on a loan past due: fees first, or all principal first at 91 days."""
        self._repay(data.draw(st.sampled_from(self._overdue())), share)

    def _overdue(self) -> list[int]:
        return sorted(i for i, loan in self._active().items() if loan.days_past_due(self.today))

    def _repay(self, loan_id: int, share: str) -> None:
        loan = self.loans[loan_id]
        owed = loan.outstanding
        amount = {
            "all": owed,
            "overdue": loan.overdue(self.today),
            "fees": loan.fees_due,
            "part": (owed / 3).quantize(CENT),
            "too_much": owed + CENT,
            "tiny": CENT,
        }[share]
        if amount <= 0:
            amount = CENT
        response = self._money(
            "/api/repayments/make-payment", {"loan_id": loan_id, "amount": str(amount)}
        )

        if loan.status != "ACTIVE":
            assert response.status_code == 409
        elif amount > owed:
            assert response.json()["code"] == "amount_exceeds_outstanding"
        elif amount > self.balance:
            assert response.json()["code"] == "insufficient_funds"
        else:
            assert response.status_code == 201, response.content
            self.balance -= amount
            if loan.days_past_due(self.today) >= NPA_DAYS:
                type(self).npa_payments += 1
            split = loan.pay(amount, self.today)
            if loan.outstanding == 0:
                loan.status = "CLOSED"
            body = response.json()
            assert body["loan_closed"] is (loan.status == "CLOSED")
            assert Decimal(body["new_outstanding"]) == loan.outstanding
            parts = {part: Decimal(body["repayment"][f"{part}_part"]) for part in split}
            assert parts == split
            return
        assert response.status_code in (400, 409)

    # --- the close of business ---------------------------------------------------------
    @precondition(lambda self: self.today < self.horizon)
    @rule()
    def close_the_day(self):
        """``close_business_day --date <business date>``: the nightly run."""
        self._close(days=1)

    @precondition(lambda self: self.today < self.horizon and self._active())
    @rule(days=st.integers(2, 40))
    def close_several_days(self, days):
        """Several days at once, while a loan is active: due dates are a month apart."""
        self._close(days=min(days, (self.horizon - self.today).days))

    @precondition(lambda self: self.today < self.horizon and self._late_candidates())
    @rule(data=st.data(), late=st.sampled_from([1, GRACE_DAYS, GRACE_DAYS + 1, 31, 61, NPA_DAYS]))
    def close_until_days_past_due(self, data, late):
        """Close days until a loan's oldest unpaid installment is ``late`` days past
        due: the edges of the grace days and of the buckets, and non-performing loans,
        in a few steps."""
        loan = self.loans[data.draw(st.sampled_from(self._late_candidates()))]
        oldest = min(i.due for i in loan.installments if i.unpaid)
        days = (oldest + timedelta(days=late) - self.today).days
        self._close(days=max(1, min(days, (self.horizon - self.today).days)))

    def _late_candidates(self) -> list[int]:
        return sorted(
            loan_id
            for loan_id, loan in self._active().items()
            if loan.days_past_due(self.today) < NPA_DAYS
        )

    def _close(self, days: int) -> None:
        """``close_business_day --allow-future --date <business date + days - 1>``."""
        type(self).steps += 1
        through = self.today + timedelta(days=days - 1)
        active = self._active()

        summary = close_through(through)

        fees = [fee for loan in active.values() for fee in loan.charge_late_fees(through)]
        self.today = through + timedelta(days=1)
        type(self).days_closed += days
        type(self).late_fees += len(fees)
        reported = {
            re.sub(r"\(.*\)", "", name).strip(): value.strip()
            for name, _, value in (line.partition(":") for line in summary.splitlines()[1:])
        }
        assert reported["loans closed"] == str(len(active) * days), summary
        assert reported["late fees charged"] == f"{len(fees)} ({sum(fees, ZERO):.2f})", summary
        assert reported["failures"] == "0", summary
        for loan_id, loan in active.items():
            rows = self.api.get(f"/api/loans/{loan_id}/schedule").json()
            assert [Decimal(row["fee_charged"]) for row in rows] == [
                i.fee for i in loan.installments
            ]
            assert [
                (Decimal(row["principal_paid"]), Decimal(row["interest_paid"])) for row in rows
            ] == [(i.principal_paid, i.interest_paid) for i in loan.installments]

    # --- retries --------------------------------------------------------------------
    @precondition(lambda self: self.answers)
    @rule(data=st.data())
    def retry_with_the_same_body(self, data):
        type(self).steps += 1
        path, key = data.draw(st.sampled_from(sorted(self.answers)))
        payload, status, body = self.answers[(path, key)]

        response = self.api.post(path, {**payload, "idempotency_key": key}, format="json")

        assert (response.status_code, response.json()) == (status, body)
        assert response["Idempotent-Replayed"] == "true"

    @precondition(lambda self: self.answers)
    @rule(data=st.data())
    def retry_with_another_body(self, data):
        type(self).steps += 1
        path, key = data.draw(st.sampled_from(sorted(self.answers)))
        payload, _, _ = self.answers[(path, key)]
        changed = {**payload, "amount": str(Decimal(payload["amount"]) + CENT)}

        response = self.api.post(path, {**changed, "idempotency_key": key}, format="json")

        assert response.status_code == 422
        assert response.json()["code"] == "idempotency_key_reused"

    # --- the API agrees with the model ----------------------------------------------
    @invariant()
    def the_api_agrees_with_the_model(self):
        if not hasattr(self, "api"):
            return
        balance = self.api.get("/api/wallet/balance").json()["balance"]
        assert Decimal(balance) == self.balance
        for loan in self.api.get("/api/loans/my-loans").json():
            model = self.loans[loan["id"]]
            days = model.days_past_due(self.today)
            assert loan["business_date"] == self.today.isoformat()
            assert loan["status"] == model.status
            assert Decimal(loan["outstanding_amount"]) == model.outstanding
            assert Decimal(loan["fees_due"]) == model.fees_due
            if loan["status"] == "ACTIVE":
                assert Decimal(loan["overdue_amount"]) == model.overdue(self.today)
            assert loan["days_past_due"] == days
            assert loan["delinquency_bucket"] == bucket(days)

    def teardown(self):
        if not hasattr(self, "example"):
            return
        try:
            if hasattr(self, "api"):
                assert_books_clean()
        finally:
            transaction.set_rollback(True)
            self.example.__exit__(None, None, None)


@pytest.mark.django_db
def test_the_api_follows_the_model_of_wallets_and_loans():
    for counter in ("steps", "days_closed", "late_fees", "npa_payments"):
        setattr(LendingMachine, counter, 0)
    run_state_machine_as_test(
        LendingMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
    report_dir = os.environ.get("RELIABILITY_REPORT_DIR")
    if report_dir:
        Path(report_dir, "stateful.json").write_text(
            json.dumps(
                {
                    "examples": EXAMPLES,
                    "max_steps": STEPS,
                    "steps": LendingMachine.steps,
                    "days_closed": LendingMachine.days_closed,
                    "late_fees": LendingMachine.late_fees,
                    "npa_payments": LendingMachine.npa_payments,
                }
            )
        )
    assert LendingMachine.steps > 0
