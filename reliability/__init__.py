"""The hostile-world suite: torture runs with crash faults, fuzzing, and the report.

``make reliability`` runs the full suite and rewrites ``docs/RELIABILITY.md``; the short
forms run inside ``make test`` (``tests/reliability/``).
"""
