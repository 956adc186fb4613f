"""Two-officer confirmation of officer actions (``loans.confirmations``).

The loan below is STANDARD, whose threshold is 200,000.00 (settings); the amounts are
chosen around it, so every expectation follows from the rule alone.
"""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from loans.confirmations import Kind, confirmation_required
from loans.exceptions import SameOfficerError
from loans.models import OfficerActionRequest
from tests.accounts.factories import OfficerFactory
from tests.loans.factories import active_loan

D = Decimal
THRESHOLD = D("200000.00")
Status = OfficerActionRequest.Status


@pytest.fixture
def loan(borrower):
    made = active_loan(borrower)
    assert made.maker_checker_threshold == THRESHOLD
    return made


def ask(loan, officer, amount, *, kind=Kind.WRITE_OFF, target_id=None):
    with transaction.atomic():
        return confirmation_required(
            kind=kind,
            loan=loan,
            target_id=loan.pk if target_id is None else target_id,
            amount=D(amount),
            officer=officer,
            reason="Borrower untraceable",
        )


@pytest.mark.django_db
@pytest.mark.parametrize("amount", ["0.01", "199999.99", "200000.00"])
def test_at_or_below_the_threshold_the_action_proceeds_at_once(loan, amount):
    decision = ask(loan, OfficerFactory(), amount)

    assert decision.proceed and decision.request is None
    assert not OfficerActionRequest.objects.exists()


@pytest.mark.django_db
def test_above_it_a_second_officer_confirms_and_is_recorded(loan):
    maker, checker = OfficerFactory(), OfficerFactory()

    first = ask(loan, maker, "200000.01")
    assert first.pending and not first.proceed
    request = first.request
    assert (request.status, request.requested_by, request.amount, request.threshold) == (
        Status.PENDING,
        maker,
        D("200000.01"),
        THRESHOLD,
    )
    assert request.reason == "Borrower untraceable"

    second = ask(loan, checker, "200000.01")
    assert second.proceed and second.request.pk == request.pk
    request.refresh_from_db()
    assert (request.status, request.confirmed_by) == (Status.CONFIRMED, checker)
    assert request.confirmed_at is not None and request.closed_at is not None


@pytest.mark.django_db
def test_the_same_officer_twice_is_refused_and_changes_nothing(loan):
    maker = OfficerFactory()
    ask(loan, maker, "250000.00")

    with pytest.raises(SameOfficerError) as refused:
        ask(loan, maker, "250000.00")

    assert refused.value.code == "maker_checker"
    assert refused.value.status_code == 409
    request = OfficerActionRequest.objects.get()
    assert (request.status, request.confirmed_by) == (Status.PENDING, None)


@pytest.mark.django_db
def test_a_changed_amount_supersedes_the_request_and_asks_again(loan):
    maker, checker = OfficerFactory(), OfficerFactory()
    ask(loan, maker, "250000.00")

    again = ask(loan, checker, "240000.00")  # the loan moved: the checker sees a new figure

    assert again.pending and again.request.requested_by == checker
    old, new = OfficerActionRequest.objects.order_by("pk")
    assert (old.status, new.status) == (Status.SUPERSEDED, Status.PENDING)
    assert ask(loan, maker, "240000.00").proceed  # the first officer may confirm the new one
    new.refresh_from_db()
    assert (new.status, new.confirmed_by) == (Status.CONFIRMED, maker)


@pytest.mark.django_db
def test_falling_to_the_threshold_proceeds_and_retires_the_pending_request(loan):
    ask(loan, OfficerFactory(), "250000.00")

    assert ask(loan, OfficerFactory(), "200000.00").proceed

    assert OfficerActionRequest.objects.get().status == Status.SUPERSEDED


@pytest.mark.django_db
def test_kinds_and_targets_are_confirmed_separately(loan):
    maker, checker = OfficerFactory(), OfficerFactory()
    ask(loan, maker, "250000.00", kind=Kind.WRITE_OFF, target_id=7)
    ask(loan, maker, "250000.00", kind=Kind.REVERSE_REPAYMENT, target_id=7)
    ask(loan, maker, "250000.00", kind=Kind.REVERSE_REPAYMENT, target_id=8)

    assert OfficerActionRequest.objects.filter(status=Status.PENDING).count() == 3
    assert ask(loan, checker, "250000.00", kind=Kind.REVERSE_REPAYMENT, target_id=8).proceed
    assert OfficerActionRequest.objects.filter(status=Status.PENDING).count() == 2


def _row(loan, officer, **fields):
    values = {"amount": D("250000.00"), "threshold": THRESHOLD, **fields}
    return OfficerActionRequest(
        kind=Kind.WRITE_OFF, loan=loan, target_id=loan.pk, requested_by=officer, **values
    )


@pytest.mark.django_db
def test_postgresql_allows_one_pending_request_per_kind_and_target(loan):
    officer = OfficerFactory()
    _row(loan, officer).save()

    with (
        pytest.raises(IntegrityError, match="loans_action_request_one_pending"),
        transaction.atomic(),
    ):
        _row(loan, OfficerFactory()).save()


@pytest.mark.django_db
def test_postgresql_refuses_the_maker_as_checker(loan):
    officer, now = OfficerFactory(), timezone.now()
    with (
        pytest.raises(IntegrityError, match="loans_action_request_two_officers"),
        transaction.atomic(),
    ):
        _row(
            loan,
            officer,
            status=Status.CONFIRMED,
            confirmed_by=officer,
            confirmed_at=now,
            closed_at=now,
        ).save()


@pytest.mark.django_db
def test_postgresql_refuses_a_request_at_or_below_the_threshold(loan):
    with pytest.raises(IntegrityError, match="loans_action_request_above"), transaction.atomic():
        _row(loan, OfficerFactory(), amount=THRESHOLD).save()


@pytest.mark.django_db
def test_a_request_left_unconfirmed_too_long_expires_and_the_next_call_starts_again(loan, settings):
    """Confirmed within its lifetime it stands; one minute past it, a second officer's
    identical call no longer confirms it: it is EXPIRED and that officer's call is the
    new first one."""
    maker, checker = OfficerFactory(), OfficerFactory()
    old = ask(loan, maker, "200000.01").request
    lifetime = timedelta(hours=settings.OFFICER_REQUEST_EXPIRY_HOURS)
    OfficerActionRequest.objects.filter(pk=old.pk).update(
        requested_at=timezone.now() - lifetime - timedelta(minutes=1)
    )

    decision = ask(loan, checker, "200000.01")

    old.refresh_from_db()
    assert (old.status, old.confirmed_by) == (Status.EXPIRED, None)
    assert old.closed_at is not None
    assert decision.pending
    assert (decision.request.status, decision.request.requested_by) == (Status.PENDING, checker)
    # The maker of the expired request may now confirm the new one.
    assert ask(loan, maker, "200000.01").proceed


@pytest.mark.django_db
def test_a_request_within_its_lifetime_is_confirmed(loan, settings):
    maker, checker = OfficerFactory(), OfficerFactory()
    made = ask(loan, maker, "200000.01").request
    lifetime = timedelta(hours=settings.OFFICER_REQUEST_EXPIRY_HOURS)
    OfficerActionRequest.objects.filter(pk=made.pk).update(
        requested_at=timezone.now() - lifetime + timedelta(minutes=1)
    )

    assert ask(loan, checker, "200000.01").proceed
    made.refresh_from_db()
    assert made.status == Status.CONFIRMED
