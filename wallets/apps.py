from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _forget_cached_ids(**kwargs):
    from wallets.selectors import _wallet_account_id

    _wallet_account_id.cache_clear()


class WalletsConfig(AppConfig):
    name = "wallets"
    verbose_name = "Wallets"

    def ready(self):
        from accounts.signals import user_created
        from ledger.reconciliation import register_checks, register_justifications
        from wallets.receivers import open_wallet_for_new_user
        from wallets.reconciliation import WALLET_CHECKS, WALLET_JUSTIFICATIONS

        # Runs after `migrate` and after `flush` (tests): ids read before may be stale.
        post_migrate.connect(_forget_cached_ids, dispatch_uid="wallets_forget_cached_ids")
        user_created.connect(open_wallet_for_new_user, dispatch_uid="wallets_open_for_new_user")
        register_checks(WALLET_CHECKS)
        register_justifications(WALLET_JUSTIFICATIONS)
