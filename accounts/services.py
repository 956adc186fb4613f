from collections.abc import Iterable

from django.apps import apps as global_apps
from django.apps.registry import Apps
from django.contrib.auth.management import create_permissions
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.emails import email_clean
from accounts.exceptions import EmailTakenError
from accounts.models import DataExport, User
from accounts.signals import user_created

EMAIL_UNIQUE_CONSTRAINTS = {"accounts_user_email_ci_unique", "accounts_user_email_key"}


# --- Loan officers' group -----------------------------------------------------------
OFFICER_GROUP_NAME = "Loan officers"
# What the group may do in the back office, as "app_label.codename". An app that adds
# permissions for officers appends them here and ships a data migration that calls
# ``officer_group_sync(apps=apps, permissions=[...])`` with that migration's own copy of
# the list, so old migrations never name models that do not exist yet at their point.
OFFICER_GROUP_PERMISSIONS = (
    "accounts.view_user",
    "wallets.view_wallet",
    "loans.view_loan",
    "loans.approve_loan",
    "loans.reject_loan",
    "loans.view_installment",
    "loans.view_repayment",
    "loans.view_loanevent",
    "loans.waive_fee",
    "loans.view_loanproduct",
    "loans.view_feewaiver",
    "loans.view_delinquencychange",
    "loans.view_repaymentallocation",
    "loans.view_closefailure",
    "loans.write_off_loan",
    "loans.view_loanwriteoff",
    "loans.view_loanrecovery",
    "loans.view_officeractionrequest",
    "ledger.view_account",
    "ledger.view_journalentry",
    "ledger.view_posting",
    "idempotency.view_idempotencyrecord",
    "notifications.view_notification",
)


def officer_group_sync(
    *, permissions: Iterable[str] = OFFICER_GROUP_PERMISSIONS, apps: Apps | None = None
) -> Group:
    """Create the loan officers' group if missing and give it exactly ``permissions``.

    Idempotent: permissions not in the list are taken away. ``apps`` is a data migration's
    historical registry; permissions of the apps named are created first, since Django
    itself creates them only after the whole ``migrate`` run. Raises ``LookupError``
    naming any permission that does not exist.
    """
    registry = apps or global_apps
    group_model = registry.get_model("auth", "Group")
    permission_model = registry.get_model("auth", "Permission")
    wanted = {tuple(name.split(".", 1)) for name in permissions}
    if any(len(key) != 2 for key in wanted):
        raise ValueError("Permissions are named 'app_label.codename'.")
    for app_label in sorted({app_label for app_label, _ in wanted}):
        # The live app config carries ``models_module``; the models come from ``registry``.
        create_permissions(global_apps.get_app_config(app_label), apps=registry, verbosity=0)
    found = {
        (perm.content_type.app_label, perm.codename): perm
        for perm in permission_model.objects.select_related("content_type").filter(
            codename__in={codename for _, codename in wanted}
        )
        if (perm.content_type.app_label, perm.codename) in wanted
    }
    missing = sorted(".".join(key) for key in wanted - found.keys())
    if missing:
        raise LookupError(f"No such permission: {', '.join(missing)}")
    group, _ = group_model.objects.get_or_create(name=OFFICER_GROUP_NAME)
    group.permissions.set(found.values())
    return group


def _officer_group() -> Group:
    group = Group.objects.filter(name=OFFICER_GROUP_NAME).first()
    # Migrations create it; it is missing only after someone deleted it or the tables
    # were emptied (a transactional test's flush). Recreate it with its permissions.
    return group or officer_group_sync()


def _role_flags(role: str) -> dict[str, bool]:
    """What a role implies: officers and admins are staff, admins are superusers."""
    if role not in User.Role.values:
        raise ValueError(f"Unknown role {role!r}.")
    return {"is_staff": role in User.STAFF_ROLES, "is_superuser": role == User.Role.ADMIN}


def _officer_group_follow_role(user: User) -> None:
    """An officer is in the loan officers' group; anyone else is not."""
    if user.role == User.Role.OFFICER:
        user.groups.add(_officer_group())
    else:
        user.groups.remove(*Group.objects.filter(name=OFFICER_GROUP_NAME))


def user_create(
    *,
    email: str,
    name: str = "",
    password: str | None = None,
    role: str = User.Role.BORROWER,
    validate: bool = False,
) -> User:
    """Create a user of any role, with their wallet, in one transaction.

    Officers join the loan officers' group, which holds their back-office permissions.
    ``user_created`` is sent inside the transaction: the wallets app opens the wallet.

    Raises ``EmailTakenError`` when the email is in use (decided by the database's
    case-insensitive unique index, so two simultaneous requests cannot both succeed).
    """
    user = User(
        email=email_clean(email),
        name=name.strip(),
        role=role,
        **_role_flags(role),
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
            _officer_group_follow_role(user)
            user_created.send(sender=User, user=user)
    except IntegrityError as exc:
        constraint = getattr(getattr(exc.__cause__, "diag", None), "constraint_name", None)
        if constraint in EMAIL_UNIQUE_CONSTRAINTS:
            raise EmailTakenError("A user with this email already exists.") from exc
        raise
    return user


def user_register(*, email: str, name: str, password: str) -> User:
    """Self-registration: a borrower and their wallet, in one transaction."""
    return user_create(email=email, name=name, password=password, validate=True)


@transaction.atomic
def user_role_change(*, user_id: int, role: str) -> User:
    """Give a user another role; staff flags and the officers' group follow it.

    Promoted to officer, the user joins the loan officers' group; given any other role,
    they leave it. Locks: the user row.
    """
    flags = _role_flags(role)
    user = User.objects.select_for_update().get(pk=user_id)
    user.role = role
    for name, value in flags.items():
        setattr(user, name, value)
    user.save(update_fields=["role", *flags])
    _officer_group_follow_role(user)
    return user


# --- Data taken out of the back office ----------------------------------------------
def data_export_start(
    *, user: User, what: str, filters: str, client_ip: str | None = None
) -> DataExport:
    """Record that ``user`` starts exporting ``what`` (a list, with these filters).

    Committed before the first row is sent, so an export is on record even when its
    stream is cut short.
    """
    return DataExport.objects.create(user=user, what=what, filters=filters, client_ip=client_ip)


def data_export_finish(*, export_id: int, row_count: int, complete: bool) -> None:
    """Record how an export ended: the rows written, and whether that was all of them.

    Only an unfinished record changes (the database refuses any other change).
    """
    DataExport.objects.filter(pk=export_id, finished_at__isnull=True).update(
        finished_at=timezone.now(), row_count=row_count, complete=complete
    )
