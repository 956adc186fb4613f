import json
import sys
import time

from django.core.management.base import BaseCommand
from django.core.serializers.json import DjangoJSONEncoder

from ledger.reconciliation import reconcile


class Command(BaseCommand):
    help = (
        "Check the books: cached balances against postings, balanced entries, the book "
        "summing to zero, system accounts, and loans against their schedules and the "
        "loans-receivable account. Exits 1 on any mismatch, 0 when clean."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="print the result as JSON")
        parser.add_argument(
            "--limit", type=int, default=20, help="mismatching rows shown per check (table)"
        )

    def handle(self, *args, **options):
        interactive = self.stdout.isatty() and not options["json"]
        started = time.monotonic()

        def progress(number, total, check):
            if interactive:
                bar = "#" * number + "." * (total - number)
                self.stderr.write(f"  [{bar}] {number}/{total} {check.name:<30}", ending="\r")

        results = reconcile(progress=progress)
        elapsed = time.monotonic() - started
        clean = all(result.ok for result in results)

        if options["json"]:
            payload = {
                "clean": clean,
                "seconds": round(elapsed, 3),
                "checks": [
                    {
                        "name": r.check.name,
                        "description": r.check.description,
                        "ok": r.ok,
                        "mismatches": r.mismatches,
                    }
                    for r in results
                ],
            }
            self.stdout.write(json.dumps(payload, cls=DjangoJSONEncoder, indent=2))
        else:
            self._print_table(results, options["limit"], elapsed)
        if not clean:
            sys.exit(1)

    def _print_table(self, results, limit, elapsed):
        width = max(len(r.check.name) for r in results)
        for result in results:
            status = self.style.SUCCESS("ok") if result.ok else self.style.ERROR("MISMATCH")
            self.stdout.write(
                f"{result.check.name:<{width}}  {status:<8}  {result.check.description}"
            )
            if result.ok:
                continue
            columns = result.check.columns
            widths = [
                max(len(c), *(len(str(row[c])) for row in result.mismatches[:limit]))
                for c in columns
            ]
            header = "  ".join(f"{c:>{w}}" for c, w in zip(columns, widths, strict=True))
            self.stdout.write(f"    {header}")
            for row in result.mismatches[:limit]:
                line = "  ".join(f"{row[c]!s:>{w}}" for c, w in zip(columns, widths, strict=True))
                self.stdout.write(f"    {line}")
            if len(result.mismatches) > limit:
                self.stdout.write(f"    … and {len(result.mismatches) - limit} more")
        bad = sum(len(r.mismatches) for r in results)
        verdict = (
            self.style.SUCCESS("books are clean")
            if not bad
            else self.style.ERROR(f"{bad} mismatch(es)")
        )
        self.stdout.write(f"{verdict} ({elapsed:.2f}s)")
