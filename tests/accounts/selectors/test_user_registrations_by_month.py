from datetime import date, datetime

import pytest
from django.utils import timezone

from accounts.models import User
from accounts.selectors import user_registrations_by_month
from tests.accounts.factories import BorrowerFactory, OfficerFactory

# Months are calendar months in the site's time zone (TIME_ZONE).
LOCAL = timezone.get_default_timezone()


def _joined(user: User, when: datetime) -> None:
    User.objects.filter(pk=user.pk).update(date_joined=when)


@pytest.mark.django_db
def test_counts_borrowers_per_month_with_zero_for_empty_months():
    for when in [
        datetime(2026, 1, 1, 0, 0, tzinfo=LOCAL),  # first instant of January
        datetime(2026, 1, 31, 23, 59, tzinfo=LOCAL),
        datetime(2026, 3, 15, 12, 0, tzinfo=LOCAL),
        datetime(2025, 10, 31, 23, 59, tzinfo=LOCAL),  # before the window
        datetime(2026, 4, 1, 0, 0, tzinfo=LOCAL),  # after the window
    ]:
        _joined(BorrowerFactory(), when)
    _joined(OfficerFactory(), datetime(2026, 3, 2, tzinfo=LOCAL))  # not a registration

    counts = user_registrations_by_month(months=5, until=date(2026, 3, 31))

    assert counts == [
        (date(2025, 11, 1), 0),
        (date(2025, 12, 1), 0),
        (date(2026, 1, 1), 2),
        (date(2026, 2, 1), 0),
        (date(2026, 3, 1), 1),
    ]


@pytest.mark.django_db
def test_defaults_to_twelve_months_ending_this_month():
    BorrowerFactory()

    counts = user_registrations_by_month()

    assert len(counts) == 12
    assert counts[-1][1] == 1
    assert sum(count for _, count in counts) == 1
