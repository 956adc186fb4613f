"""Users created and re-roled in the back office go through the accounts services."""

import pytest
from django.contrib.auth.models import Group
from django.urls import reverse

from accounts.models import User
from accounts.services import OFFICER_GROUP_NAME
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory
from wallets.models import Wallet

ADD = reverse("admin:accounts_user_add")
PASSWORD = "a-long-enough-pass-phrase"


def _admin_client(client):
    client.force_login(AdminFactory())
    return client


def _in_officer_group(user: User) -> bool:
    return user.groups.filter(name=OFFICER_GROUP_NAME).exists()


def _change(client, user: User, **changes):
    """Post the change form with the user's current values and ``changes``."""
    data = {
        "email": user.email,
        "name": user.name,
        "role": user.role,
        "is_active": "on",
        "groups": [g.pk for g in user.groups.all()],
        "date_joined_0": user.date_joined.strftime("%Y-%m-%d"),
        "date_joined_1": user.date_joined.strftime("%H:%M:%S"),
        **changes,
    }
    return client.post(reverse("admin:accounts_user_change", args=[user.pk]), data)


def _add(client, email, role):
    return client.post(
        ADD,
        {
            "email": email,
            "name": "New Person",
            "role": role,
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )


@pytest.mark.django_db
def test_a_borrower_created_in_the_admin_has_a_wallet(client):
    response = _add(_admin_client(client), "new.borrower@example.com", User.Role.BORROWER)

    assert response.status_code == 302, response.context["errors"] if response.context else ""
    user = User.objects.get(email="new.borrower@example.com")
    assert user.role == User.Role.BORROWER and not user.is_staff
    assert Wallet.objects.get(user=user).balance == 0
    assert user.check_password(PASSWORD)
    assert not _in_officer_group(user)


@pytest.mark.django_db
def test_an_officer_created_in_the_admin_is_staff_in_the_officers_group_with_a_wallet(client):
    response = _add(_admin_client(client), "new.officer@example.com", User.Role.OFFICER)

    assert response.status_code == 302
    user = User.objects.get(email="new.officer@example.com")
    assert user.is_staff and not user.is_superuser
    assert _in_officer_group(user)
    assert Wallet.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_a_borrower_promoted_in_the_admin_joins_the_officers_group(client):
    borrower = BorrowerFactory()

    response = _change(_admin_client(client), borrower, role=User.Role.OFFICER)

    assert response.status_code == 302
    borrower.refresh_from_db()
    assert (borrower.role, borrower.is_staff) == (User.Role.OFFICER, True)
    assert _in_officer_group(borrower)


@pytest.mark.django_db
def test_an_officer_demoted_in_the_admin_leaves_the_officers_group(client):
    officer = OfficerFactory()
    assert _in_officer_group(officer)

    response = _change(_admin_client(client), officer, role=User.Role.BORROWER)

    assert response.status_code == 302
    officer.refresh_from_db()
    assert (officer.role, officer.is_staff, officer.is_superuser) == ("BORROWER", False, False)
    assert not _in_officer_group(officer)
    # The group itself and its other members are untouched.
    assert Group.objects.filter(name=OFFICER_GROUP_NAME).exists()


@pytest.mark.django_db
def test_an_officer_made_admin_is_a_superuser_outside_the_officers_group(client):
    officer = OfficerFactory()

    _change(_admin_client(client), officer, role=User.Role.ADMIN)

    officer.refresh_from_db()
    assert (officer.is_staff, officer.is_superuser) == (True, True)
    assert not _in_officer_group(officer)


@pytest.mark.django_db
def test_a_change_that_keeps_the_role_keeps_the_group(client):
    officer = OfficerFactory()

    response = _change(_admin_client(client), officer, name="Renamed Officer")

    assert response.status_code == 302
    officer.refresh_from_db()
    assert officer.name == "Renamed Officer"
    assert _in_officer_group(officer)
