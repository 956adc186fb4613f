import json
from io import StringIO

from django.core.management import call_command


def assert_books_clean():
    """Run ``manage.py reconcile``; fail with its findings unless the books are clean."""
    out = StringIO()
    try:
        call_command("reconcile", "--json", stdout=out)
    except SystemExit as exc:
        raise AssertionError(f"reconcile found mismatches: {out.getvalue()}") from exc
    assert json.loads(out.getvalue())["clean"] is True
