from decimal import Decimal

from rest_framework.settings import api_settings


def test_api_renders_decimals_as_exact_strings_in_compact_utf8_json():
    renderer = api_settings.DEFAULT_RENDERER_CLASSES[0]()

    body = renderer.render({"amount": Decimal("10.50"), "name": "Zoë", "items": [1, None]})

    assert renderer.media_type == "application/json"
    assert body == '{"amount":"10.50","name":"Zoë","items":[1,null]}'.encode()
