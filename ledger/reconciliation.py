"""The checks behind ``manage.py reconcile``.

Each check is one set-based SQL statement (aggregates, not a loop over rows) returning
the mismatching rows; an empty result means the check passes. The ledger's own checks
are below; an app whose records must agree with the books registers its checks with
``register_checks`` from its ``AppConfig.ready`` (``loans.apps``), so the ledger never
imports the apps above it.

**Every entry is justified.** A balanced entry proves nothing by itself: four SQL
statements can move money from interest income into a wallet and leave every sum
right. So each kind of entry has a *justification rule*, registered by the app whose
business record causes it (``register_justifications``): one SQL ``SELECT`` that, from
the records, says which entry each record caused and which legs it must have. The
check ``entries_justified`` then finds every entry that no record claims, that two
records claim, whose postings differ from its record's legs (account by account), or
whose kind has no rule at all, so a new kind of entry (write-off, recovery, …) cannot
be posted without its app adding the rule that explains it.
"""

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from django.db import connection, transaction


@dataclass(frozen=True)
class Check:
    name: str
    description: str
    sql: str
    columns: tuple[str, ...]


@dataclass
class CheckResult:
    check: Check
    mismatches: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.mismatches


LEDGER_CHECKS = [
    Check(
        name="account_balances",
        description=(
            "every cached balance (wallets' accounts) equals the sum of its postings "
            "and is not negative"
        ),
        sql="""
            WITH sums AS (
                SELECT account_id, sum(amount) AS total FROM ledger_posting GROUP BY account_id
            )
            SELECT a.id AS account_id, a.code, a.balance, coalesce(s.total, 0) AS postings_total
            FROM ledger_account a LEFT JOIN sums s ON s.account_id = a.id
            WHERE a.balance IS NOT NULL AND (a.balance <> coalesce(s.total, 0) OR a.balance < 0)
            ORDER BY a.id
        """,
        columns=("account_id", "code", "balance", "postings_total"),
    ),
    Check(
        name="entries_balanced",
        description="every journal entry has two or more postings summing to zero",
        sql="""
            SELECT e.id AS entry_id, count(p.id) AS postings, coalesce(sum(p.amount), 0) AS total
            FROM ledger_journalentry e LEFT JOIN ledger_posting p ON p.entry_id = e.id
            GROUP BY e.id
            HAVING count(p.id) < 2 OR coalesce(sum(p.amount), 0) <> 0
            ORDER BY e.id
        """,
        columns=("entry_id", "postings", "total"),
    ),
    Check(
        name="book_sums_to_zero",
        description="the whole book (all postings of all accounts) sums to zero",
        sql="""
            SELECT total FROM (SELECT coalesce(sum(amount), 0) AS total FROM ledger_posting) t
            WHERE total <> 0
        """,
        columns=("total",),
    ),
    Check(
        name="system_accounts",
        description=(
            "system accounts (balances derived from postings): loans receivable never "
            "in credit, income accounts never in debit"
        ),
        sql="""
            SELECT a.code, a.kind, coalesce(sum(p.amount), 0) AS balance
            FROM ledger_account a LEFT JOIN ledger_posting p ON p.account_id = a.id
            WHERE a.code IN ('loans_receivable', 'interest_income', 'fee_income')
            GROUP BY a.code, a.kind
            HAVING (a.kind = 'ASSET' AND coalesce(sum(p.amount), 0) > 0)
                OR (a.kind = 'INCOME' AND coalesce(sum(p.amount), 0) < 0)
            ORDER BY a.code
        """,
        columns=("code", "kind", "balance"),
    ),
    Check(
        name="reversals_negate_originals",
        description=(
            "every reversal entry negates exactly its original: on each account, the same "
            "postings with the opposite sign"
        ),
        sql="""
            WITH legs AS (
                SELECT e.id AS reversal_id, e.reverses_id AS original_id, p.account_id,
                       p.amount AS amount, 1 AS side
                FROM ledger_journalentry e JOIN ledger_posting p ON p.entry_id = e.id
                WHERE e.reverses_id IS NOT NULL
                UNION ALL
                SELECT e.id, e.reverses_id, p.account_id, -p.amount, -1
                FROM ledger_journalentry e JOIN ledger_posting p ON p.entry_id = e.reverses_id
                WHERE e.reverses_id IS NOT NULL
            )
            SELECT reversal_id, original_id, account_id, amount,
                   sum(side) AS reversal_minus_original_postings
            FROM legs
            GROUP BY reversal_id, original_id, account_id, amount
            HAVING sum(side) <> 0
            UNION ALL
            SELECT e.id, e.reverses_id, NULL, NULL, NULL
            FROM ledger_journalentry e
            WHERE (e.kind = 'REVERSAL') <> (e.reverses_id IS NOT NULL)
            ORDER BY 1, 3
        """,
        columns=(
            "reversal_id",
            "original_id",
            "account_id",
            "amount",
            "reversal_minus_original_postings",
        ),
    ),
]


@dataclass(frozen=True)
class Justification:
    """How entries of ``kind`` are explained by the business records of one app.

    ``sql`` is a ``SELECT`` with the columns ``entry_id`` (the entry the record caused),
    ``record`` (a label such as ``'wallets_wallettransfer:' || t.id``), ``account_id``
    and ``amount`` (one row per leg the entry must have: signed, credit > 0). A record
    whose amount is zero on some account may leave that leg out or give it as 0.
    """

    kind: str
    sql: str


# A reversal is explained by the entry it reverses: each of its legs negated.
LEDGER_JUSTIFICATIONS = [
    Justification(
        kind="REVERSAL",
        sql="""
            SELECT r.id AS entry_id, 'ledger_journalentry:' || r.reverses_id AS record,
                   p.account_id, -p.amount AS amount
            FROM ledger_journalentry r JOIN ledger_posting p ON p.entry_id = r.reverses_id
            WHERE r.kind = 'REVERSAL' AND r.reverses_id IS NOT NULL
        """,
    ),
]

_registered_justifications: dict[str, Justification] = {
    rule.kind: rule for rule in LEDGER_JUSTIFICATIONS
}


def register_justifications(rules: Iterable[Justification]) -> None:
    """Add an app's justification rules (``AppConfig.ready``; idempotent, one per kind)."""
    for rule in rules:
        known = _registered_justifications.get(rule.kind)
        if known is None:
            _registered_justifications[rule.kind] = rule
        elif known != rule:
            raise ValueError(f"Two justification rules for entries of kind {rule.kind!r}.")


# The rules' SQL is code registered by the apps, never input.
_JUSTIFIED_SQL = """
            WITH expected AS ({expected}),
            claims AS (
                SELECT entry_id, count(DISTINCT record) AS records,
                       string_agg(DISTINCT record, ', ') AS record
                FROM expected GROUP BY entry_id
            ),
            owed AS (
                SELECT entry_id, account_id, sum(amount) AS amount
                FROM expected GROUP BY entry_id, account_id
            ),
            posted AS (
                SELECT entry_id, account_id, sum(amount) AS amount
                FROM ledger_posting GROUP BY entry_id, account_id
            ),
            differences AS (
                SELECT coalesce(o.entry_id, p.entry_id) AS entry_id,
                       string_agg(
                           a.code || ' owed ' || coalesce(o.amount, 0)
                           || ' posted ' || coalesce(p.amount, 0), '; ' ORDER BY a.code
                       ) AS details
                FROM owed o
                FULL JOIN posted p ON p.entry_id = o.entry_id AND p.account_id = o.account_id
                JOIN ledger_account a ON a.id = coalesce(o.account_id, p.account_id)
                WHERE coalesce(o.amount, 0) <> coalesce(p.amount, 0)
                  AND coalesce(o.entry_id, p.entry_id) IN (SELECT entry_id FROM claims)
                GROUP BY 1
            )
            SELECT e.id AS entry_id, e.kind, e.reference,
                   CASE
                       WHEN e.kind NOT IN ({kinds}) THEN 'no justification rule for its kind'
                       WHEN c.records IS NULL THEN 'no business record'
                       WHEN c.records > 1 THEN c.records || ' business records'
                       ELSE 'postings differ from the record'
                   END AS problem,
                   coalesce(c.record, '') AS records,
                   coalesce(d.details, '') AS details
            FROM ledger_journalentry e
            LEFT JOIN claims c ON c.entry_id = e.id
            LEFT JOIN differences d ON d.entry_id = e.id
            WHERE e.kind NOT IN ({kinds}) OR c.records IS NULL OR c.records > 1
               OR d.entry_id IS NOT NULL
            ORDER BY e.id
"""


def _justification_check() -> Check:
    rules = list(_registered_justifications.values())
    # A record explains only entries of its rule's kind. Rules and kinds are code, not input.
    expected = "\n UNION ALL \n".join(
        f"SELECT r.entry_id, r.record, r.account_id, r.amount FROM ({rule.sql}) AS r "  # noqa: S608
        f"JOIN ledger_journalentry k ON k.id = r.entry_id AND k.kind = '{rule.kind}'"
        for rule in rules
    )
    kinds = ", ".join(f"'{rule.kind}'" for rule in rules) or "''"
    return Check(
        name="entries_justified",
        description=(
            "every journal entry is the image of exactly one business record, with the "
            "record's amounts on the record's accounts (rules registered per kind)"
        ),
        sql=_JUSTIFIED_SQL.format(expected=expected, kinds=kinds),
        columns=("entry_id", "kind", "reference", "problem", "records", "details"),
    )


_registered_checks: dict[str, Check] = {}


def register_checks(checks: Iterable[Check]) -> None:
    """Add an app's checks to ``reconcile`` (called from ``AppConfig.ready``; idempotent)."""
    for check in checks:
        known = {c.name: c for c in reconciliation_checks()}
        if check.name not in known:
            _registered_checks[check.name] = check
        elif known[check.name] != check:
            raise ValueError(f"Two reconciliation checks are named {check.name!r}.")


def reconciliation_checks() -> list[Check]:
    """The ledger's checks, the justification of every entry, then the registered ones
    in the order of registration."""
    return [*LEDGER_CHECKS, _justification_check(), *_registered_checks.values()]


def run_check(check: Check) -> CheckResult:
    with connection.cursor() as cursor:
        cursor.execute(check.sql)
        rows = cursor.fetchall()
    return CheckResult(check, [dict(zip(check.columns, row, strict=True)) for row in rows])


def reconcile(progress: Callable[[int, int, Check], None] | None = None) -> list[CheckResult]:
    """Run every check in one REPEATABLE READ snapshot, so the figures agree with each other."""
    results = []
    outermost = not connection.in_atomic_block
    with transaction.atomic():
        if outermost:
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        checks = reconciliation_checks()
        for number, check in enumerate(checks, start=1):
            if progress:
                progress(number, len(checks), check)
            results.append(run_check(check))
    return results
