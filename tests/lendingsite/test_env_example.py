"""`.env.example` lists every setting the settings module reads, and nothing else."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# env("NAME" ...), env.str("NAME" ...), env.int(\n    "NAME" ...) and the like.
READ = re.compile(r"""\benv(?:\.[a-z_]+)?\(\s*["']([A-Z][A-Z0-9_]*)["']""")
# NAME=value, or a commented-out "# NAME=value".
LISTED = re.compile(r"^#?\s*([A-Z][A-Z0-9_]*)=", re.MULTILINE)


def test_every_setting_read_is_listed_and_every_listed_one_is_read():
    read = set(READ.findall((ROOT / "lendingsite" / "settings.py").read_text()))
    listed = set(LISTED.findall((ROOT / ".env.example").read_text()))

    assert len(read) > 40  # the pattern still finds the settings module's reads
    assert sorted(read - listed) == [], "read by settings.py but missing from .env.example"
    assert sorted(listed - read) == [], "in .env.example but never read by settings.py"
