from django.apps import AppConfig
from django.db.models.signals import post_save


class AccountsConfig(AppConfig):
    name = "accounts"
    verbose_name = "Accounts"

    def ready(self):
        from accounts.audit import audit_install
        from accounts.models import User

        audit_install()
        from accounts.receivers import revoke_tokens_when_credentials_change

        post_save.connect(
            revoke_tokens_when_credentials_change,
            sender=User,
            dispatch_uid="accounts_revoke_tokens_when_credentials_change",
        )
