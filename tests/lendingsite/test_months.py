from datetime import date, datetime

from django.utils import timezone

from lendingsite.months import month_starts, month_window

# Months are calendar months in the site's time zone (TIME_ZONE).
LOCAL = timezone.get_default_timezone()


def test_month_starts_cross_the_year_boundary():
    assert month_starts(months=4, until=date(2026, 2, 17)) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
        date(2026, 2, 1),
    ]


def test_month_window_ends_with_the_end_of_the_last_month():
    starts, since, before = month_window(months=2, until=date(2025, 12, 31))

    assert starts == [date(2025, 11, 1), date(2025, 12, 1)]
    assert since == datetime(2025, 11, 1, tzinfo=LOCAL)
    assert before == datetime(2026, 1, 1, tzinfo=LOCAL)
