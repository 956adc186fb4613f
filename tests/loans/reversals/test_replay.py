"""The replay as a pure function (no database): figures worked out by hand."""

from datetime import date
from decimal import Decimal

import pytest

from loans.replay import InstallmentState, Payment, ReplayConflictError, Rules, Waiver, replay

D = Decimal
RULES = Rules(
    grace_days=5,
    late_fee_kind="PERCENT",
    late_fee_value=D("2.00"),
    late_fee_min=D("100.00"),
    late_fee_max=D("1000.00"),
    allocation_order="INSTALLMENT_FEES_INTEREST_PRINCIPAL",
    npa_days=30,
    npa_allocation_order="PRINCIPAL_INTEREST_FEES",
)


def _schedule():
    """Two installments of 1,000.00 principal and 100.00 interest, due 10 Feb and 10 Mar."""
    return [
        InstallmentState(1, date(2026, 2, 10), D("1000.00"), D("100.00")),
        InstallmentState(2, date(2026, 3, 10), D("1000.00"), D("100.00")),
    ]


def test_a_fee_falls_due_at_the_close_of_due_date_plus_grace_and_is_paid_first():
    done = replay(
        rules=RULES,
        schedule=_schedule(),
        events=[Payment(key=1, value_date=date(2026, 2, 20), amount=D("300.00"), seq=1)],
        closed_through=date(2026, 2, 19),
    )

    first = done.installments[1]
    # 2 % of 1,100.00 = 22.00, the minimum 100.00, charged at the close of 15 Feb; the
    # 300.00 of 20 Feb (10 days past due, performing) pays the fee, the interest, then 100.00.
    assert (first.fee_charged, first.fee_charged_on) == (D("100.00"), date(2026, 2, 15))
    assert (first.fee_paid, first.interest_paid, first.principal_paid) == (
        D("100.00"),
        D("100.00"),
        D("100.00"),
    )
    assert done.outstanding == D("2200.00") + D("100.00") - D("300.00")


def test_a_non_performing_loan_pays_principal_first():
    done = replay(
        rules=RULES,
        schedule=_schedule(),
        events=[Payment(key=1, value_date=date(2026, 3, 12), amount=D("1500.00"), seq=1)],
        closed_through=date(2026, 3, 11),
    )

    # 12 Mar: 30 days past due (#1 due 10 Feb) = npa_days: all principal first, #1 then #2.
    assert [(s.number, s.fee, s.interest, s.principal) for s in done.shares[1]] == [
        (1, D("0.00"), D("0.00"), D("1000.00")),
        (2, D("0.00"), D("0.00"), D("500.00")),
    ]


def test_events_that_cannot_stand_are_named():
    with pytest.raises(
        ReplayConflictError, match=r"waiver 7 of 150\.00 on installment #1"
    ) as waived:
        replay(
            rules=RULES,
            schedule=_schedule(),
            events=[
                Waiver(key=7, value_date=date(2026, 2, 20), number=1, amount=D("150.00"), seq=1)
            ],
            closed_through=date(2026, 2, 19),
        )
    with pytest.raises(ReplayConflictError, match=r"Repayment 3 of 2200\.01") as paid:
        replay(
            rules=RULES,
            schedule=_schedule(),
            events=[Payment(key=3, value_date=date(2026, 1, 20), amount=D("2200.01"), seq=1)],
            closed_through=date(2026, 1, 19),
        )

    assert waived.value.event.key == 7
    assert paid.value.event.key == 3
