"""The tokens of the API: a refresh/access pair per login, and revocation of access tokens.

Refresh tokens are revoked in the database (simplejwt's blacklist: one use each, and
logout). Access tokens live 15 minutes and are not stored; logging out also puts the
access token's id on a denylist in the cache until it would have expired, and every
request's token is checked against it (``RevocableAccessToken``, simplejwt's
``AUTH_TOKEN_CLASSES``), whichever authentication class the view uses. With Redis down
the denylist cannot be read: a logged-out access token then works until it expires, as
before there was a denylist (docs/SECURITY.md).
"""

import threading

from cachetools import TTLCache
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


# Access tokens whose signature and claims this process has verified, by their exact text,
# for a minute: a client sends the same token with every request, and decoding it again
# (base64, JSON, HMAC, PyJWT's claim checks) was a tenth of a request's CPU. Expiry is
# still checked on every use (``Token.verify``), and so are the revocations below; a
# token is only ever found here under the very bytes that passed verification.
_VERIFIED_SECONDS = 60
_verified: TTLCache = TTLCache(maxsize=8192, ttl=_VERIFIED_SECONDS)
_verified_lock = threading.Lock()


class _RememberingBackend:
    """simplejwt's token backend, remembering what it verified (``_verified``)."""

    def __init__(self, backend):
        self._backend = backend

    def decode(self, token, verify: bool = True) -> dict:
        if not verify:
            return self._backend.decode(token, verify=False)
        key = token.decode() if isinstance(token, bytes) else token
        with _verified_lock:
            payload = _verified.get(key)
        if payload is None:
            payload = self._backend.decode(token, verify=True)
            with _verified_lock:
                _verified[key] = payload
        return dict(payload)

    def __getattr__(self, name):
        return getattr(self._backend, name)  # encode, get_leeway, …


class RevocableAccessToken(AccessToken):
    """An access token refused once revoked: by logout (``access_token_revoke``), or with
    every other token of its user (``user_tokens_revoke``)."""

    def get_token_backend(self):
        return _RememberingBackend(super().get_token_backend())

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
