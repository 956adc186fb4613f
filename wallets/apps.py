from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _forget_cached_ids(**kwargs):
    from wallets.selectors import _wallet_account_id

    _wallet_account_id.cache_clear()


class WalletsConfig(AppConfig):
    name = "wallets"
    verbose_name = "Wallets"

    def ready(self):
        # Runs after `migrate` and after `flush` (tests): ids read before may be stale.
        post_migrate.connect(_forget_cached_ids, dispatch_uid="wallets_forget_cached_ids")
