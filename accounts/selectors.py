from datetime import date

from django.db.models import Count
from django.db.models.functions import TruncMonth

from accounts.models import User
from lendingsite.months import month_window


def user_registrations_by_month(
    *, months: int = 12, until: date | None = None
) -> list[tuple[date, int]]:
    """Count borrowers who joined in each of the last ``months`` months, oldest first.

    Months are calendar months in the site's time zone; a month without sign-ups counts 0.
    """
    starts, since, before = month_window(months=months, until=until)
    rows = (
        User.objects.filter(role=User.Role.BORROWER, date_joined__gte=since, date_joined__lt=before)
        .annotate(month=TruncMonth("date_joined"))
        .values("month")
        .annotate(count=Count("pk"))
        .values_list("month", "count")
    )
    by_month = {month.date(): count for month, count in rows}
    return [(start, by_month.get(start, 0)) for start in starts]
