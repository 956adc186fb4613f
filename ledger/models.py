"""The double-entry journal.

Every movement of money is one ``JournalEntry`` with two or more ``Posting`` rows whose
signed amounts sum to zero. Sign convention: a positive amount is a credit to the
account, a negative amount a debit. A wallet's balance is therefore the plain sum of the
postings on its account.

Invariants held by PostgreSQL itself (migration ``0002_ledger_triggers``):
- entries and postings can never be updated or deleted (a mistake is corrected by a new,
  reversing entry);
- every entry balances (sum of its postings is 0) and has at least two postings, checked
  by a deferred constraint trigger at commit;
- no posting has a zero amount; entry references are unique;
- an account that keeps a cached balance never goes below zero (CHECK).
"""

from django.conf import settings
from django.db import models


class Account(models.Model):
    """A ledger account: one per wallet, plus the platform's system accounts.

    ``balance`` is the cached balance of an account that holds someone's money (a
    wallet's): it changes only in ``ledger_post``, under this row's lock, in the
    transaction of the postings that explain it, and ``manage.py reconcile`` checks it
    against them. System accounts keep none (NULL): every loan touches them, and a cached
    figure would be one locked row serialising all traffic; their balances are the sums
    of their postings.
    """

    class Kind(models.TextChoices):
        ASSET = "ASSET", "Asset"
        LIABILITY = "LIABILITY", "Liability"
        INCOME = "INCOME", "Income"
        EQUITY = "EQUITY", "Equity"
        EXPENSE = "EXPENSE", "Expense"

    # Codes of the system accounts, created by migration.
    BANK = "bank"
    LOANS_RECEIVABLE = "loans_receivable"
    FEES_RECEIVABLE = "fees_receivable"
    INTEREST_INCOME = "interest_income"
    FEE_INCOME = "fee_income"
    LOAN_LOSS = "loan_loss"
    RECOVERY_INCOME = "recovery_income"

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=150)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    balance = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(balance__isnull=True) | models.Q(balance__gte=0),
                name="ledger_account_balance_non_negative",
            ),
        ]

    def __str__(self):
        return self.code


class BusinessDate(models.Model):
    """The day being traded: the value date of every money movement. One row.

    It moves only forward, one day at a time, when the close of business has closed the
    day for every loan (``loans.close_of_business``). On a new database it is today in
    ``TIME_ZONE`` (``ledger.selectors.business_date_get``).
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    date = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(id=1), name="ledger_business_date_one_row"),
        ]

    def __str__(self):
        return self.date.isoformat()


class JournalEntry(models.Model):
    """One money movement. Append-only."""

    class Kind(models.TextChoices):
        DEPOSIT = "DEPOSIT", "Deposit"
        WITHDRAWAL = "WITHDRAWAL", "Withdrawal"
        LOAN_DISBURSEMENT = "LOAN_DISBURSEMENT", "Loan disbursement"
        EMI_PAYMENT = "EMI_PAYMENT", "EMI payment"
        REVERSAL = "REVERSAL", "Reversal"
        FEE_CHARGE = "FEE_CHARGE", "Late fee charged"
        FEE_WAIVER = "FEE_WAIVER", "Late fee waived"
        WRITE_OFF = "WRITE_OFF", "Loan written off"
        RECOVERY = "RECOVERY", "Recovery on a written-off loan"

    kind = models.CharField(max_length=32, choices=Kind.choices)
    # A unique business reference (e.g. "deposit:<user>:<key>", "disburse:<loan>"): the
    # database's second line of defence against moving the same money twice.
    reference = models.CharField(max_length=300, unique=True)
    description = models.CharField(max_length=255, blank=True)
    idempotency_key = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    # The business date the money moved on (``BusinessDate``), not the wall clock's day.
    value_date = models.DateField(db_index=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name_plural = "journal entries"

    def __str__(self):
        return f"{self.kind} {self.reference}"


class Posting(models.Model):
    """One leg of an entry: a signed amount on one account (credit > 0, debit < 0)."""

    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings")
    amount = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(amount=0), name="ledger_posting_amount_nonzero"
            ),
        ]
        indexes = [
            # Balances and statements: postings of one account, newest first; the
            # INCLUDE lets SUM(amount) per account run as an index-only scan.
            models.Index(
                fields=["account", "-id"], include=["amount"], name="ledger_posting_account_idx"
            ),
        ]

    def __str__(self):
        return f"{self.account_id} {self.amount:+}"
