from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone


class UserManager(BaseUserManager):
    use_in_migrations = True

    def get_by_natural_key(self, username):
        """The user whose address has this normal form (``accounts.emails``): one at most."""
        from accounts.emails import email_normalize

        return self.get(email=email_normalize(username))

    def create_user(self, email, password=None, **extra_fields):
        from accounts.services import user_create

        return user_create(email=email, password=password, **extra_fields)

    def create_superuser(self, email, password=None, **extra_fields):
        from accounts.services import user_create

        extra_fields["role"] = User.Role.ADMIN
        return user_create(email=email, password=password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    """A person who signs in: a borrower, a loan officer or an administrator.

    Email is the login and is unique without regard to case. ``is_staff`` follows the
    role (officers and admins may use the back office) and the database enforces it.
    """

    class Role(models.TextChoices):
        BORROWER = "BORROWER", "Borrower"
        OFFICER = "OFFICER", "Loan officer"
        ADMIN = "ADMIN", "Administrator"

    STAFF_ROLES = (Role.OFFICER, Role.ADMIN)

    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=150)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.BORROWER)
    is_staff = models.BooleanField(default=False)
    is_active = models.BooleanField(default=True)
    date_joined = models.DateTimeField(default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["name"]

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="accounts_user_email_ci_unique"),
            models.CheckConstraint(
                condition=(
                    models.Q(role="BORROWER", is_staff=False)
                    | models.Q(role__in=["OFFICER", "ADMIN"], is_staff=True)
                ),
                name="accounts_user_staff_matches_role",
            ),
            models.CheckConstraint(
                condition=models.Q(is_superuser=False) | models.Q(role="ADMIN"),
                name="accounts_user_superuser_is_admin",
            ),
        ]

    def __str__(self):
        return self.email

    @classmethod
    def from_db(cls, db, field_names, values):
        """Remember the credentials as read, so a save can tell that they changed."""
        user = super().from_db(db, field_names, values)
        user._credentials_read = (user.__dict__.get("password"), user.__dict__.get("is_active"))
        return user

    @property
    def credentials_changed(self) -> bool:
        """Whether the password or ``is_active`` differ from what was read (else False)."""
        read = getattr(self, "_credentials_read", None)
        if read is None or read[0] is None:
            return False
        return read != (self.__dict__.get("password"), self.__dict__.get("is_active"))

    @property
    def is_officer(self) -> bool:
        return self.role in self.STAFF_ROLES


class LoginFailureCounter(models.Model):
    """Failed logins of one pair, address or account in its current window.

    Written only by ``accounts.login_throttle`` (one upsert per key and failure); rows of
    windows that ended are ignored and may be deleted at any time.
    """

    key = models.CharField(max_length=400, unique=True)
    failures = models.PositiveIntegerField()
    window_started_at = models.DateTimeField()
    last_failure_at = models.DateTimeField()

    def __str__(self):
        return f"{self.key}: {self.failures}"


class DataExport(models.Model):
    """A file of records a member of staff took out of the back office: who, what, when.

    Written by ``accounts.services.data_export_start`` before the first row leaves and
    finished by ``data_export_finish`` when the stream ends (the rows written, and whether
    all were). A trigger refuses deletes and any change but that one finish.
    """

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    what = models.CharField(max_length=100)  # the list exported, "loans.loan"
    filters = models.TextField(blank=True)  # the list's query string: filters, search, order
    client_ip = models.GenericIPAddressField(null=True, blank=True)
    started_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    row_count = models.PositiveIntegerField(null=True, blank=True)
    complete = models.BooleanField(default=False)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(finished_at__isnull=True, row_count__isnull=True)
                | models.Q(finished_at__isnull=False, row_count__isnull=False),
                name="accounts_dataexport_finished_with_rows",
            ),
            models.CheckConstraint(
                condition=models.Q(complete=False) | models.Q(finished_at__isnull=False),
                name="accounts_dataexport_complete_when_finished",
            ),
        ]

    def __str__(self):
        return f"{self.what} by {self.user_id} at {self.started_at:%Y-%m-%d %H:%M}"
