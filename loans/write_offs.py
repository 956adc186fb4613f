"""Writing loans off: the one routine behind an officer's write-off and the close's.

A write-off on business date D of an ACTIVE loan (its row locked by the caller):

- **What it owed** (``LoanWriteOff``, and ``Loan.written_off_amount``): its unpaid
  principal (all installments), the unpaid interest of the installments due on or
  before D (later periods' interest was never earned, so it is not owed), and its
  unpaid late fees. ``outstanding_amount`` becomes 0.
- **Ledger** (one entry, ``write-off:<loan>``, value date D): the unpaid principal
  leaves loans receivable for loan losses (loans receivable credited, loan losses
  debited), and the unpaid fees are reversed as a waiver reverses them (fees receivable
  credited, fee income debited). Interest was never recognised as income until paid, so
  nothing is posted for it. No entry when both are 0.
- **State**: ACTIVE → WRITTEN_OFF (``Loan.write_off``), a ``LoanEvent`` with the officer
  (or none: the close) as actor and the reason, and the borrower's notification
  (``loan_written_off``: what is still owed, and that payments count as recoveries).

The installments are left as they stood: they are the record of what was unpaid, and
reconcile checks the write-off against them. Set-based: a handful of statements for
any number of loans (the close writes off every loan of a chunk at its threshold at
once).
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from django.db import connection
from django.utils import timezone

from ledger.models import Account, JournalEntry
from ledger.references import write_off_reference
from ledger.selectors import account_system_id
from ledger.services import EntryToPost, ledger_post, ledger_post_many
from lendingsite.money import format_money
from loans.models import Loan, LoanEvent, LoanWriteOff, OfficerActionRequest
from notifications.models import Notification
from notifications.services import NotificationToAdd, notifications_add_many

ZERO = Decimal("0.00")

FIGURES_SQL = """
    SELECT loan_id,
           coalesce(sum(principal - principal_paid), 0) AS principal,
           coalesce(sum(interest - interest_paid) FILTER (WHERE due_date <= %(day)s), 0)
               AS interest,
           coalesce(sum(fee_charged - fee_paid - fee_waived), 0) AS fees
    FROM loans_installment
    WHERE loan_id = ANY(%(ids)s)
    GROUP BY loan_id
"""

# Among locked loans, those whose product writes off at their days past due.
AT_THRESHOLD_SQL = """
    SELECT l.id
    FROM loans_loan l JOIN loans_loanproduct p ON p.id = l.product_id
    WHERE l.id = ANY(%(ids)s) AND l.status = 'ACTIVE'
      AND p.write_off_days IS NOT NULL AND l.days_past_due >= p.write_off_days
    ORDER BY l.id
"""


@dataclass(frozen=True)
class Owed:
    principal: Decimal
    interest: Decimal
    fees: Decimal

    @property
    def total(self) -> Decimal:
        return self.principal + self.interest + self.fees


def write_off_figures(*, loan_ids: Sequence[int], day: date) -> dict[int, Owed]:
    """What each loan would be written off for on ``day`` (see the module's rule)."""
    with connection.cursor() as cursor:
        cursor.execute(FIGURES_SQL, {"ids": list(loan_ids), "day": day})
        return {row[0]: Owed(*row[1:]) for row in cursor.fetchall()}


def products_write_off() -> bool:
    """Does any product write loans off automatically? (The close skips it otherwise.)"""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM loans_loanproduct WHERE write_off_days IS NOT NULL)"
        )
        return cursor.fetchone()[0]


def loans_at_write_off_threshold(*, loan_ids: Sequence[int]) -> list[int]:
    """The ACTIVE loans among ``loan_ids`` whose days past due reached the product's
    ``write_off_days``."""
    with connection.cursor() as cursor:
        cursor.execute(AT_THRESHOLD_SQL, {"ids": list(loan_ids)})
        return [row[0] for row in cursor.fetchall()]


def _legs(owed: Owed) -> list[tuple[int, Decimal]]:
    legs = []
    if owed.principal:
        legs += [
            (account_system_id(Account.LOANS_RECEIVABLE), owed.principal),
            (account_system_id(Account.LOAN_LOSS), -owed.principal),
        ]
    if owed.fees:
        legs += [
            (account_system_id(Account.FEES_RECEIVABLE), owed.fees),
            (account_system_id(Account.FEE_INCOME), -owed.fees),
        ]
    return legs


def loans_write_off(
    *,
    loans: Sequence[Loan],
    day: date,
    reason: str,
    officer=None,
    confirmation: OfficerActionRequest | None = None,
    client_ip: str | None = None,
) -> list[LoanWriteOff]:
    """Write off ACTIVE loans whose rows the caller has locked, on business date ``day``.

    ``officer`` None: the close of business. Runs in the caller's transaction.
    """
    figures = write_off_figures(loan_ids=[loan.pk for loan in loans], day=day)
    owed = {loan.pk: figures.get(loan.pk, Owed(ZERO, ZERO, ZERO)) for loan in loans}
    to_post = [loan for loan in loans if _legs(owed[loan.pk])]
    entries = {}
    if officer is not None and len(to_post) == 1:
        loan = to_post[0]
        entries[loan.pk] = ledger_post(
            kind=JournalEntry.Kind.WRITE_OFF,
            reference=write_off_reference(loan_id=loan.pk),
            legs=_legs(owed[loan.pk]),
            description=f"Write-off of loan {loan.pk}: {reason}"[:255],
            created_by=officer,
            value_date=day,
        )
    elif to_post:
        posted = ledger_post_many(
            entries=[
                EntryToPost(
                    kind=JournalEntry.Kind.WRITE_OFF,
                    reference=write_off_reference(loan_id=loan.pk),
                    legs=_legs(owed[loan.pk]),
                    description=f"Write-off of loan {loan.pk}: {reason}"[:255],
                )
                for loan in to_post
            ],
            value_date=day,
        )
        entries = {loan.pk: entry for loan, entry in zip(to_post, posted, strict=True)}
    records, now = [], timezone.now()
    for loan in loans:
        loan.write_off(amount=owed[loan.pk].total)
        loan.updated_at = now
        records.append(
            LoanWriteOff(
                loan=loan,
                value_date=day,
                principal=owed[loan.pk].principal,
                interest=owed[loan.pk].interest,
                fees=owed[loan.pk].fees,
                amount=owed[loan.pk].total,
                days_past_due=loan.days_past_due,
                officer=officer,
                confirmation=confirmation,
                reason=reason,
                entry=entries.get(loan.pk),
                client_ip=client_ip,
            )
        )
    Loan.objects.bulk_update(
        loans, ["status", "outstanding_amount", "written_off_amount", "updated_at"]
    )
    LoanWriteOff.objects.bulk_create(records)
    LoanEvent.objects.bulk_create(
        LoanEvent(
            loan=loan,
            source=Loan.Status.ACTIVE,
            target=Loan.Status.WRITTEN_OFF,
            actor=officer,
            reason=reason,
            client_ip=client_ip,
        )
        for loan in loans
    )
    notifications_add_many(
        rows=(
            NotificationToAdd(
                kind=Notification.Kind.LOAN_WRITTEN_OFF,
                ref=loan.pk,
                recipient_id=loan.borrower_id,
                business_date=day,
                loan_id=loan.pk,
                payload={
                    "written_off_amount": format_money(owed[loan.pk].total),
                    "principal": format_money(owed[loan.pk].principal),
                    "interest": format_money(owed[loan.pk].interest),
                    "fees": format_money(owed[loan.pk].fees),
                    "value_date": day.isoformat(),
                },
            )
            for loan in loans
        )
    )
    return records
