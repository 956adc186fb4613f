from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm, UserChangeForm
from django.core.exceptions import ValidationError

from accounts.emails import email_clean
from accounts.models import DataExport, User
from accounts.services import user_create, user_role_change
from lendingsite.readonly_admin import ReadOnlyAdmin


class _NormalEmail:
    """The address in its one normal form (``accounts.emails``), checked before saving."""

    def clean_email(self):
        try:
            return email_clean(self.cleaned_data["email"])
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["email"]) from exc


class UserAddForm(_NormalEmail, AdminUserCreationForm):
    class Meta(AdminUserCreationForm.Meta):
        model = User
        fields = ["email", "name", "role"]


class UserEditForm(_NormalEmail, UserChangeForm):
    class Meta(UserChangeForm.Meta):
        model = User
        fields = "__all__"


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    """Users in the back office. Creating a user and changing a role run the services.

    ``user_create`` opens the wallet and puts an officer in the loan officers' group;
    ``user_role_change`` keeps the staff flags and the group in step with the role.
    """

    add_form = UserAddForm
    form = UserEditForm
    ordering = ["email"]
    list_display = ["email", "name", "role", "is_active", "date_joined"]
    list_filter = ["role", "is_active"]
    search_fields = ["email", "name"]
    readonly_fields = ["is_staff", "is_superuser", "date_joined", "last_login"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Profile", {"fields": ["name", "role", "is_active"]}),
        ("Derived from role", {"fields": ["is_staff", "is_superuser"]}),
        ("Permissions", {"fields": ["groups", "user_permissions"]}),
        ("Dates", {"fields": ["date_joined", "last_login"]}),
    ]
    add_fieldsets = [
        (
            None,
            {"classes": ["wide"], "fields": ["email", "name", "role", "password1", "password2"]},
        ),
    ]

    def save_model(self, request, obj, form, change):
        if not change:
            created = user_create(
                email=obj.email,
                name=obj.name,
                role=obj.role,
                password=form.cleaned_data.get("password1") or None,
            )
            # The admin goes on with ``obj`` (history, redirect): make it the saved user.
            obj.__dict__.update(created.__dict__)
            return
        if "role" in form.changed_data:
            # The role changes in ``save_related``, after the form's groups are saved, so
            # that the officers' group follows the new role rather than the form.
            form.new_role, obj.role = obj.role, form.initial["role"]
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        new_role = getattr(form, "new_role", None)
        if new_role is not None:
            changed = user_role_change(user_id=form.instance.pk, role=new_role)
            form.instance.__dict__.update(changed.__dict__)


@admin.register(DataExport)
class DataExportAdmin(ReadOnlyAdmin):
    """The exports taken from the back office, for the audit: who, what, when, how many rows.

    Administrators only (officers do not hold ``view_dataexport``); nobody edits them.
    """

    list_display = ["started_at", "user", "what", "filters", "row_count", "complete"]
    list_filter = ["what", "complete", "started_at"]
    list_select_related = ["user"]
    search_fields = ["user__email"]
    search_help_text = "Search by the email of who exported."
    date_hierarchy = "started_at"
    ordering = ["-started_at", "-pk"]
    show_full_result_count = False
