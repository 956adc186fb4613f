import pytest

from bench.stats import is_error, percentile, summarize


def test_nearest_rank_percentiles_of_one_to_a_hundred():
    values = list(range(1, 101))

    assert percentile(values, 50) == 50
    assert percentile(values, 90) == 90
    assert percentile(values, 99) == 99
    assert percentile(values, 100) == 100
    assert percentile(values, 0) == 1


def test_percentile_is_always_an_observed_value():
    values = [0.010, 0.020, 0.500]

    assert percentile(values, 50) == 0.020
    assert percentile(values, 90) == 0.500
    assert percentile([0.3], 99) == 0.3


def test_percentile_of_nothing_or_out_of_range_is_refused():
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)
    with pytest.raises(ValueError, match="out of range"):
        percentile([1.0], 101)


@pytest.mark.parametrize(
    ("status", "error"),
    [("200", False), ("201", False), ("299", False), ("301", True), ("400", True),
     ("409", True), ("500", True), ("ServerDisconnectedError", True)],
)  # fmt: skip
def test_anything_but_2xx_is_an_error(status, error):
    assert is_error(status) is error


def test_summary_counts_errors_from_every_status_and_rates_the_window():
    latencies = [0.004, 0.001, 0.003, 0.002]  # unsorted on purpose

    summary = summarize(
        latencies, window_seconds=2.0, statuses={"200": 4, "409": 2, "ClientOSError": 1}
    )

    assert summary["requests"] == 4
    assert summary["throughput"] == 2.0
    assert summary["errors"] == 3
    assert summary["statuses"] == {"200": 4, "409": 2, "ClientOSError": 1}
    assert (summary["p50_ms"], summary["p90_ms"], summary["p99_ms"]) == (2.0, 4.0, 4.0)
    assert summary["max_ms"] == 4.0


def test_summary_of_a_window_without_responses_has_no_percentiles():
    summary = summarize([], window_seconds=5.0, statuses={"ServerDisconnectedError": 3})

    assert summary["requests"] == 0
    assert summary["throughput"] == 0.0
    assert summary["p99_ms"] is None
    assert summary["errors"] == 3
