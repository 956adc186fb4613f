from django.conf import settings
from django.core.management.base import BaseCommand

from accounts.login_throttle import login_failures_purge


class Command(BaseCommand):
    help = (
        "Delete failed-login counters whose window (LOGIN_LOCKOUT_MINUTES) has ended; "
        "they no longer refuse anything."
    )

    def handle(self, *args, **options):
        deleted = login_failures_purge()
        self.stdout.write(
            f"Deleted {deleted} failed-login counter(s) older than "
            f"{settings.LOGIN_LOCKOUT_MINUTES} minutes."
        )
