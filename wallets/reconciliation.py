"""Wallet checks of ``manage.py reconcile``, registered with the ledger by ``wallets.apps``."""

from ledger.reconciliation import Check

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
