from decimal import Decimal

import pytest
from rest_framework.settings import api_settings


def test_api_renders_decimals_as_exact_strings_in_compact_utf8_json():
    renderer = api_settings.DEFAULT_RENDERER_CLASSES[0]()

    body = renderer.render({"amount": Decimal("10.50"), "name": "Zoë", "items": [1, None]})

    assert renderer.media_type == "application/json"
    assert body == '{"amount":"10.50","name":"Zoë","items":[1,null]}'.encode()


QUOTE = {"principal_amount": "1000.00", "tenure_months": 6, "interest_rate": "12.00"}
CALCULATE_EMI = "/api/loans/calculate-emi"


@pytest.mark.django_db
@pytest.mark.parametrize(
    "accept",
    [None, "*/*", "application/json", "application/*", "application/json; q=0.9, */*; q=0.1"],
)
def test_json_is_chosen_for_a_client_that_takes_it(borrower_client, accept):
    """The shortcut of lendingsite.negotiation and DRF's own negotiation answer alike."""
    headers = {"HTTP_ACCEPT": accept} if accept else {}

    response = borrower_client.post(CALCULATE_EMI, QUOTE, format="json", **headers)

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["tenure_months"] == 6


@pytest.mark.django_db
@pytest.mark.parametrize("accept", ["text/html", "application/xml"])
def test_a_client_that_takes_no_json_is_answered_406(borrower_client, accept):
    response = borrower_client.post(CALCULATE_EMI, QUOTE, format="json", HTTP_ACCEPT=accept)

    assert response.status_code == 406


@pytest.mark.django_db
def test_an_unknown_format_parameter_is_still_refused(borrower_client):
    response = borrower_client.post(f"{CALCULATE_EMI}?format=html", QUOTE, format="json")

    assert response.status_code == 404
