import pytest

from bench.pgbench import parse_output

PGBENCH_15_OUTPUT = """\
pgbench (15.20 (Debian 15.20-0+deb12u1))
transaction type: <builtin: TPC-B (sort of)>
scaling factor: 10
query mode: simple
number of clients: 16
number of threads: 2
maximum number of tries: 1
duration: 30 s
number of transactions actually processed: 58731
number of failed transactions: 0 (0.000%)
latency average = 8.139 ms
initial connection time = 21.507 ms
tps = 1965.491234 (without initial connection time)
"""


def test_pgbench_summary_is_read():
    assert parse_output(PGBENCH_15_OUTPUT) == {
        "tps": 1965.49,
        "latency_ms": 8.14,
        "transactions": 58731,
        "failed": 0,
    }


def test_output_without_a_tps_line_is_refused():
    with pytest.raises(ValueError, match="no tps line"):
        parse_output("pgbench: error: connection to server failed\n")
