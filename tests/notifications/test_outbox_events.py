"""Every event a borrower hears about writes its outbox row in its own transaction.

Figures are worked out by hand here (or by ``reducing_emi``, the textbook formula in
exact fractions), never read back from the code under test.
"""

from datetime import date
from decimal import Decimal

import pytest
from django.db import transaction

from loans.close_of_business import loans_close_through
from loans.exceptions import RepaymentError
from loans.models import Loan, Repayment
from loans.services import loan_approve, loan_fee_waive, loan_reject
from notifications.models import Notification
from notifications.services import NotificationToAdd, notifications_add_many
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan, applied_loan, repaid
from tests.loans.servicing.helpers import close_through, reducing_emi, set_business_date
from wallets.services import wallet_deposit

Kind = Notification.Kind
START = date(2026, 1, 10)  # disbursement day: installments fall due on the 10th
EMI = reducing_emi("12000.00", "12", 12)  # 1,066.19 (12,000.00 over 12 months at 12 %)


def rows(loan, kind=None):
    found = Notification.objects.filter(loan_id=loan.pk).order_by("id")
    return list(found.filter(kind=kind) if kind else found)


def kinds(loan) -> list[str]:
    return [row.kind for row in rows(loan)]


@pytest.fixture
def officer(db):
    return OfficerFactory()


@pytest.fixture
def loan(db, officer):
    set_business_date(START)
    return active_loan(BorrowerFactory(), officer, principal="12000.00", tenure=12)


@pytest.mark.django_db
def test_an_application_and_its_approval_write_received_approved_and_disbursed(officer):
    set_business_date(START)
    borrower = BorrowerFactory()

    loan = applied_loan(borrower, principal="12000.00", tenure=12, rate="12.00")
    assert kinds(loan) == [Kind.APPLICATION_RECEIVED]
    received = rows(loan)[0]
    assert received.recipient_id == borrower.pk
    assert received.business_date == START
    assert received.channel == Notification.Channel.EMAIL
    assert received.state == Notification.State.PENDING
    assert received.event_key == f"application_received:{loan.pk}"
    assert received.payload == {
        "principal_amount": "12000.00",
        "tenure_months": 12,
        "interest_rate": "12.00",
        "emi_amount": str(EMI),
    }

    loan_approve(loan_id=loan.pk, officer=officer)

    assert kinds(loan) == [Kind.APPLICATION_RECEIVED, Kind.LOAN_APPROVED, Kind.LOAN_DISBURSED]
    approved, disbursed = rows(loan)[1:]
    assert approved.payload == {"principal_amount": "12000.00", "awaiting_disbursement": False}
    owed = sum(loan.installments.values_list("total", flat=True), Decimal("0.00"))
    assert disbursed.payload == {
        "principal_amount": "12000.00",
        "emi_amount": str(EMI),
        "tenure_months": 12,
        "first_due_date": "2026-02-10",
        "outstanding_amount": str(owed),
    }


@pytest.mark.django_db
def test_a_loan_for_two_officers_is_notified_approved_then_disbursed(officer):
    set_business_date(START)
    loan = applied_loan(BorrowerFactory(), principal="250000.00", tenure=24)

    loan_approve(loan_id=loan.pk, officer=officer)
    assert kinds(loan) == [Kind.APPLICATION_RECEIVED, Kind.LOAN_APPROVED]
    assert rows(loan, Kind.LOAN_APPROVED)[0].payload["awaiting_disbursement"] is True

    loan_approve(loan_id=loan.pk, officer=OfficerFactory())
    assert kinds(loan)[-1] == Kind.LOAN_DISBURSED


@pytest.mark.django_db
def test_a_rejection_is_notified_with_its_reason(officer):
    set_business_date(START)
    loan = applied_loan(BorrowerFactory(), principal="30000.00")

    loan_reject(loan_id=loan.pk, officer=officer, reason="  Income not shown ")

    rejected = rows(loan, Kind.LOAN_REJECTED)
    assert len(rejected) == 1
    assert rejected[0].payload == {"principal_amount": "30000.00", "reason": "Income not shown"}


@pytest.mark.django_db
def test_a_repayment_is_notified_with_its_split_and_a_full_one_closes_the_loan(officer):
    """1,200.00 over one month at 12 %: interest 12.00, so 1,212.00 repays it all."""
    set_business_date(START)
    loan = active_loan(BorrowerFactory(), officer, principal="1200.00", tenure=1)
    wallet_deposit(user=loan.borrower, amount=Decimal("12.00"), idempotency_key="top-up")

    repayment = repaid(loan, "1212.00")

    received = rows(loan, Kind.REPAYMENT_RECEIVED)
    assert [row.event_key for row in received] == [f"repayment_received:{repayment.pk}"]
    assert received[0].payload == {
        "amount": "1212.00",
        "fee_part": "0.00",
        "interest_part": "12.00",
        "principal_part": "1200.00",
        "outstanding_amount": "0.00",
        "value_date": "2026-01-10",
    }
    closed = rows(loan, Kind.LOAN_CLOSED)
    assert len(closed) == 1
    assert closed[0].payload == {"principal_amount": "1200.00", "closed_on": "2026-01-10"}


@pytest.mark.django_db
def test_an_event_rolled_back_leaves_no_row(loan):
    before = Notification.objects.count()

    with pytest.raises(RuntimeError), transaction.atomic():
        repaid(loan, "500.00")
        assert rows(loan, Kind.REPAYMENT_RECEIVED)  # written with the event...
        raise RuntimeError("the caller's transaction fails after the repayment")

    assert not Repayment.objects.filter(loan=loan).exists()
    assert rows(loan, Kind.REPAYMENT_RECEIVED) == []  # ...and rolled back with it
    assert Notification.objects.count() == before


@pytest.mark.django_db
def test_a_refused_event_writes_no_row(loan):
    before = Notification.objects.count()

    with pytest.raises(RepaymentError):
        repaid(loan, "999999.00")

    assert Notification.objects.count() == before


@pytest.mark.django_db
def test_the_close_reminds_three_days_before_the_due_date_then_when_overdue(loan, officer):
    """Installment 1 falls due on 10 Feb: reminded on the business date 7 Feb (closing
    the 6th), overdue from 11 Feb (closing the 10th), when the bucket changes too."""
    other = active_loan(BorrowerFactory(), officer, principal="12000.00", tenure=12)
    # Among the active loans' ids, an application whose planned dates match theirs.
    waiting = applied_loan(BorrowerFactory(), principal="12000.00", tenure=12)
    set_business_date(date(2026, 1, 12))  # a loan whose installments fall on the 12th
    later = active_loan(BorrowerFactory(), officer, principal="12000.00", tenure=12)
    set_business_date(START)
    installment = loan.installments.get(number=1)

    close_through(date(2026, 2, 5))
    assert rows(loan, Kind.INSTALLMENT_DUE_SOON) == []

    close_through(date(2026, 2, 6))
    [due_soon] = rows(loan, Kind.INSTALLMENT_DUE_SOON)
    assert due_soon.business_date == date(2026, 2, 7)
    assert due_soon.event_key == f"installment_due_soon:{installment.pk}"
    assert due_soon.payload == {
        "installment_number": 1,
        "due_date": "2026-02-10",
        "amount_due": str(EMI),
    }
    assert len(rows(other, Kind.INSTALLMENT_DUE_SOON)) == 1  # the same day's loan too
    assert rows(later, Kind.INSTALLMENT_DUE_SOON) == []  # not concerned yet
    assert kinds(waiting) == [Kind.APPLICATION_RECEIVED]  # not disbursed: no reminders

    close_through(date(2026, 2, 10))
    [overdue] = rows(loan, Kind.INSTALLMENT_OVERDUE)
    assert overdue.business_date == date(2026, 2, 11)
    assert overdue.payload == {
        "installment_number": 1,
        "due_date": "2026-02-10",
        "amount_due": str(EMI),
    }
    [bucket] = rows(loan, Kind.DELINQUENCY_CHANGED)
    assert bucket.payload == {"from_bucket": "CURRENT", "to_bucket": "DPD_1_30", "days_past_due": 1}
    assert rows(later, Kind.INSTALLMENT_OVERDUE) == []
    assert len(rows(later, Kind.INSTALLMENT_DUE_SOON)) == 1  # due on 12 Feb
    assert kinds(waiting) == [Kind.APPLICATION_RECEIVED]


@pytest.mark.django_db
def test_a_late_fee_and_its_waiver_are_notified(loan, officer):
    """Grace 5 days: closing 15 Feb charges installment 1 its fee, 2 % of 1,066.19 =
    21.32, raised to the minimum 100.00."""
    close_through(date(2026, 2, 15))
    [fee] = rows(loan, Kind.FEE_CHARGED)
    installment = loan.installments.get(number=1)
    assert fee.event_key == f"fee_charged:{installment.pk}"
    assert fee.business_date == date(2026, 2, 16)
    assert fee.payload == {"installment_number": 1, "due_date": "2026-02-10", "fee": "100.00"}

    loan.refresh_from_db()
    owed = loan.outstanding_amount
    waiver = loan_fee_waive(
        loan_id=loan.pk,
        installment_number=1,
        amount=Decimal("40.00"),
        reason="Goodwill",
        officer=officer,
    )

    [waived] = rows(loan, Kind.FEE_WAIVED)
    assert waived.event_key == f"fee_waived:{waiver.pk}"
    assert waived.payload == {
        "installment_number": 1,
        "amount": "40.00",
        "remaining_fee_amount": "60.00",
        "outstanding_amount": str(owed - Decimal("40.00")),
    }


@pytest.mark.django_db
def test_paying_what_is_overdue_notifies_the_loan_is_current_again(loan):
    close_through(date(2026, 2, 10))

    repaid(loan, str(EMI))

    changes = [row.payload["to_bucket"] for row in rows(loan, Kind.DELINQUENCY_CHANGED)]
    assert changes == ["DPD_1_30", "CURRENT"]


@pytest.mark.django_db
def test_closing_a_day_again_writes_no_notification_twice(loan):
    close_through(date(2026, 2, 15))  # due soon, overdue, bucket change and fee written
    written = sorted(Notification.objects.values_list("event_key", flat=True))

    # Pretend the 15th was never recorded as closed and close it again.
    Loan.objects.filter(pk=loan.pk).update(closed_through=date(2026, 2, 14))
    with transaction.atomic():
        loans_close_through(closed_through={loan.pk: date(2026, 2, 14)}, day=date(2026, 2, 15))
    # The reminders of 6 and 10 February once more, straight into the outbox.
    again = [
        NotificationToAdd(
            kind=row.kind,
            ref=row.event_key.split(":")[1],
            recipient_id=row.recipient_id,
            business_date=row.business_date,
            loan_id=row.loan_id,
            payload=row.payload,
        )
        for row in Notification.objects.filter(
            kind__in=[Kind.INSTALLMENT_DUE_SOON, Kind.INSTALLMENT_OVERDUE]
        )
    ]
    assert len(again) == 2
    assert notifications_add_many(rows=again) == 0

    assert sorted(Notification.objects.values_list("event_key", flat=True)) == written


@pytest.mark.django_db
def test_an_unknown_kind_is_refused_before_anything_is_written(loan):
    with pytest.raises(ValueError, match="not_a_kind"):
        notifications_add_many(
            rows=[
                NotificationToAdd(
                    kind="not_a_kind", ref=1, recipient_id=loan.borrower_id, business_date=START
                )
            ]
        )
