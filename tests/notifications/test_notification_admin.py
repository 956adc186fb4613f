"""The outbox in the back office: read-only, filterable, with each row's delivery."""

from datetime import date

import pytest
from django.urls import reverse

from notifications.models import Notification
from notifications.services import notification_add
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory

CHANGELIST = reverse("admin:notifications_notification_changelist")


@pytest.fixture(params=["officer", "admin"])
def staff_client(request, client, db):
    client.force_login(OfficerFactory() if request.param == "officer" else AdminFactory())
    return client


def add(borrower, ref, kind=Notification.Kind.LOAN_CLOSED) -> Notification:
    notification_add(
        kind=kind,
        ref=ref,
        recipient_id=borrower.pk,
        business_date=date(2026, 1, 10),
        loan_id=ref,
        payload={"principal_amount": "1000.00", "closed_on": "2026-01-10"},
    )
    return Notification.objects.get(event_key=f"{kind}:{ref}")


def test_the_outbox_lists_delivery_state_attempts_and_last_error(staff_client):
    borrower = BorrowerFactory(email="ravi@example.com")
    failed = add(borrower, 41)
    Notification.objects.filter(pk=failed.pk).update(
        state="FAILED", attempts=10, last_error="SMTPDataError: (451, b'Mailbox busy')"
    )
    add(borrower, 42)

    response = staff_client.get(CHANGELIST)

    assert response.status_code == 200
    assert "ravi@example.com" in response.text
    assert "SMTPDataError: (451, b&#x27;Mailbox busy&#x27;)" in response.text
    assert [row.loan_id for row in response.context["cl"].result_list] == [42, 41]
    assert reverse("admin:notifications_notification_add") not in response.text


@pytest.mark.parametrize(
    ("query", "loans"),
    [
        ({"state__exact": "FAILED"}, [41]),
        ({"state__exact": "PENDING"}, [43, 42]),
        ({"kind": "fee_waived"}, [43]),
        ({"q": "42"}, [42]),
        ({"q": "ravi@"}, [43, 42, 41]),
        ({"q": "not-a-number"}, []),
    ],
)
def test_filters_and_search(staff_client, query, loans):
    borrower = BorrowerFactory(email="ravi@example.com")
    failed = add(borrower, 41)
    Notification.objects.filter(pk=failed.pk).update(state="FAILED", last_error="x")
    add(borrower, 42)
    add(borrower, 43, kind=Notification.Kind.FEE_WAIVED)

    response = staff_client.get(CHANGELIST, query)

    assert response.status_code == 200
    assert [row.loan_id for row in response.context["cl"].result_list] == loans


def test_a_row_is_read_only(staff_client):
    row = add(BorrowerFactory(), 7)
    change = reverse("admin:notifications_notification_change", args=[row.pk])
    delete = reverse("admin:notifications_notification_delete", args=[row.pk])

    page = staff_client.get(change)
    assert page.status_code == 200
    assert 'name="_save"' not in page.text
    assert staff_client.post(change, {"state": "SENT"}).status_code == 403
    assert staff_client.post(delete, {"post": "yes"}).status_code == 403
    row.refresh_from_db()
    assert row.state == Notification.State.PENDING
