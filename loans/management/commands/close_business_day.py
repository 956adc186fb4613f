import re
import sys
from datetime import date, timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from ledger.selectors import business_date_get
from loans.close_of_business import CHUNK_SIZE, business_days_close


def _partition(value: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d+)/(\d+)", value)
    if not match or not 1 <= int(match[1]) <= int(match[2]):
        raise CommandError(f"--partition takes K/N with 1 <= K <= N, e.g. 1/2; not {value!r}.")
    return int(match[1]), int(match[2])


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"--date takes YYYY-MM-DD; not {value!r}.") from exc


class Command(BaseCommand):
    help = (
        "Close every open business day from the business date through --date (default: "
        "yesterday in TIME_ZONE): late fees, days past due and buckets for every active "
        "loan; the business date then moves on. Safe to re-run, to interrupt and to run "
        "in parallel (--partition K/N). Exits 1 listing the loans that failed."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--date", dest="through", type=_day, help="the last day to close (YYYY-MM-DD)"
        )
        parser.add_argument(
            "--allow-future",
            action="store_true",
            help="allow closing days after today (simulations, demos, tests)",
        )
        parser.add_argument(
            "--partition", type=_partition, default=(1, 1), help="this worker's part, K/N"
        )
        parser.add_argument("--chunk-size", type=int, default=CHUNK_SIZE)

    def handle(self, *args, through, allow_future, partition, chunk_size, **options):
        today = timezone.localdate()
        through = through or today - timedelta(days=1)
        if through > today and not allow_future:
            raise CommandError(
                f"{through} is after today ({today}): closing future days needs --allow-future."
            )
        if chunk_size < 1:
            raise CommandError("--chunk-size must be at least 1.")
        interactive = self.stdout.isatty()
        done: dict[date, int] = {}

        def progress(day, loans):
            done[day] = done.get(day, 0) + loans
            if interactive:
                self.stderr.write(f"  closing {day}: {done[day]} loans", ending="\r")

        def waiting(day):
            self.stderr.write(f"  {day}: this part is closed; waiting for the other parts")

        report = business_days_close(
            through=through,
            partition=partition,
            chunk_size=chunk_size,
            progress=progress,
            wait_for_others=waiting,
        )
        if report.caught_up:
            self.stdout.write(f"{report.caught_up} loan(s) behind the business date caught up.")
        if not report.days:
            self.stdout.write(
                f"Nothing more to do: {through} is already closed "
                f"(business date {business_date_get()})."
            )
            self._exit_on_failures(report)
            return
        totals = report.totals
        first, last = report.days[0], report.days[-1]
        span = str(first) if first == last else f"{first} to {last}"
        self.stdout.write(
            f"Closed {span} ({len(report.days)} day(s)); business date {business_date_get()}.\n"
            f"  loans closed (loan-days): {totals.loans_closed}\n"
            f"  newly overdue:            {totals.newly_overdue}\n"
            f"  late fees charged:        {totals.fees_charged} ({totals.fees_amount:.2f})\n"
            f"  bucket changes:           {totals.bucket_changes}\n"
            f"  loans written off:        {totals.written_off} ({totals.written_off_amount:.2f})\n"
            f"  failures:                 {len(report.failures)}"
        )
        self._exit_on_failures(report)

    def _exit_on_failures(self, report):
        if report.failures:
            for failure in report.failures:
                self.stdout.write(f"    loan {failure.loan_id} on {failure.day}: {failure.error}")
            sys.exit(1)
