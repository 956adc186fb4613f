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
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.tokens import AccessToken, RefreshToken


def _denylist_key(jti: str) -> str:
    return f"revoked-access:{jti}"


class RevocableAccessToken(AccessToken):
    """An access token that is refused once revoked (``access_token_revoke``)."""

    def verify(self) -> None:
        super().verify()
        if cache.get(_denylist_key(self[api_settings.JTI_CLAIM])):
            raise TokenError("Token is revoked")


def access_token_revoke(token) -> None:
    """Refuse this access token from now until it expires."""
    remaining = int(token["exp"] - timezone.now().timestamp()) + 1
    if remaining > 0:
        cache.set(_denylist_key(token[api_settings.JTI_CLAIM]), True, timeout=remaining)


def token_pair_for(user) -> dict:
    """The seed system's token response: both tokens and the bearer type."""
    refresh = RefreshToken.for_user(user)
    refresh["role"] = user.role
    return {
        "access_token": str(refresh.access_token),
        "refresh_token": str(refresh),
        "token_type": "bearer",
    }
