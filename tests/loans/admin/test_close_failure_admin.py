"""The close of business's failures, listed for operators; nobody edits them."""

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from loans.models import CloseFailure
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory
from tests.loans.factories import active_loan

CHANGELIST = reverse("admin:loans_closefailure_changelist")


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.django_db
def test_officers_see_the_failures_with_a_link_to_each_loan():
    loan = active_loan(BorrowerFactory())
    CloseFailure.objects.create(loan=loan, day=date(2026, 3, 2), error="OperationalError: boom")

    response = client_for(OfficerFactory()).get(CHANGELIST)

    assert response.status_code == 200
    assert f'href="{reverse("admin:loans_loan_change", args=[loan.pk])}"' in response.text
    assert "OperationalError: boom" in response.text
    assert "March 2, 2026" in response.text


@pytest.mark.django_db
@pytest.mark.parametrize("factory", [OfficerFactory, AdminFactory], ids=["officer", "admin"])
def test_failures_cannot_be_added_changed_or_deleted(factory):
    failure = CloseFailure.objects.create(
        loan=active_loan(BorrowerFactory()), day=date(2026, 3, 2), error="boom"
    )
    client = client_for(factory())

    add = client.get(reverse("admin:loans_closefailure_add"))
    change = client.post(
        reverse("admin:loans_closefailure_change", args=[failure.pk]), {"error": "fixed"}
    )
    delete = client.post(
        reverse("admin:loans_closefailure_delete", args=[failure.pk]), {"post": "yes"}
    )

    assert add.status_code == 403
    assert change.status_code == 403
    assert delete.status_code == 403
    failure.refresh_from_db()
    assert failure.error == "boom"


@pytest.mark.django_db
def test_borrowers_are_sent_to_the_login_page():
    response = client_for(BorrowerFactory()).get(CHANGELIST)

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
