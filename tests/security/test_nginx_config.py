"""What the deployed nginx keeps off the internet and how hard it lets logins be tried.

Read from the configuration itself (deploy/nginx/nginx.conf.template); the cluster suite
runs it, but from loopback, which every rule below allows.
"""

import re
from pathlib import Path

CONF = (Path(__file__).resolve().parents[2] / "deploy/nginx/nginx.conf.template").read_text()


def _location(pattern: str) -> str:
    match = re.search(r"location " + pattern + r" \{(.*?)\n        \}", CONF, re.S)
    assert match, f"no location {pattern}"
    return match.group(1)


def test_the_admin_login_has_the_login_rate_limit():
    block = _location(re.escape("= /admin/login/"))

    assert "limit_req zone=auth" in block


def test_the_api_schema_and_docs_are_for_loopback_only():
    block = _location(re.escape("~ ^/api/(docs|schema)/"))

    assert "allow 127.0.0.0/8;" in block
    assert block.strip().splitlines()[2].strip() == "deny all;"


def test_metrics_are_for_loopback_only():
    block = _location(re.escape("= /metrics"))

    assert "allow 127.0.0.0/8;" in block and "deny all;" in block
