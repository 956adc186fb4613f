"""Schema-driven fuzzing: schemathesis against ``/api/schema/`` of a live gunicorn.

Every operation in the schema is exercised as a borrower and as an officer, with
generated valid and invalid inputs (examples, coverage and fuzzing phases). Every
check schemathesis has is on: no 5xx, every status, header and body conforms to the
schema, invalid input is refused, authentication is not ignored.

Usage: ``python -m reliability.fuzz --max-examples 25 --json var/reliability/fuzz.json``.
"""

import argparse
import json
import shutil
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

from reliability.service import ROOT, VAR, LiveService

CONFIG = Path(__file__).resolve().parent / "schemathesis.toml"


def seed_data() -> dict[str, str]:
    """A borrower with money and loans in every state, another borrower, two officers."""
    from accounts.models import User
    from accounts.services import user_create
    from accounts.tokens import token_pair_for
    from loans.services import loan_apply, loan_approve, loan_reject
    from wallets.services import wallet_deposit

    def user(email, role):
        return user_create(email=email, name=email.split("@")[0], password=None, role=role)

    borrower = user("fuzz-borrower@example.com", User.Role.BORROWER)
    other = user("fuzz-other@example.com", User.Role.BORROWER)
    officer = user("fuzz-officer@example.com", User.Role.OFFICER)
    checker = user("fuzz-checker@example.com", User.Role.OFFICER)
    for who in (borrower, other):
        wallet_deposit(user=who, amount=Decimal("50000.00"), idempotency_key="fuzz-seed")
        first, second, rejected, _ = (
            loan_apply(borrower=who, principal_amount=Decimal(principal), tenure_months=6)
            for principal in ("12000.00", "9000.00", "5000.00", "7000.00")
        )
        loan_approve(loan_id=first.pk, officer=officer)
        loan_approve(loan_id=second.pk, officer=officer)
        loan_reject(loan_id=rejected.pk, officer=checker, reason="Seeded rejection.")
    return {
        "borrower": token_pair_for(borrower)["access_token"],
        "officer": token_pair_for(checker)["access_token"],
    }


def run_schemathesis(
    service: LiveService, *, role: str, token: str, max_examples: int, seed: int
) -> dict:
    report_path = VAR / f"schemathesis-{role}.json"
    report_path.unlink(missing_ok=True)
    command = [
        shutil.which("st", path=str(Path(sys.executable).parent)) or "st",
        "--config-file",
        str(CONFIG),
        "--no-color",
        "run",
        f"{service.base_url}/api/schema/",
        "--header",
        f"Authorization: Bearer {token}",
        "--max-examples",
        str(max_examples),
        "--seed",
        str(seed),
        "--workers",
        "1",
        "--report",
        "json",
        "--report-json-path",
        str(report_path),
    ]
    started = time.monotonic()
    result = subprocess.run(  # noqa: S603
        command, cwd=ROOT, capture_output=True, text=True, timeout=1800, check=False
    )
    summary = {
        "role": role,
        "exit_code": result.returncode,
        "seconds": round(time.monotonic() - started, 1),
        "output_tail": result.stdout[-6000:] + result.stderr[-2000:],
    }
    if report_path.exists():
        summary["report"] = json.loads(report_path.read_text())
    return summary


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-examples", type=int, default=25)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", type=Path, default=VAR / "fuzz.json")
    args = parser.parse_args(argv)

    extra_env = {"THROTTLE_ANON_RATE": "1000000/min", "THROTTLE_USER_RATE": "1000000/min"}
    with LiveService(name="fuzz", workers=2, threads=4, extra_env=extra_env) as service:
        service.setup_django()
        tokens = seed_data()
        runs = [
            run_schemathesis(
                service, role=role, token=token, max_examples=args.max_examples, seed=args.seed
            )
            for role, token in tokens.items()
        ]
        reconcile = service.manage("reconcile", "--json", check=False)
    result = {
        "max_examples": args.max_examples,
        "runs": runs,
        "reconcile_exit_code": reconcile.returncode,
        "passed": all(r["exit_code"] == 0 for r in runs) and reconcile.returncode == 0,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(result, indent=2))
    for run in runs:
        print(f"--- schemathesis as {run['role']}: exit {run['exit_code']}, {run['seconds']} s")
        print(run["output_tail"])
    return 0 if result["passed"] else 1


if __name__ == "__main__":
    sys.exit(main())
