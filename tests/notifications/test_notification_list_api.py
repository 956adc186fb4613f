"""GET /api/notifications: the caller's own notifications, newest first, paged."""

from datetime import date

import pytest

from notifications.models import Notification
from notifications.services import notification_add
from tests.accounts.factories import BorrowerFactory
from tests.conftest import client_for

URL = "/api/notifications"


def add(borrower, ref):
    notification_add(
        kind=Notification.Kind.REPAYMENT_RECEIVED,
        ref=ref,
        recipient_id=borrower.pk,
        business_date=date(2026, 1, 10),
        loan_id=9,
        payload={"amount": f"{ref}00.00"},
    )


@pytest.mark.django_db
def test_a_borrower_sees_only_their_own_newest_first(borrower, borrower_client):
    for ref in (1, 2, 3):
        add(borrower, ref)
    add(BorrowerFactory(), 4)

    response = borrower_client.get(URL)

    assert response.status_code == 200
    body = response.json()
    assert [row["details"]["amount"] for row in body] == ["300.00", "200.00", "100.00"]
    first = body[0]
    assert first["kind"] == "repayment_received"
    assert first["title"] == "We have received your payment (loan 9)"
    assert first["loan_id"] == 9
    assert first["business_date"] == "2026-01-10"
    assert (first["channel"], first["state"], first["sent_at"]) == ("EMAIL", "PENDING", None)
    assert "Link" not in response


@pytest.mark.django_db
def test_pages_follow_the_link_header(borrower, borrower_client):
    for ref in range(1, 6):
        add(borrower, ref)

    first = borrower_client.get(URL, {"limit": 2})
    second = borrower_client.get(first["Link"].split(";")[0].strip("<>"))
    third = borrower_client.get(second["Link"].split(";")[0].strip("<>"))

    pages = [[row["details"]["amount"] for row in page.json()] for page in (first, second, third)]
    assert pages == [["500.00", "400.00"], ["300.00", "200.00"], ["100.00"]]
    assert 'rel="next"' in first["Link"]
    assert "Link" not in third


@pytest.mark.django_db
def test_someone_with_no_notifications_gets_an_empty_list():
    assert client_for(BorrowerFactory()).get(URL).json() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("query", "field"),
    [({"limit": 0}, "limit"), ({"limit": "x"}, "limit"), ({"before": -1}, "before")],
)
def test_bad_paging_is_a_400_naming_the_field(borrower_client, query, field):
    response = borrower_client.get(URL, query)

    assert response.status_code == 400
    assert field in response.json()


def test_an_anonymous_caller_gets_401(api_client):
    response = api_client.get(URL)

    assert response.status_code == 401
    assert response.json()["code"] == "not_authenticated"
