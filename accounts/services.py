from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from accounts.exceptions import EmailTakenError
from accounts.models import User

EMAIL_UNIQUE_CONSTRAINTS = {"accounts_user_email_ci_unique", "accounts_user_email_key"}


def _normalize_email(email: str) -> str:
    return email.strip().lower()


def user_create(
    *,
    email: str,
    name: str = "",
    password: str | None = None,
    role: str = User.Role.BORROWER,
    validate: bool = False,
) -> User:
    """Create a user of any role; the wallet is opened by ``user_register`` for borrowers.

    Raises ``EmailTakenError`` when the email is in use (decided by the database's
    case-insensitive unique index, so two simultaneous requests cannot both succeed).
    """
    user = User(
        email=_normalize_email(email),
        name=name.strip(),
        role=role,
        is_staff=role in User.STAFF_ROLES,
        is_superuser=role == User.Role.ADMIN,
    )
    if validate:
        try:
            validate_password(password, user=user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    try:
        with transaction.atomic():
            user.save()
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint in EMAIL_UNIQUE_CONSTRAINTS:
            raise EmailTakenError("A user with this email already exists.") from exc
        raise
    return user


@transaction.atomic
def user_register(*, email: str, name: str, password: str) -> User:
    """Self-registration: a borrower and their wallet, in one transaction."""
    from wallets.services import wallet_open

    user = user_create(email=email, name=name, password=password, validate=True)
    wallet_open(user=user)
    return user
