"""Calendar months in the site's time zone, for figures counted per month."""

from datetime import date, datetime, time

from django.utils import timezone


def _month_start(index: int) -> date:
    """Return the first day of the month numbered ``year * 12 + month - 1``."""
    return date(index // 12, index % 12 + 1, 1)


def month_starts(*, months: int, until: date) -> list[date]:
    """Return the first days of the ``months`` calendar months ending with ``until``'s."""
    last = until.year * 12 + until.month - 1
    return [_month_start(index) for index in range(last - months + 1, last + 1)]


def month_window(
    *, months: int, until: date | None = None
) -> tuple[list[date], datetime, datetime]:
    """Return the month starts and the aware ``[since, before)`` bounds covering them.

    ``until`` defaults to today; the window ends with the end of ``until``'s month.
    """
    until = until or timezone.localdate()
    starts = month_starts(months=months, until=until)
    end = _month_start(until.year * 12 + until.month)
    since, before = (
        timezone.make_aware(datetime.combine(day, time.min)) for day in (starts[0], end)
    )
    return starts, since, before
