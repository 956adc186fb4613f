import pytest
from django.contrib.auth.models import Group, Permission

from accounts.models import User
from accounts.services import (
    OFFICER_GROUP_NAME,
    OFFICER_GROUP_PERMISSIONS,
    officer_group_sync,
    user_create,
)
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory


def _permission_names(group: Group) -> set[str]:
    return {f"{p.content_type.app_label}.{p.codename}" for p in group.permissions.all()}


@pytest.mark.django_db
def test_migrations_give_the_group_exactly_the_officers_permissions():
    group = Group.objects.get(name=OFFICER_GROUP_NAME)

    assert _permission_names(group) == set(OFFICER_GROUP_PERMISSIONS)
    assert {"loans.approve_loan", "loans.reject_loan"} <= _permission_names(group)
    assert not any(
        p.split(".")[1].startswith(("add_", "change_", "delete_")) for p in _permission_names(group)
    )


@pytest.mark.django_db
def test_sync_is_idempotent():
    first = officer_group_sync()
    second = officer_group_sync()

    assert first.pk == second.pk
    assert Group.objects.filter(name=OFFICER_GROUP_NAME).count() == 1
    assert _permission_names(second) == set(OFFICER_GROUP_PERMISSIONS)


@pytest.mark.django_db
def test_sync_takes_away_permissions_not_listed():
    group = officer_group_sync()
    group.permissions.add(Permission.objects.get(codename="delete_wallet"))

    officer_group_sync()

    assert "wallets.delete_wallet" not in _permission_names(group)


@pytest.mark.django_db
def test_sync_recreates_a_deleted_group():
    Group.objects.filter(name=OFFICER_GROUP_NAME).delete()

    group = officer_group_sync()

    assert _permission_names(group) == set(OFFICER_GROUP_PERMISSIONS)


@pytest.mark.django_db
def test_sync_gives_exactly_the_permissions_asked_for():
    group = officer_group_sync(permissions=["wallets.view_wallet", "auth.view_group"])

    assert _permission_names(group) == {"wallets.view_wallet", "auth.view_group"}


@pytest.mark.django_db
def test_sync_refuses_an_unknown_permission_and_changes_nothing():
    with pytest.raises(LookupError, match=r"No such permission: wallets\.approve_wallet"):
        officer_group_sync(permissions=["wallets.view_wallet", "wallets.approve_wallet"])

    group = Group.objects.get(name=OFFICER_GROUP_NAME)
    assert _permission_names(group) == set(OFFICER_GROUP_PERMISSIONS)


@pytest.mark.django_db
def test_sync_refuses_a_name_without_app_label():
    with pytest.raises(ValueError, match=r"app_label\.codename"):
        officer_group_sync(permissions=["view_wallet"])


@pytest.mark.django_db
def test_user_create_puts_officers_in_the_group():
    officer = user_create(email="o@example.com", name="O", role=User.Role.OFFICER)

    assert list(officer.groups.values_list("name", flat=True)) == [OFFICER_GROUP_NAME]
    assert officer.has_perm("wallets.view_wallet")
    assert officer.has_perm("accounts.view_user")
    assert not officer.has_perm("wallets.change_wallet")
    assert not officer.has_perm("accounts.change_user")


@pytest.mark.django_db
def test_borrowers_and_admins_are_not_in_the_group():
    assert not BorrowerFactory().groups.exists()
    assert not AdminFactory().groups.exists()


@pytest.mark.django_db
def test_user_create_recreates_the_group_when_it_is_missing():
    Group.objects.filter(name=OFFICER_GROUP_NAME).delete()

    officer = OfficerFactory()

    group = officer.groups.get()
    assert group.name == OFFICER_GROUP_NAME
    assert _permission_names(group) == set(OFFICER_GROUP_PERMISSIONS)
