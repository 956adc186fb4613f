"""What each step of a golden scenario does, and the figures its expectations name.

An action is a function ``(run, step) -> Response | None`` registered under its name
with ``@action("name")``. It drives the real API (or, for officers' console-only
operations, the service the console calls) on the business date the runner has moved
to. The response it returns is what ``http``, ``code``, ``detail`` and ``body.*``
expectations read. README.md says how to add one.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Sum
from rest_framework.test import APIClient

from ledger.models import Account, Posting
from ledger.selectors import business_date_get
from loans.models import Loan
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.factories import LoanProductFactory
from tests.loans.golden.scenario import Scenario, ScenarioFormatError, Step, money
from tests.loans.servicing.helpers import close_through, set_business_date


@dataclass
class ScenarioRun:
    """One scenario being played: its loan, the people acting on it, the last answer."""

    scenario: Scenario
    borrower: object = None
    officer: object = None
    checker: object = None  # a second officer (maker-checker)
    loan_id: int | None = None
    response: object = None
    notes: dict = field(default_factory=dict)  # what actions leave for later ones

    @property
    def borrower_client(self) -> APIClient:
        return client_for(self.borrower)

    @property
    def officer_client(self) -> APIClient:
        return client_for(self.officer)

    @property
    def loan(self) -> Loan:
        return Loan.objects.get(pk=self.loan_id)

    def key(self, step: Step) -> str:
        """The step's idempotency key: ``key=...`` in its ``with`` cell, or ``step-N``."""
        return step.options.get("key", f"step-{step.number}")

    def move_to(self, day: date) -> None:
        """Make ``day`` the business date by closing every day before it."""
        today = business_date_get()
        if day < today:
            raise ScenarioFormatError(f"{day} is before the business date {today}")
        if day > today:
            close_through(date.fromordinal(day.toordinal() - 1))


Action = Callable[[ScenarioRun, Step], object]
ACTIONS: dict[str, Action] = {}


def action(name: str) -> Callable[[Action], Action]:
    def register(function: Action) -> Action:
        if name in ACTIONS:
            raise ValueError(f"the action {name!r} is registered twice")
        ACTIONS[name] = function
        return function

    return register


def _amount(step: Step) -> str:
    if step.amount is None:
        raise ScenarioFormatError(f"step {step.number}: {step.action!r} needs an amount")
    return f"{step.amount:.2f}"


# --- The loan ---------------------------------------------------------------------------

PRODUCT_PREFIX = "product."


def open_loan(run: ScenarioRun) -> None:
    """Disburse the scenario's loan on its start date, through the API.

    Terms: ``start``, ``principal``, ``tenure``, ``rate``, optionally ``method``
    (REDUCING or FLAT) and ``product.<field>`` rows, which sell the loan as a product of
    its own with those fields (e.g. ``product.grace_days``).
    """
    terms = run.scenario.terms
    set_business_date(date.fromisoformat(terms["start"]))
    run.borrower, run.officer, run.checker = BorrowerFactory(), OfficerFactory(), OfficerFactory()
    product = {
        name.removeprefix(PRODUCT_PREFIX): value
        for name, value in terms.items()
        if name.startswith(PRODUCT_PREFIX)
    }
    application = {
        "principal_amount": f"{money(terms['principal']):.2f}",
        "tenure_months": int(terms["tenure"]),
        "interest_rate": f"{money(terms['rate']):.2f}",
        "interest_method": terms.get("method", "REDUCING").upper(),
    }
    if product:
        application["product"] = LoanProductFactory(
            code="GOLDEN",
            max_principal=Decimal("10000000.00"),
            min_rate=Decimal("0"),
            max_rate=Decimal("50"),
            **product,
        ).code
    applied = run.borrower_client.post("/api/loans/apply", application, format="json")
    assert applied.status_code == 201, applied.json()
    run.loan_id = applied.json()["id"]
    for officer in (run.officer, run.checker):
        decided = client_for(officer).post(
            "/api/loans/admin/approve", {"loan_id": run.loan_id, "approved": True}, format="json"
        )
        assert decided.status_code == 200, decided.json()
        if decided.json()["status"] == Loan.Status.ACTIVE:
            return
    raise AssertionError("the loan was not disbursed")


# --- Actions ----------------------------------------------------------------------------


@action("check")
def check(run: ScenarioRun, step: Step):
    """Nothing happens: the date moves to the step's day and the figures are checked."""
    return None


@action("deposit")
def deposit(run: ScenarioRun, step: Step):
    """The borrower deposits ``amount`` into their wallet."""
    response = run.borrower_client.post(
        "/api/wallet/deposit",
        {"amount": _amount(step), "idempotency_key": run.key(step)},
        format="json",
    )
    if response.status_code == 201:
        run.notes[f"deposit-{step.number}"] = response.json()["transaction_id"]
    return response


@action("withdraw")
def withdraw(run: ScenarioRun, step: Step):
    """The borrower withdraws ``amount`` from their wallet."""
    return run.borrower_client.post(
        "/api/wallet/withdraw",
        {"amount": _amount(step), "idempotency_key": run.key(step)},
        format="json",
    )


@action("repay")
def repay(run: ScenarioRun, step: Step):
    """The borrower pays ``amount`` (``with: prepayment=REDUCE_EMI`` or ``REDUCE_TENURE``)."""
    body = {"loan_id": run.loan_id, "amount": _amount(step), "idempotency_key": run.key(step)}
    if "prepayment" in step.options:
        body["prepayment"] = step.options["prepayment"]
    response = run.borrower_client.post("/api/repayments/make-payment", body, format="json")
    if response.status_code == 201:
        run.notes[f"repayment-{step.number}"] = response.json()["repayment"]["id"]
    return response


@action("payoff")
def payoff(run: ScenarioRun, step: Step):
    """The borrower asks for the payoff quote (``with: date=YYYY-MM-DD``; default today)."""
    query = f"?date={step.options['date']}" if "date" in step.options else ""
    return run.borrower_client.get(f"/api/loans/{run.loan_id}/payoff{query}")


@action("versions")
def versions(run: ScenarioRun, step: Step):
    """The borrower lists the loan's schedule versions (``body.0.reason``, …)."""
    return run.borrower_client.get(f"/api/loans/{run.loan_id}/schedule/versions")


@action("foreclose")
def foreclose(run: ScenarioRun, step: Step):
    """The borrower pays the loan off today with ``amount`` (the payoff total)."""
    response = run.borrower_client.post(
        f"/api/loans/{run.loan_id}/foreclose",
        {"amount": _amount(step), "idempotency_key": run.key(step)},
        format="json",
    )
    if response.status_code == 201:
        run.notes[f"repayment-{step.number}"] = response.json()["repayment"]["id"]
    return response


def _officer(run: ScenarioRun, step: Step):
    """The officer acting: ``with: by=checker`` for the second officer (maker-checker)."""
    return run.checker if step.options.get("by") == "checker" else run.officer


@action("reverse")
def reverse(run: ScenarioRun, step: Step):
    """An officer reverses the repayment made at step ``with: step=N`` (``reason=...``)."""
    repayment_id = run.notes[f"repayment-{step.options['step']}"]
    return client_for(_officer(run, step)).post(
        f"/api/loans/{run.loan_id}/repayments/{repayment_id}/reverse",
        {"reason": step.options.get("reason", "Payment made in error")},
        format="json",
    )


@action("reverse-deposit")
def reverse_deposit(run: ScenarioRun, step: Step):
    """An officer reverses the deposit made at step ``with: step=N`` (it bounced), by its
    id in the borrower's ``GET /api/wallet/transactions``."""
    number = int(step.options["step"])
    made = next(s for s in run.scenario.steps if s.number == number)
    reference = f"deposit:{run.borrower.pk}:{run.key(made)}"
    rows = run.borrower_client.get("/api/wallet/transactions?limit=200").json()
    transaction_id = next(r["id"] for r in rows if r["reference_id"] == reference)
    return client_for(_officer(run, step)).post(
        f"/api/wallet/transactions/{transaction_id}/reverse",
        {"reason": step.options.get("reason", "The deposit bounced")},
        format="json",
    )


@action("write-off")
def write_off(run: ScenarioRun, step: Step):
    """An officer writes the loan off (``with: officer=checker`` for the second officer,
    ``reason=...``)."""
    officer = run.checker if step.options.get("officer") == "checker" else run.officer
    return client_for(officer).post(
        f"/api/loans/{run.loan_id}/write-off",
        {"reason": step.options.get("reason", "Unrecoverable")},
        format="json",
    )


@action("recover")
def recover(run: ScenarioRun, step: Step):
    """The borrower pays ``amount`` on the written-off loan: a recovery."""
    response = run.borrower_client.post(
        "/api/repayments/make-payment",
        {"loan_id": run.loan_id, "amount": _amount(step), "idempotency_key": run.key(step)},
        format="json",
    )
    if response.status_code == 201:
        run.notes[f"recovery-{step.number}"] = response.json()["recovery"]["id"]
    return response


# --- Figures ----------------------------------------------------------------------------
# An expectation's key names a figure. Exact keys are looked up in FIGURES; a key with a
# prefix (``loan.``, ``body.``, ``ledger.``) in PREFIXED.

Figure = Callable[[ScenarioRun], object]
FIGURES: dict[str, Figure] = {}
PREFIXED: dict[str, Callable[[ScenarioRun, str], object]] = {}


def figure(name: str) -> Callable[[Figure], Figure]:
    def register(function: Figure) -> Figure:
        FIGURES[name] = function
        return function

    return register


def _response_json(run: ScenarioRun):
    if run.response is None:
        raise ScenarioFormatError("this step's action gives no response to check")
    return run.response.json()


@figure("http")
def _http(run):
    if run.response is None:
        raise ScenarioFormatError("this step's action gives no response to check")
    return run.response.status_code


@figure("code")
def _code(run):
    return _response_json(run).get("code")


@figure("detail")
def _detail(run):
    return _response_json(run).get("detail")


@figure("wallet")
def _wallet(run):
    return Decimal(run.borrower_client.get("/api/wallet/balance").json()["balance"])


@figure("installments")
def _installments(run):
    return run.loan.installments.count()


@figure("versions")
def _versions(run):
    """How many schedule versions the loan has had (``/schedule/versions``)."""
    return len(run.borrower_client.get(f"/api/loans/{run.loan_id}/schedule/versions").json())


@figure("business_date")
def _business_date(run):
    return business_date_get().isoformat()


def _body(run, path: str):
    """A field of the step's response (``body.repayment.type``)."""
    return _body_of(_response_json(run), path)


def _loan(run, name: str):
    """A field of the loan as ``GET /api/loans/{id}`` shows it to its borrower."""
    return _body_of(run.borrower_client.get(f"/api/loans/{run.loan_id}").json(), name)


def _body_of(value, path: str):
    for part in path.split("."):
        value = value[int(part)] if isinstance(value, list) else value[part]
    return value


def _ledger(run, code: str):
    """A system account's balance on its normal side (assets and expenses: debits less
    credits)."""
    account = Account.objects.get(code=code)
    total = Posting.objects.filter(account=account).aggregate(s=Sum("amount"))["s"] or 0
    debit_normal = account.kind in (Account.Kind.ASSET, Account.Kind.EXPENSE)
    return Decimal(-total if debit_normal else total)


PREFIXED.update({"body": _body, "loan": _loan, "ledger": _ledger})


def figure_value(run: ScenarioRun, key: str):
    if key in FIGURES:
        return FIGURES[key](run)
    prefix, _, rest = key.partition(".")
    if prefix in PREFIXED and rest:
        return PREFIXED[prefix](run, rest)
    raise ScenarioFormatError(f"unknown figure {key!r} (see README.md)")
