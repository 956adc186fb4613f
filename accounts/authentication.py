"""Bearer-token authentication that trusts the access token's signed claims.

The project default, simplejwt's ``JWTAuthentication``, reads the user row on every
request to check that the account still exists and is active. On the hottest read
paths that query is as expensive as the work itself, so a view may opt in to
``JWTClaimsAuthentication`` instead::

    class WalletBalanceApi(APIView):
        authentication_classes = [JWTClaimsAuthentication]

Deactivating a user, changing their password and logging out take effect on such a view
at once too: every token is checked against the revocations kept in the cache
(``accounts.tokens.RevocableAccessToken``). What still waits for the token to expire
(``JWT_ACCESS_MINUTES``, 15 by default) is a change of role, which the claims carry, and
any revocation while Redis is down. Opt in only where acting for that window as the user
was when the token was issued is harmless (reading one's own data), or where the
operation asks the database itself in a statement it runs anyway (a repayment's lock
statement moves no money unless the borrower is still an active borrower:
``loans.repayment_sql``); keep the default elsewhere.
"""

from functools import cache

from django.db import DEFAULT_DB_ALIAS
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import InvalidToken
from rest_framework_simplejwt.settings import api_settings

from accounts.models import User


@cache
def _claim_fields() -> tuple[str, ...]:
    """The fields known from the token, in the model's field order (``from_db`` needs it)."""
    known = {"id", "role", "is_staff"}
    return tuple(f.attname for f in User._meta.concrete_fields if f.attname in known)


def user_from_claims(*, user_id: int, role: str) -> User:
    """Return a ``User`` built from token claims, without a query.

    ``id``, ``role`` and ``is_staff`` (which the database ties to the role) are set;
    every other field is deferred, as with ``.only()``: reading one, e.g. ``email`` or
    ``is_active``, loads it from the database. Being a real ``User`` with a primary key,
    it can be used in filters and foreign keys (``Wallet.objects.get(user=user)``) as it is.
    """
    claims = {"id": user_id, "role": role, "is_staff": role in User.STAFF_ROLES}
    names = _claim_fields()
    return User.from_db(DEFAULT_DB_ALIAS, names, [claims[name] for name in names])


class JWTClaimsAuthentication(JWTAuthentication):
    """Authenticate an access token by its signature and expiry alone: no query.

    A token without a valid ``role`` claim (not issued by ``accounts.tokens``) falls
    back to the database check of ``JWTAuthentication``.
    """

    def get_user(self, validated_token):
        role = validated_token.get("role")
        if role not in User.Role.values:
            return super().get_user(validated_token)
        try:
            user_id = int(validated_token[api_settings.USER_ID_CLAIM])
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidToken("Token contained no recognizable user identification") from exc
        return user_from_claims(user_id=user_id, role=role)
