"""The replay invariant (issue 13, item 8), as a property.

For any sequence of repayments, prepayments (reducing the EMI or the tenure), a
foreclosure, closed days, fee waivers and reversals on a loan, the loan after its
reversals equals a fresh copy of it — same product, same terms, a second
borrower, the same deposit — on which only the operations still standing are done, from
scratch, through the live services (``loan_repay``, ``loan_foreclose``,
``loan_fee_waive``, the close of business): installments (their schedule: due date,
principal and interest; paid parts, fees charged and when, waived fees and interest,
``paid_on``), the EMI and the interest scheduled, what the loan owes, its status, days
past due and bucket, each standing repayment's parts, allocations and waived interest,
the loan's share of every ledger account, and the wallet's balance. The books reconcile
after every run.

The fresh copy is serviced by the close's SQL and the repayment path, the reversed loan
by the replay (``loans.replay``), so the property also proves that the replay's fee rule
and allocation are the live ones.

Products vary the rules that matter: grace days (0 to 7), a percentage or a flat fee,
and the non-performing threshold (so that the principal-first order is reached within
the run). Each run is a savepoint rolled back at its end.

``REPLAY_EXAMPLES`` sets the number of runs (default 25, a few seconds each: each day
closed costs time, so a run closes at most ``HORIZON`` days); e.g. ``REPLAY_EXAMPLES=300``
for a long search. ``--hypothesis-show-statistics`` shows what the runs exercised.
"""

import os
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from ledger.selectors import business_date_get
from lendingsite.exceptions import ApplicationError
from loans.models import Loan, LoanProduct, Repayment
from loans.reversals import repayment_reverse
from loans.selectors import loan_ledger_share, loan_payoff_quote
from loans.services import loan_fee_waive, loan_foreclose, loan_repay
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import LoanProductFactory, active_loan
from tests.loans.helpers import assert_books_clean
from tests.loans.servicing.helpers import close_through, set_business_date
from wallets.selectors import wallet_get_for_user
from wallets.services import wallet_deposit

START = date(2026, 1, 10)
DEPOSIT = Decimal("100000.00")
EXAMPLES = int(os.environ.get("REPLAY_EXAMPLES", "25"))

products = st.fixed_dictionaries(
    {
        "grace_days": st.integers(0, 7),
        "late_fee_kind": st.sampled_from(["PERCENT", "FLAT"]),
        "late_fee_value": st.sampled_from([Decimal("2.00"), Decimal("75.00")]),
        "npa_days": st.sampled_from([20, 45, 91]),
    }
)
terms = st.fixed_dictionaries(
    {
        "principal": st.sampled_from(["6000.00", "12000.00", "25000.00"]),
        "tenure": st.integers(2, 6),
        "rate": st.sampled_from(["12.00", "18.00"]),
    }
)
pay = st.tuples(st.just("pay"), st.integers(100, 400_000).map(lambda c: Decimal(c) / 100))
operation = st.one_of(
    st.tuples(st.just("close"), st.integers(1, 40)),
    pay,
    pay,
    st.tuples(st.just("waive"), st.integers(1, 100)),  # percent of the oldest unpaid fee
    st.tuples(st.just("reverse"), st.integers(0, 10)),  # which standing payment
    # A prepayment of this percentage of the payoff total (refused when not above what
    # is due, or when it would clear the principal).
    st.tuples(
        st.just("prepay"),
        st.tuples(st.sampled_from(["REDUCE_EMI", "REDUCE_TENURE"]), st.integers(5, 95)),
    ),
    st.tuples(st.just("foreclose"), st.just(0)),  # pay the payoff total of the day
)
# Every run: some days, a payment, then anything, then a reversal (of any standing payment).
scenarios = st.tuples(
    products,
    terms,
    st.tuples(st.tuples(st.just("close"), st.integers(1, 40)), pay),
    st.lists(operation, min_size=1, max_size=10),
    st.tuples(st.just("reverse"), st.integers(0, 10)),
)
# Days closed in a run, at most: each day closed costs time, for both loans.
HORIZON = 150


def _within_horizon(ops: list) -> list:
    """The operations, with closes cut so that no more than HORIZON days are closed."""
    kept, days = [], 0
    for kind, value in ops:
        if kind == "close":
            value = min(value, HORIZON - days)
            if value <= 0:
                continue
            days += value
        kept.append((kind, value))
    return kept


def _attempt(function):
    """Run a service in a savepoint; None when it refuses.

    A loan serviced by the live services is always replayable: a reversal refused as
    ``not_replayable`` would mean the replay and the live rules disagree.
    """
    try:
        with transaction.atomic():
            return function()
    except ApplicationError as refusal:
        assert refusal.code != "not_replayable", refusal.message
        return None


def _state(loan: Loan) -> dict:
    loan.refresh_from_db()
    standing = loan.repayments.filter(status=Repayment.Status.SUCCESS).order_by("entry_id")
    share = {
        ("wallet" if code.startswith("wallet:") else code): amount
        for code, amount in loan_ledger_share(loan=loan).items()
    }
    return {
        "installments": list(
            loan.installments.order_by("number").values_list(
                "number",
                "due_date",
                "principal",
                "interest",
                "interest_waived",
                "principal_paid",
                "interest_paid",
                "fee_charged",
                "fee_charged_on",
                "fee_paid",
                "fee_waived",
                "paid_on",
            )
        ),
        "loan": (
            loan.status,
            loan.emi_amount,
            loan.total_interest,
            loan.outstanding_amount,
            loan.days_past_due,
            loan.delinquency_bucket,
        ),
        "repayments": [
            (
                r.value_date,
                r.amount,
                r.principal_part,
                r.interest_part,
                r.fee_part,
                r.type,
                r.purpose,
                r.interest_waived,
                list(
                    r.allocations.values_list("installment__number", "fee", "interest", "principal")
                ),
            )
            for r in standing
        ],
        # Entries whose postings net to nothing on an account are left out of the share.
        "ledger": {code: amount for code, amount in share.items() if amount},
        "wallet": wallet_get_for_user(user=loan.borrower).balance,
    }


def _run(loan: Loan, officer, ops, *, standing: dict | None = None) -> list:
    """Do ``ops`` on ``loan`` from its disbursement; return each operation's outcome.

    Without ``standing``: everything, recording the outcomes (a repayment, a waiver's
    installment and amount, a reversal; None when refused or not applicable). With it
    ({operation index: its outcome in the first run}): only the repayments and waivers
    still standing, each of which must then be accepted, and no reversal.
    """
    done = []
    for index, (kind, value) in enumerate(ops):
        if kind == "close":
            close_through(business_date_get() + timedelta(days=value - 1))
            done.append(None)
        elif standing is not None:
            if kind == "pay" and index in standing:
                loan_repay(
                    loan_id=loan.pk,
                    borrower=loan.borrower,
                    amount=value,
                    idempotency_key=str(index),
                )
            elif kind == "prepay" and index in standing:
                loan_repay(
                    loan_id=loan.pk,
                    borrower=loan.borrower,
                    amount=standing[index].amount,
                    idempotency_key=str(index),
                    prepayment=value[0],
                )
            elif kind == "foreclose" and index in standing:
                loan_foreclose(
                    loan_id=loan.pk,
                    borrower=loan.borrower,
                    amount=standing[index].amount,
                    idempotency_key=str(index),
                )
            elif kind == "waive" and index in standing:
                number, amount = standing[index]
                loan_fee_waive(
                    loan_id=loan.pk,
                    installment_number=number,
                    amount=amount,
                    reason="goodwill",
                    officer=officer,
                )
            done.append(None)
        elif kind == "pay":
            done.append(
                _attempt(
                    lambda: loan_repay(
                        loan_id=loan.pk,
                        borrower=loan.borrower,
                        amount=value,
                        idempotency_key=str(index),
                    )
                )
            )
        elif kind in ("prepay", "foreclose"):
            loan.refresh_from_db()
            total = loan_payoff_quote(loan=loan, as_of=business_date_get()).total
            if kind == "prepay":
                amount = (total * value[1] / 100).quantize(Decimal("0.01"))
                pay = lambda: loan_repay(  # noqa: E731
                    loan_id=loan.pk,
                    borrower=loan.borrower,
                    amount=amount,
                    idempotency_key=str(index),
                    prepayment=value[0],
                )
            else:
                pay = lambda: loan_foreclose(  # noqa: E731
                    loan_id=loan.pk,
                    borrower=loan.borrower,
                    amount=total,
                    idempotency_key=str(index),
                )
            done.append(_attempt(pay) if total > 0 else None)
        elif kind == "waive":
            owing = loan.installments.filter(paid_on__isnull=True, fee_charged__gt=0)
            installment = next((i for i in owing.order_by("number") if i.fee_due > 0), None)
            if installment is None:
                done.append(None)
                continue
            share = (installment.fee_due * value / 100).quantize(Decimal("0.01"))
            amount = max(share, Decimal("0.01"))
            made = _attempt(
                lambda: loan_fee_waive(
                    loan_id=loan.pk,
                    installment_number=installment.number,
                    amount=amount,
                    reason="goodwill",
                    officer=officer,
                )
            )
            done.append((installment.number, amount) if made else None)
        else:  # reverse
            payments = loan.repayments.filter(status=Repayment.Status.SUCCESS).order_by("entry_id")
            payments = list(payments)
            if not payments:
                done.append(None)
                continue
            target = payments[value % len(payments)]
            done.append(
                _attempt(
                    lambda: repayment_reverse(
                        loan_id=loan.pk, repayment_id=target.pk, officer=officer, reason="test"
                    )
                )
            )
    return done


@pytest.mark.django_db
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(scenario=scenarios)
def test_a_loan_after_reversals_equals_a_fresh_loan_serviced_with_the_standing_operations(
    scenario,
):
    rules, loan_terms, start, middle, last = scenario
    ops = _within_horizon([*start, *middle, last])
    with transaction.atomic():
        officer = OfficerFactory()
        product = LoanProductFactory(**rules)
        assert LoanProduct.objects.get(pk=product.pk).grace_days == rules["grace_days"]

        set_business_date(START)
        reversed_loan = active_loan(BorrowerFactory(), officer, product=product.code, **loan_terms)
        wallet_deposit(user=reversed_loan.borrower, amount=DEPOSIT, idempotency_key="in")
        done = _run(reversed_loan, officer, ops)
        reversed_ids = set(
            reversed_loan.repayments.filter(status=Repayment.Status.REVERSED).values_list(
                "pk", flat=True
            )
        )
        standing = {
            index: outcome
            for index, outcome in enumerate(done)
            if (
                ops[index][0] in ("pay", "prepay", "foreclose")
                and outcome is not None
                and outcome.pk not in reversed_ids
            )
            or (ops[index][0] == "waive" and outcome is not None)
        }
        after_reversals = _state(reversed_loan)

        set_business_date(START)
        fresh = active_loan(BorrowerFactory(), officer, product=product.code, **loan_terms)
        wallet_deposit(user=fresh.borrower, amount=DEPOSIT, idempotency_key="in")
        _run(fresh, officer, ops, standing=standing)
        from_scratch = _state(fresh)

        # What the run exercised (shown by --hypothesis-show-statistics).
        event(f"reversals carried out: {min(len(reversed_ids), 3)}")
        fees = any(row[3] for row in from_scratch["installments"])
        event(f"late fees charged: {fees}")
        event(f"loan at the end: {from_scratch['loan'][0]}")
        purposes = set(
            reversed_loan.repayments.exclude(purpose="ORDINARY").values_list("purpose", flat=True)
        )
        event(f"prepayments and foreclosures made: {sorted(purposes)}")
        if reversed_loan.schedule_versions.filter(reason="REVERSAL").exists():
            event("a reversal recomputed the schedule")
        if reversed_loan.events.filter(source="CLOSED", target="ACTIVE").exists():
            event("a CLOSED loan reopened")
        if from_scratch["loan"][2] >= rules["npa_days"]:
            event("non-performing at the end")
        assert after_reversals == from_scratch
        assert_books_clean()
        transaction.set_rollback(True)
