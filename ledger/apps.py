from django.apps import AppConfig
from django.db.models.signals import post_migrate


def _forget_cached_ids(**kwargs):
    from ledger.selectors import account_system_id

    account_system_id.cache_clear()


class LedgerConfig(AppConfig):
    name = "ledger"
    verbose_name = "Ledger"

    def ready(self):
        # Runs after `migrate` and after `flush` (tests): ids read before may be stale.
        post_migrate.connect(_forget_cached_ids, dispatch_uid="ledger_forget_cached_ids")
