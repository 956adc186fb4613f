"""Wallet checks of ``manage.py reconcile``, registered with the ledger by ``wallets.apps``."""

from ledger.reconciliation import Check, Justification

WALLET_CHECKS = [
    Check(
        name="every_user_has_a_wallet",
        description="every user has a wallet, on a ledger account that keeps its balance",
        sql="""
            SELECT u.id AS user_id, w.account_id, a.balance
            FROM accounts_user u
            LEFT JOIN wallets_wallet w ON w.user_id = u.id
            LEFT JOIN ledger_account a ON a.id = w.account_id
            WHERE a.id IS NULL OR a.balance IS NULL
            ORDER BY u.id
        """,
        columns=("user_id", "account_id", "balance"),
    ),
]

# Deposits and withdrawals are explained by their WalletTransfer: the wallet's account
# and the bank's, by the transfer's amount.
_TRANSFER_LEGS = """
    SELECT t.entry_id, 'wallets_wallettransfer:' || t.id AS record, leg.account_id, leg.amount
    FROM wallets_wallettransfer t
    JOIN wallets_wallet w ON w.user_id = t.wallet_id
    CROSS JOIN LATERAL (VALUES
        (w.account_id, t.amount * {sign}),
        ((SELECT id FROM ledger_account WHERE code = 'bank'), -t.amount * {sign})
    ) AS leg(account_id, amount)
    WHERE t.kind = '{kind}'
"""

WALLET_JUSTIFICATIONS = [
    Justification(kind="DEPOSIT", sql=_TRANSFER_LEGS.format(kind="DEPOSIT", sign=1)),
    Justification(kind="WITHDRAWAL", sql=_TRANSFER_LEGS.format(kind="WITHDRAWAL", sign=-1)),
]
