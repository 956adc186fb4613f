import calendar
from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from ledger.models import BusinessDate
from loans.models import Loan
from tests.loans.helpers import assert_books_clean


def _a_month_after(day: date) -> date:
    year, month = (day.year, day.month + 1) if day.month < 12 else (day.year + 1, 1)
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


@pytest.mark.django_db
def test_the_demo_starts_75_days_ago_and_shows_loans_in_arrears(settings):
    settings.DEBUG = True
    today = timezone.localdate()
    first_day = today - timedelta(days=75)

    out = StringIO()
    call_command("seed_demo", stdout=out)
    call_command("seed_demo", stdout=StringIO())  # a second run adds nothing

    assert BusinessDate.objects.get().date == today
    late = Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("pk")
    assert late.count() == 2
    expected_days = (today - _a_month_after(first_day)).days  # the first installment's age
    assert {(loan.disbursed_on, loan.days_past_due) for loan in late} == {
        (first_day, expected_days)
    }
    assert Loan.objects.filter(status=Loan.Status.APPLIED).count() == 1
    assert "late@example.com" in out.getvalue()
    assert_books_clean()


@pytest.mark.django_db
def test_the_demo_is_refused_outside_debug(settings):
    settings.DEBUG = False

    with pytest.raises(CommandError, match="development only"):
        call_command("seed_demo")
