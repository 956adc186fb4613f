"""The email settings come from EMAIL_URL (read in a fresh process per case)."""

import json
import subprocess
import sys

import pytest

from tests.lendingsite.test_settings import ROOT, URL, _environment

PROBE = """
import json
from django.conf import settings
print(json.dumps({key: getattr(settings, key) for key in (
    "EMAIL_BACKEND", "EMAIL_HOST", "EMAIL_PORT", "EMAIL_HOST_USER", "EMAIL_HOST_PASSWORD",
    "EMAIL_USE_TLS", "EMAIL_USE_SSL")}))
"""


def email_settings(**variables: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=ROOT,
        env=_environment(**variables),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize(
    ("variables", "expected"),
    [
        (
            {"EMAIL_URL": "smtp+tls://sender:pa55@smtp.example.com:587"},
            [SMTP, "smtp.example.com", 587, "sender", "pa55", True, False],
        ),
        (
            {"EMAIL_URL": "smtp+ssl://sender:pa55@smtp.example.com:465"},
            [SMTP, "smtp.example.com", 465, "sender", "pa55", False, True],
        ),
        ({}, [SMTP, "localhost", 25, "", "", False, False]),  # production: a local MTA
        (
            {"DEBUG": "1"},
            [
                "django.core.mail.backends.console.EmailBackend",
                "localhost",
                25,
                "",
                "",
                False,
                False,
            ],
        ),
        (
            {"EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend"},
            ["anymail.backends.postmark.EmailBackend", "localhost", 25, "", "", False, False],
        ),
    ],
)
def test_email_url(variables, expected):
    found = email_settings(DATABASE_URL=URL, **variables)

    assert list(found.values()) == expected
