"""The one form of an email address, used wherever an address is stored or looked up.

An address is stored, compared and looked up only in its normal form: Unicode NFKC, then
case-folded (so the long s is ``s``, the Kelvin sign is ``k``, ``ASHA`` is ``asha``), trimmed,
the domain in its IDNA (ASCII) spelling. Equality of normal forms is the only match: no
``iexact``, no ``UPPER()``/``LOWER()`` of the database, whose case mappings differ from
Python's (PostgreSQL's ``UPPER()`` of the dotless i is ``I``: that once let a
lookalike of ``admin@`` break that account's login).

New addresses must also have an ASCII local part once normalised: what is left outside
ASCII (the dotless i, Cyrillic letters…) can only be a lookalike of another address
here, so it is refused (``docs/SECURITY.md``).
"""

import contextlib
import unicodedata

from django.core.exceptions import ValidationError

NOT_ASCII = "Use an address whose part before the @ has only ASCII letters, digits and symbols."


def email_normalize(value: str) -> str:
    """Return the normal form of an address (never raises: any text has one)."""
    text = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", value.strip()).casefold())
    local, at, domain = text.rpartition("@")
    if not at:
        return text
    # A domain that is no valid IDNA name is kept as it is (the email validator refuses it).
    with contextlib.suppress(UnicodeError):
        domain = domain.encode("idna").decode("ascii")
    return f"{local}@{domain}"


def email_clean(value: str) -> str:
    """Return the normal form of an address for a new or changed account.

    Raises ``ValidationError`` (on ``email``) when its local part is not ASCII.
    """
    normal = email_normalize(value)
    local = normal.rpartition("@")[0]
    if not local.isascii():
        raise ValidationError({"email": [NOT_ASCII]})
    return normal


def email_collisions(accounts) -> dict[str, list]:
    """Group ``(id, email)`` pairs by normal form; return the groups of two or more."""
    groups: dict[str, list] = {}
    for account_id, email in accounts:
        groups.setdefault(email_normalize(email), []).append((account_id, email))
    return {normal: found for normal, found in groups.items() if len(found) > 1}
