"""The accounts app's reactions to saves of a user (connected in ``accounts.apps``)."""

from accounts.tokens import user_tokens_revoke


def revoke_tokens_when_credentials_change(sender, *, instance, created, **kwargs) -> None:
    """A new password or a deactivation ends every session of the user at once.

    On every save of a user, whichever path (admin, shell, commands); a password that a
    login re-hashes with a newer algorithm counts too, which only ends older sessions.
    """
    if not created and instance.credentials_changed:
        user_tokens_revoke(user=instance)
        instance._credentials_read = (instance.password, instance.is_active)
