"""Latency and throughput summaries. Pure functions: no Django, no I/O."""

import math
from collections.abc import Iterable, Sequence

PERCENTILES = (50, 90, 99)


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Return the nearest-rank ``p``-th percentile of ascending ``sorted_values``.

    The result is always one of the observed values: the smallest one such that at
    least ``p`` per cent of the observations are less than or equal to it.
    """
    if not sorted_values:
        raise ValueError("percentile of an empty sample")
    if not 0 <= p <= 100:
        raise ValueError(f"percentile out of range: {p}")
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def is_error(status: str) -> bool:
    """A status key is an error unless it is a 2xx code (transport failures are errors)."""
    return not (status.isdigit() and 200 <= int(status) < 300)


def summarize(
    latencies: Iterable[float],
    *,
    window_seconds: float,
    statuses: dict[str, int],
) -> dict:
    """Summarize one measured window.

    ``latencies`` are in seconds, one per request completed inside the window;
    ``statuses`` counts every response of the run by status code (or by transport
    error name), warm-up included, so that an error is never hidden.
    """
    ordered = sorted(latencies)
    summary = {
        "requests": len(ordered),
        "window_seconds": round(window_seconds, 3),
        "throughput": round(len(ordered) / window_seconds, 2) if window_seconds > 0 else 0.0,
        "statuses": dict(sorted(statuses.items())),
        "errors": sum(count for status, count in statuses.items() if is_error(status)),
    }
    for p in PERCENTILES:
        summary[f"p{p}_ms"] = round(percentile(ordered, p) * 1000, 2) if ordered else None
    summary["max_ms"] = round(ordered[-1] * 1000, 2) if ordered else None
    return summary
