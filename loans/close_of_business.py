"""The close of business: what the end of a business day does to every active loan.

Closing day D for a loan, as of the next business date D + 1:

1. **Late fees.** Each installment still unpaid at the end of D, more than the
   product's grace days past due on D + 1, and without a fee yet, is charged one late
   fee: the product's flat amount, or its percentage of the installment's unpaid amount
   (half-up to the cent) kept between its minimum and maximum. The fee is posted to the
   ledger (fees receivable ↔ fee income, reference ``fee:<installment>``) and added to
   what the loan owes.
2. **Delinquency.** The loan's days past due become D + 1 - the due date of its oldest
   installment not fully paid (fees included) and due before D + 1, or 0; its bucket is
   the product's bucket for that many days. A change of bucket is recorded
   (``DelinquencyChange``).
3. **Reminders.** Each installment still unpaid and due on D + 1 + ``DUE_SOON_DAYS``
   gets an "installment due soon" notification; each still unpaid at the end of its
   due date D, an "installment overdue" one. Late fees and bucket changes get theirs
   too. All are written to the outbox (``notifications``) in the chunk's transaction,
   keyed by the installment (or the change), so closing a day again writes none twice.
4. **Write-off.** A loan whose days past due reached its product's ``write_off_days``
   (when the product sets one) is written off on D (``loans.write_offs``): ACTIVE →
   WRITTEN_OFF, its unpaid principal to loan losses, its unpaid fees reversed. Only
   loans at the threshold are touched, and nothing at all when no product sets one.
5. The loan records D as closed (``Loan.closed_through``).

Everything here is set-based: a handful of statements for a chunk of loans, whatever
its size (raw SQL, kept in this one module; the ORM is the default elsewhere). The
same statements close one loan when a payment finds it behind the business date
(``loan_catch_up``), and refresh one loan's delinquency after a payment or a waiver
(``delinquency_refresh``), so the rules exist once.

Safety: the caller holds the loans' row locks (``loans_lock_for_close``), and a loan is
closed for D only while ``closed_through = D - 1``; re-running a day, or two processes
closing it at once, finds nothing left to do. The UNIQUE journal reference stops a
second fee even if that reasoning were ever wrong.
"""

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.db import connection, transaction

from ledger.models import Account, JournalEntry
from ledger.references import late_fee_reference
from ledger.selectors import account_system_id, business_date_get
from ledger.services import EntryToPost, business_date_advance, ledger_post_many
from lendingsite.money import format_money
from loans.models import Loan
from loans.write_offs import loans_at_write_off_threshold, loans_write_off, products_write_off
from notifications.models import Notification
from notifications.services import NotificationToAdd, notifications_add_many

ONE_DAY = timedelta(days=1)
# The borrower is reminded of an installment this many days before it is due.
DUE_SOON_DAYS = 3

LOCK_SQL = """
    SELECT id, closed_through FROM loans_loan
    WHERE id = ANY(%(ids)s) AND status = 'ACTIVE' AND closed_through < %(day)s
    ORDER BY id
    FOR NO KEY UPDATE
"""

# The price of a late fee, over the columns late_fee_kind, late_fee_value, late_fee_min,
# late_fee_max (the product's) and unpaid (the installment's principal and interest still
# unpaid). ``late_fee_price`` below is the same rule for the replay; a property test
# (tests/loans/servicing/test_fee_rule_agreement.py) evaluates both on the same inputs.
FEE_PRICE_SQL = """
    CASE WHEN late_fee_kind = 'FLAT' THEN late_fee_value
         ELSE least(
             greatest(round(unpaid * late_fee_value / 100, 2), coalesce(late_fee_min, 0)),
             coalesce(late_fee_max, 'Infinity'::numeric))
    END"""

CHARGE_FEES_SQL = """
    WITH due AS (
        SELECT i.id, i.loan_id, p.late_fee_kind, p.late_fee_value, p.late_fee_min,
               p.late_fee_max,
               (i.principal - i.principal_paid)
                   + (i.interest - i.interest_paid - i.interest_waived) AS unpaid
        FROM loans_installment i
        JOIN loans_loan l ON l.id = i.loan_id
        JOIN loans_loanproduct p ON p.id = l.product_id
        WHERE i.loan_id = ANY(%(ids)s)
          AND l.id = ANY(%(ids)s)  -- said twice, so no plan reads every loan per chunk
          AND i.paid_on IS NULL
          AND i.fee_charged_on IS NULL
          -- Implied by the grace (never negative); lets the unpaid index skip what is
          -- not yet due.
          AND i.due_date < %(as_of)s
          AND %(as_of)s - i.due_date > p.grace_days
    ), priced AS (
        SELECT id, loan_id, <FEE_PRICE_SQL> AS fee
        FROM due
    )
    UPDATE loans_installment i
    SET fee_charged = priced.fee, fee_charged_on = %(day)s
    FROM priced
    WHERE priced.id = i.id AND priced.fee > 0
    RETURNING i.id, i.loan_id, i.fee_charged, i.number, i.due_date,
              (SELECT l.borrower_id FROM loans_loan l WHERE l.id = i.loan_id)
""".replace("<FEE_PRICE_SQL>", FEE_PRICE_SQL)

ADD_FEES_SQL = """
    UPDATE loans_loan l SET outstanding_amount = l.outstanding_amount + f.total
    FROM (SELECT unnest(%(loan_ids)s::bigint[]) AS loan_id,
                 unnest(%(amounts)s::numeric[]) AS total) f
    WHERE l.id = f.loan_id
"""

# Days past due and bucket as of %(as_of)s; %(closed)s is the day closed, or NULL.
DELINQUENCY_SQL = """
    WITH oldest AS (
        SELECT loan_id, min(due_date) AS due_date
        FROM loans_installment
        WHERE loan_id = ANY(%(ids)s) AND paid_on IS NULL AND due_date < %(as_of)s
        GROUP BY loan_id
    ), computed AS (
        SELECT l.id, l.delinquency_bucket AS old_bucket, l.days_past_due AS old_days,
               coalesce(%(as_of)s - o.due_date, 0) AS days, p.buckets
        FROM loans_loan l
        JOIN loans_loanproduct p ON p.id = l.product_id
        LEFT JOIN oldest o ON o.loan_id = l.id
        WHERE l.id = ANY(%(ids)s)
    ), bucketed AS (
        SELECT c.id, c.old_bucket, c.old_days, c.days,
               (SELECT b ->> 0 FROM jsonb_array_elements(c.buckets) AS b
                WHERE (b ->> 1)::int <= c.days
                ORDER BY (b ->> 1)::int DESC LIMIT 1) AS bucket
        FROM computed c
    ), updated AS (
        UPDATE loans_loan l
        SET days_past_due = b.days, delinquency_bucket = b.bucket,
            closed_through = coalesce(%(closed)s, l.closed_through)
        FROM bucketed b
        WHERE l.id = b.id AND l.id = ANY(%(ids)s)  -- as above: the chunk's loans only
        -- The new row's bucket, not b.bucket: the lookup runs once per loan, not twice.
        RETURNING l.id, l.borrower_id, b.old_bucket, l.delinquency_bucket AS bucket,
                  b.old_days, b.days
    ), changes AS (
        INSERT INTO loans_delinquencychange
            (loan_id, "on", from_bucket, to_bucket, days_past_due, created_at)
        SELECT id, %(as_of)s, old_bucket, bucket, days, now()
        FROM updated WHERE old_bucket <> bucket
        RETURNING id, loan_id, from_bucket, to_bucket, days_past_due
    )
    SELECT (SELECT count(*) FROM updated WHERE old_days = 0 AND days > 0),
           (SELECT coalesce(json_agg(json_build_array(
                        c.id, c.loan_id, u.borrower_id, c.from_bucket, c.to_bucket,
                        c.days_past_due)), '[]')
            FROM changes c JOIN updated u ON u.id = c.loan_id)
"""


# Installments to remind of: due DUE_SOON_DAYS after the new business date, or due on
# the day closed and still unpaid at its end (overdue from the new business date on).
# Read through loans_installment_due_idx: the two due dates, within the chunk's id range
# (a few dozen rows per chunk). The range may hold loans outside the chunk (not active,
# or not being closed): the caller keeps the chunk's own. Asking for the chunk's ids
# here too would lead the planner to the (loan, due_date) index and read every unpaid
# installment of the chunk. The borrower is looked up only for the rows found.
REMINDERS_SQL = """
    SELECT i.id, i.loan_id, (SELECT l.borrower_id FROM loans_loan l WHERE l.id = i.loan_id),
           i.number, i.due_date,
           (i.total - i.principal_paid - i.interest_paid)
               + (i.fee_charged - i.fee_paid - i.fee_waived) AS unpaid
    FROM loans_installment i
    WHERE i.due_date IN (%(due_soon)s, %(day)s)
      AND i.paid_on IS NULL
      AND i.loan_id BETWEEN %(low)s AND %(high)s
"""


def late_fee_is_due(*, due_date: date, as_of: date, grace_days: int) -> bool:
    """Whether an unpaid installment without a fee is charged one by the close of
    ``as_of - 1`` (CHARGE_FEES_SQL's condition, for the replay in ``loans.replay``)."""
    return due_date < as_of and (as_of - due_date).days > grace_days


def late_fee_price(*, product, unpaid: Decimal) -> Decimal:
    """The late fee on an installment with ``unpaid`` principal and interest
    (FEE_PRICE_SQL, for the replay in ``loans.replay``; 0 means no fee)."""
    if product.late_fee_kind == "FLAT":
        return product.late_fee_value
    fee = (unpaid * product.late_fee_value / 100).quantize(Decimal("0.01"), ROUND_HALF_UP)
    if product.late_fee_min is not None:
        fee = max(fee, product.late_fee_min)
    if product.late_fee_max is not None:
        fee = min(fee, product.late_fee_max)
    return fee


@dataclass
class DayResult:
    """What closing a day did to a set of loans."""

    loans_closed: int = 0
    fees_charged: int = 0
    fees_amount: Decimal = Decimal("0.00")
    newly_overdue: int = 0
    bucket_changes: int = 0
    written_off: int = 0
    written_off_amount: Decimal = Decimal("0.00")

    def add(self, other: "DayResult") -> None:
        self.loans_closed += other.loans_closed
        self.fees_charged += other.fees_charged
        self.fees_amount += other.fees_amount
        self.newly_overdue += other.newly_overdue
        self.bucket_changes += other.bucket_changes
        self.written_off += other.written_off
        self.written_off_amount += other.written_off_amount


def loans_lock_for_close(*, loan_ids: Sequence[int], day: date) -> dict[int, date]:
    """Lock, in id order, the active loans among ``loan_ids`` not yet closed for ``day``.

    Returns {loan id: last day closed}. Runs in the caller's transaction; a loan another
    process is closing is waited for, then skipped if that process closed the day.
    """
    with connection.cursor() as cursor:
        cursor.execute(LOCK_SQL, {"ids": list(loan_ids), "day": day})
        return dict(cursor.fetchall())


def delinquency_refresh(*, loan_ids: Sequence[int], as_of: date, closed: date | None = None):
    """Set the loans' days past due and bucket as of ``as_of``; record bucket changes.

    Returns (bucket changes, loans newly overdue). With ``closed``, also records that
    day as closed for them. Each change is notified to the borrower (the outbox, in the
    caller's transaction).
    """
    changes, newly_overdue = _delinquency(loan_ids, as_of, closed)
    notifications_add_many(rows=changes)
    return len(changes), newly_overdue


def _delinquency(
    loan_ids: Sequence[int], as_of: date, closed: date | None
) -> tuple[list[NotificationToAdd], int]:
    """``DELINQUENCY_SQL``: the bucket changes' notifications, and the loans newly overdue."""
    with connection.cursor() as cursor:
        cursor.execute(DELINQUENCY_SQL, {"ids": list(loan_ids), "as_of": as_of, "closed": closed})
        newly_overdue, changes = cursor.fetchone()
    return [
        NotificationToAdd(
            kind=Notification.Kind.DELINQUENCY_CHANGED,
            ref=change_id,
            recipient_id=borrower_id,
            business_date=as_of,
            loan_id=loan_id,
            payload={
                "from_bucket": from_bucket,
                "to_bucket": to_bucket,
                "days_past_due": days_past_due,
            },
        )
        for change_id, loan_id, borrower_id, from_bucket, to_bucket, days_past_due in changes
    ], newly_overdue


def _reminders(loan_ids: list[int], day: date) -> list[NotificationToAdd]:
    """The due-soon and overdue notifications of closing ``day`` (``REMINDERS_SQL``)."""
    as_of = day + ONE_DAY
    due_soon = as_of + timedelta(days=DUE_SOON_DAYS)
    with connection.cursor() as cursor:
        cursor.execute(
            REMINDERS_SQL,
            {
                "low": min(loan_ids),
                "high": max(loan_ids),
                "due_soon": due_soon,
                "day": day,
            },
        )
        rows = cursor.fetchall()
    chunk = set(loan_ids)
    return [
        NotificationToAdd(
            kind=(
                Notification.Kind.INSTALLMENT_DUE_SOON
                if due_date == due_soon
                else Notification.Kind.INSTALLMENT_OVERDUE
            ),
            ref=installment_id,
            recipient_id=borrower_id,
            business_date=as_of,
            loan_id=loan_id,
            payload={
                "installment_number": number,
                "due_date": due_date.isoformat(),
                "amount_due": format_money(unpaid),
            },
        )
        for installment_id, loan_id, borrower_id, number, due_date, unpaid in rows
        if loan_id in chunk
    ]


def _close_one_day(loan_ids: list[int], day: date) -> DayResult:
    """Close ``day`` for loans locked by the caller and closed through the day before."""
    as_of = day + ONE_DAY
    with connection.cursor() as cursor:
        cursor.execute(CHARGE_FEES_SQL, {"ids": loan_ids, "as_of": as_of, "day": day})
        fees = cursor.fetchall()
    result = DayResult(loans_closed=len(loan_ids), fees_charged=len(fees))
    if fees:
        receivable = account_system_id(Account.FEES_RECEIVABLE)
        income = account_system_id(Account.FEE_INCOME)
        ledger_post_many(
            entries=[
                EntryToPost(
                    kind=JournalEntry.Kind.FEE_CHARGE,
                    reference=late_fee_reference(installment_id=installment_id),
                    legs=[(receivable, -amount), (income, amount)],
                    description=f"Late fee on loan {loan_id}",
                )
                for installment_id, loan_id, amount, *_ in fees
            ],
            value_date=day,
        )
        per_loan: dict[int, Decimal] = {}
        for _, loan_id, amount, *_ in fees:
            per_loan[loan_id] = per_loan.get(loan_id, Decimal("0.00")) + amount
        result.fees_amount = sum(per_loan.values(), Decimal("0.00"))
        with connection.cursor() as cursor:
            cursor.execute(
                ADD_FEES_SQL,
                {"loan_ids": list(per_loan), "amounts": [str(a) for a in per_loan.values()]},
            )
    bucket_changes, result.newly_overdue = _delinquency(loan_ids, as_of, day)
    result.bucket_changes = len(bucket_changes)
    # The chunk's notifications, all in one statement.
    notifications_add_many(
        rows=bucket_changes
        + [
            NotificationToAdd(
                kind=Notification.Kind.FEE_CHARGED,
                ref=installment_id,
                recipient_id=borrower_id,
                business_date=as_of,
                loan_id=loan_id,
                payload={
                    "installment_number": number,
                    "due_date": due_date.isoformat(),
                    "fee": format_money(amount),
                },
            )
            for installment_id, loan_id, amount, number, due_date, borrower_id in fees
        ]
        + _reminders(loan_ids, day)
    )
    if products_write_off() and (due := loans_at_write_off_threshold(loan_ids=loan_ids)):
        written = loans_write_off(
            loans=list(Loan.objects.filter(pk__in=due).order_by("pk")),  # locked by the caller
            day=day,
            reason=AUTOMATIC_WRITE_OFF_REASON,
        )
        result.written_off = len(written)
        result.written_off_amount = sum((w.amount for w in written), Decimal("0.00"))
    return result


AUTOMATIC_WRITE_OFF_REASON = (
    "Written off by the close of business: days past due reached the product's write-off threshold."
)


def loans_close_through(*, closed_through: dict[int, date], day: date) -> DayResult:
    """Close every day up to ``day`` for locked loans (``loans_lock_for_close``'s answer).

    Loans are closed a day at a time, those at the same point together, so a loan that
    fell behind (a failure on an earlier run) catches up day by day, with its fees and
    buckets exactly as if it had never been late.
    """
    total = DayResult()
    pending = dict(closed_through)
    while pending:
        earliest = min(pending.values())
        step = earliest + ONE_DAY
        ids = sorted(loan_id for loan_id, closed in pending.items() if closed == earliest)
        total.add(_close_one_day(ids, step))
        for loan_id in ids:
            if step >= day:
                del pending[loan_id]
            else:
                pending[loan_id] = step
    return total


# --- The run: days, chunks, partitions, failures -------------------------------------

CHUNK_SIZE = 2000
WAIT_SECONDS = 0.5

CHUNK_SQL = """
    SELECT id FROM loans_loan
    WHERE status = 'ACTIVE' AND id > %(after)s AND id <= %(high)s AND closed_through < %(day)s
    ORDER BY id LIMIT %(size)s
"""

# Is any active loan still to close for the day (its recorded failures aside)?
BEHIND_SQL = """
    SELECT EXISTS (
        SELECT 1 FROM loans_loan l
        WHERE l.status = 'ACTIVE' AND l.closed_through < %(day)s
          AND NOT EXISTS (
              SELECT 1 FROM loans_closefailure f WHERE f.loan_id = l.id AND f.day = %(day)s
          )
    )
"""


@dataclass
class Failure:
    loan_id: int
    day: date
    error: str


@dataclass
class CloseReport:
    """What a run of ``business_days_close`` did."""

    days: list[date]
    totals: DayResult
    failures: list[Failure]
    caught_up: int = 0  # loans found behind the business date and brought up to it


def _id_range(partition: tuple[int, int]) -> tuple[int, int]:
    """The loan ids of part K of N: an equal share of the active loans' id range."""
    part, parts = partition
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(min(id), 0), coalesce(max(id), 0) FROM loans_loan")
        low, high = cursor.fetchone()
    span = high - low + 1
    return low + span * (part - 1) // parts, low + span * part // parts - 1


def _close_chunk(loan_ids: list[int], day: date) -> DayResult:
    with transaction.atomic():
        return loans_close_through(
            closed_through=loans_lock_for_close(loan_ids=loan_ids, day=day), day=day
        )


def _record_failure(loan_id: int, day: date, error: Exception) -> Failure:
    text = f"{type(error).__name__}: {error}"[:2000]
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO loans_closefailure (loan_id, day, error, created_at) "
            "VALUES (%s, %s, %s, now()) "
            "ON CONFLICT (loan_id, day) DO UPDATE SET error = EXCLUDED.error, created_at = now()",
            [loan_id, day, text],
        )
    return Failure(loan_id, day, text)


def _close_partition(day, low, high, chunk_size, report, progress) -> int:
    """Close ``day`` for this part's loans not yet closed for it; return how many."""
    after, selected = low - 1, 0
    while True:
        with connection.cursor() as cursor:
            cursor.execute(
                CHUNK_SQL, {"after": after, "high": high, "day": day, "size": chunk_size}
            )
            ids = [row[0] for row in cursor.fetchall()]
        if not ids:
            return selected
        after, selected = ids[-1], selected + len(ids)
        try:
            report.totals.add(_close_chunk(ids, day))
        except Exception:  # one bad loan must not stop the others: each alone, once more
            for loan_id in ids:
                try:
                    report.totals.add(_close_chunk([loan_id], day))
                except Exception as exc:  # recorded, reported, retried next run
                    report.failures.append(_record_failure(loan_id, day, exc))
        if progress:
            progress(day, len(ids))


def _day_is_closed_everywhere(day: date) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(BEHIND_SQL, {"day": day})
        return not cursor.fetchone()[0]


def business_days_close(
    *,
    through: date,
    partition: tuple[int, int] = (1, 1),
    chunk_size: int = CHUNK_SIZE,
    progress=None,
    wait_for_others=None,
) -> CloseReport:
    """Close every open business day up to ``through``, one after another.

    First, loans left behind on earlier nights (a failure) are caught up to the day
    before the business date. Then each day: the active loans of this partition not yet
    closed for it, in chunks of
    ``chunk_size`` ids, one transaction per chunk with its loans locked in id order. A
    chunk that fails is retried loan by loan; a loan that fails alone is recorded
    (``CloseFailure``) and skipped. When no loan is left to close for the day (failures
    aside), the business date moves to the next day; a worker whose part is done waits
    for the others' (``wait_for_others`` is told, once per day). Never in a transaction
    of the caller's: each chunk commits on its own.
    """
    report = CloseReport(days=[], totals=DayResult(), failures=[])
    low, high = _id_range(partition)
    # Loans left behind on earlier nights (failures) first: up to the day before the
    # business date, as if they had never been late.
    report.caught_up = _close_partition(
        business_date_get() - ONE_DAY, low, high, chunk_size, report, progress
    )
    while (day := business_date_get()) <= through:
        _close_partition(day, low, high, chunk_size, report, progress)
        told = False
        while business_date_get() == day:
            if _day_is_closed_everywhere(day):
                business_date_advance(closed=day)
            else:
                if wait_for_others and not told:
                    wait_for_others(day)
                    told = True
                time.sleep(WAIT_SECONDS)
        report.days.append(day)
    return report
