"""Claims of the documentation that code can check, checked."""

from pathlib import Path

from django.conf import settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_architecture_lists_the_whole_middleware_chain_in_order():
    text = (ROOT / "docs" / "ARCHITECTURE.md").read_text()
    rows = [line for line in text.splitlines() if line.startswith("| ") and "`" in line]
    documented = [
        row.split("`")[1].replace("…", ".").rsplit(".", 1)[-1]
        for row in rows
        if row.split("|")[1].strip().isdigit()
    ]

    assert documented == [path.rsplit(".", 1)[-1] for path in settings.MIDDLEWARE]
