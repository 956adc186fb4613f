"""The tokens of the API: a refresh/access pair per login, and revocation of access tokens.

Refresh tokens are revoked in the database (simplejwt's blacklist: one use each, and
logout). Access tokens live 15 minutes and are not stored; logging out also puts the
access token's id on a denylist in the cache until it would have expired, and every
request's token is checked against it (``RevocableAccessToken``, simplejwt's
``AUTH_TOKEN_CLASSES``), whichever authentication class the view uses. With Redis down
the denylist cannot be read: a logged-out access token then works until it expires, as
before there was a denylist (docs/SECURITY.md).
"""

from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from django.utils.crypto import salted_hmac
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken

VERSION_CLAIM = "cv"


def _denylist_key(jti: str) -> str:
    return f"revoked-access:{jti}"


def _version_key(user_id) -> str:
    return f"credentials-version:{user_id}"


def credentials_version(user) -> str:
    """A short keyed digest of the user's password hash and active flag, put in tokens.

    It changes when the password changes or the user is deactivated, so tokens issued
    before no longer match. Keyed with ``SECRET_KEY``: it reveals nothing of the hash.
    """
    return salted_hmac("credentials-version", f"{user.password}|{user.is_active}").hexdigest()[:16]


class RevocableAccessToken(AccessToken):
    """An access token refused once revoked: by logout (``access_token_revoke``), or with
    every other token of its user (``user_tokens_revoke``)."""

    def verify(self) -> None:
        super().verify()
        # Both revocations in one round trip to the cache, on every request.
        denylisted = _denylist_key(self[api_settings.JTI_CLAIM])
        version = _version_key(self.get(api_settings.USER_ID_CLAIM))
        found = cache.get_many([denylisted, version])
        if found.get(denylisted):
            raise TokenError("Token is revoked")
        current = found.get(version)
        if current is not None and self.get(VERSION_CLAIM) != current:
            raise TokenError("Token is revoked")


def user_tokens_revoke(*, user) -> None:
    """Revoke every token of a user at once, after its password or active flag changed.

    The refresh tokens are blacklisted in the database; the access tokens, which are not
    stored, are refused by their credentials version, which the cache holds for as long
    as an access token lives.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO token_blacklist_blacklistedtoken (token_id, blacklisted_at) "
            "SELECT id, now() FROM token_blacklist_outstandingtoken "
            "WHERE user_id = %s AND expires_at > now() ON CONFLICT (token_id) DO NOTHING",
            [user.pk],
        )
    lifetime = int(api_settings.ACCESS_TOKEN_LIFETIME.total_seconds()) + 1
    cache.set(_version_key(user.pk), credentials_version(user), lifetime)


def access_token_revoke(token) -> None:
    """Refuse this access token from now until it expires."""
    remaining = int(token["exp"] - timezone.now().timestamp()) + 1
    if remaining > 0:
        cache.set(_denylist_key(token[api_settings.JTI_CLAIM]), True, timeout=remaining)


def token_pair_for(user) -> dict:
    """The seed system's token response: both tokens and the bearer type."""
    refresh = RefreshToken.for_user(user)
    refresh["role"] = user.role
    refresh[VERSION_CLAIM] = credentials_version(user)  # copied into the access token
    return {
        "access_token": str(refresh.access_token),
        "refresh_token": str(refresh),
        "token_type": "bearer",
    }
