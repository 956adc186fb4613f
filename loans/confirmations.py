"""Two-officer confirmation ("maker-checker") of officer actions on a loan.

An officer action (reversing a repayment, writing off a loan, ...) whose amount is above
the loan's ``maker_checker_threshold`` needs two officers: the first officer's call
records a PENDING request and does nothing else; a different officer's identical call
(same kind, same target) confirms it and the action is carried out in that call's
transaction. At or below the threshold the action proceeds at once. This is the rule of
loan approval (``loans.services.loan_approve``) applied to servicing actions: the
threshold is the one kept on the loan, and the same officer twice is refused with the
same ``maker_checker`` 409.

The one function services call is :func:`confirmation_required`. The rule is written
down for officers in ``docs/LOANS.md`` ("Two-officer confirmation").
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from lendingsite.money import format_money
from loans.exceptions import SameOfficerError
from loans.models import Loan, OfficerActionRequest

Kind = OfficerActionRequest.Kind


@dataclass(frozen=True)
class Confirmation:
    """What :func:`confirmation_required` decided.

    ``proceed``: carry the action out now. ``request``: when ``proceed`` is false, the
    PENDING request just recorded (answer 202 with it); when true, the request this call
    confirmed, or ``None`` when the amount was at or below the threshold.
    """

    proceed: bool
    request: OfficerActionRequest | None = None

    @property
    def pending(self) -> bool:
        return not self.proceed


def confirmation_required(
    *,
    kind: str,
    loan: Loan,
    target_id: int,
    amount: Decimal,
    officer,
    reason: str = "",
) -> Confirmation:
    """Decide whether an officer action on ``loan`` may be carried out now.

    Call it inside the action's transaction, with the loan row locked, after the action's
    own checks (permission, state, input) have passed and before anything is written:

        decision = confirmation_required(kind=Kind.WRITE_OFF, loan=loan, target_id=loan.pk,
                                         amount=unpaid_principal, officer=officer)
        if decision.pending:
            return decision.request          # the view answers 202 PENDING_CONFIRMATION
        ...carry the action out...

    - ``amount <= loan.maker_checker_threshold``: proceed (``Confirmation(True)``); a
      PENDING request for the same (kind, target) is SUPERSEDED (it is no longer needed).
    - above it, no PENDING request for (kind, target): one is recorded for ``officer``
      (with ``amount`` and ``reason``); ``Confirmation(False, request)``. The caller must
      return normally (not raise), so that its transaction commits the request.
    - above it, a PENDING request by another officer for the same amount: it becomes
      CONFIRMED (``confirmed_by`` = ``officer``); ``Confirmation(True, request)``.
    - above it, a PENDING request by ``officer`` themselves: ``SameOfficerError`` (409,
      code ``maker_checker``); nothing changes.
    - above it, a PENDING request for a different amount (the loan moved since it was
      made): that request is SUPERSEDED and this call records a new PENDING request, so
      the second officer always confirms the figure that will actually be used.
    - a PENDING request older than ``OFFICER_REQUEST_EXPIRY_HOURS`` (72 by default) is
      EXPIRED first, whatever the amount: a confirmation days later would act on a
      decision nobody stands behind any more. The call then goes on as if there were
      none (above the threshold, it records a new PENDING request).

    A second identical action after the first was carried out is the service's to refuse:
    its state check (repayment already REVERSED, loan no longer ACTIVE) answers 409 before
    this is called. PostgreSQL keeps at most one PENDING request per (kind, target) and
    never lets the maker confirm their own request (``OfficerActionRequest.Meta``).
    """
    now = timezone.now()
    pending = (
        OfficerActionRequest.objects.select_for_update()
        .filter(kind=kind, target_id=target_id, status=OfficerActionRequest.Status.PENDING)
        .first()
    )
    if pending is not None and pending.requested_at < now - request_lifetime():
        pending.status = OfficerActionRequest.Status.EXPIRED
        pending.closed_at = now
        pending.save(update_fields=["status", "closed_at"])
        pending = None
    if amount <= loan.maker_checker_threshold:
        if pending is not None:
            _supersede(pending, now)
        return Confirmation(proceed=True)
    if pending is not None and pending.amount == amount:
        if pending.requested_by_id == officer.pk:
            raise SameOfficerError(
                f"This {pending.get_kind_display().lower()} of {format_money(amount)} is above "
                f"the loan's threshold of {format_money(loan.maker_checker_threshold)} and "
                "waits for a second officer: the officer who asked cannot also confirm it.",
                extra={"request_id": pending.pk},
            )
        pending.status = OfficerActionRequest.Status.CONFIRMED
        pending.confirmed_by, pending.confirmed_at, pending.closed_at = officer, now, now
        pending.save(update_fields=["status", "confirmed_by", "confirmed_at", "closed_at"])
        return Confirmation(proceed=True, request=pending)
    if pending is not None:
        _supersede(pending, now)
    try:
        with transaction.atomic():
            request = OfficerActionRequest.objects.create(
                kind=kind,
                loan=loan,
                target_id=target_id,
                amount=amount,
                threshold=loan.maker_checker_threshold,
                reason=reason,
                requested_by=officer,
            )
    except IntegrityError as exc:  # a request made at the same moment by another path
        raise SameOfficerError(
            "Another request for this action was recorded at the same moment; "
            "reload and try again.",
            code="concurrent_request",
        ) from exc
    return Confirmation(proceed=False, request=request)


def request_lifetime() -> timedelta:
    """How long a request waits for a second officer (``OFFICER_REQUEST_EXPIRY_HOURS``)."""
    return timedelta(hours=settings.OFFICER_REQUEST_EXPIRY_HOURS)


def _supersede(request: OfficerActionRequest, now) -> None:
    request.status = OfficerActionRequest.Status.SUPERSEDED
    request.closed_at = now
    request.save(update_fields=["status", "closed_at"])
