from datetime import date, datetime, time

from django.db.models import Count
from django.db.models.functions import TruncMonth
from django.utils import timezone

from accounts.models import User


def _month_start(index: int) -> date:
    """Return the first day of the month numbered ``year * 12 + month - 1``."""
    return date(index // 12, index % 12 + 1, 1)


def month_starts(*, months: int, until: date) -> list[date]:
    """Return the first days of the ``months`` calendar months ending with ``until``'s."""
    last = until.year * 12 + until.month - 1
    return [_month_start(index) for index in range(last - months + 1, last + 1)]


def user_registrations_by_month(
    *, months: int = 12, until: date | None = None
) -> list[tuple[date, int]]:
    """Count borrowers who joined in each of the last ``months`` months, oldest first.

    Months are calendar months in the site's time zone; a month without sign-ups counts 0.
    """
    until = until or timezone.localdate()
    starts = month_starts(months=months, until=until)
    end = _month_start(until.year * 12 + until.month)
    since, before = (
        timezone.make_aware(datetime.combine(day, time.min)) for day in (starts[0], end)
    )
    rows = (
        User.objects.filter(role=User.Role.BORROWER, date_joined__gte=since, date_joined__lt=before)
        .annotate(month=TruncMonth("date_joined"))
        .values("month")
        .annotate(count=Count("pk"))
        .values_list("month", "count")
    )
    by_month = {month.date(): count for month, count in rows}
    return [(start, by_month.get(start, 0)) for start in starts]
