"""Hypothesis drives the wallet and loan state machine through the API against a model.

The model is the business rules in a few lines: a balance, and per loan a status,
what it owes and who approved it. After every step the API must agree with the model,
and after every run the books must reconcile.
"""

import json
import os
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.conftest import client_for
from tests.loans.helpers import assert_books_clean

CENT = Decimal("0.01")
MAX_PRINCIPAL = Decimal("500000.00")
MAKER_CHECKER = Decimal("200000.00")
MAX_OPEN = 2
EXAMPLES = int(os.environ.get("RELIABILITY_STATEFUL_EXAMPLES", "12"))
STEPS = int(os.environ.get("RELIABILITY_STATEFUL_STEPS", "30"))

amounts = st.decimals(min_value=CENT, max_value=Decimal("300000.00"), places=2)
principals = st.one_of(
    st.decimals(min_value=Decimal("100.00"), max_value=Decimal("50000.00"), places=2),
    st.decimals(min_value=MAKER_CHECKER, max_value=MAX_PRINCIPAL, places=2),
    st.just(MAX_PRINCIPAL + CENT),
)
tenures = st.one_of(st.integers(1, 60), st.sampled_from([61, 120]))
rates = st.decimals(min_value=Decimal("0.00"), max_value=Decimal("50.00"), places=2)


@dataclass
class ModelLoan:
    principal: Decimal
    total_interest: Decimal
    status: str = "APPLIED"
    outstanding: Decimal = Decimal("0.00")
    approved_by: int | None = None


class LendingMachine(RuleBasedStateMachine):
    steps = 0

    @initialize()
    def open_accounts(self):
        self.borrower = BorrowerFactory()
        self.api = client_for(self.borrower)
        self.officers = [client_for(OfficerFactory()) for _ in range(2)]
        self.balance = Decimal("0.00")
        self.loans: dict[int, ModelLoan] = {}
        self.answers: dict[tuple[str, str], tuple[dict, int, dict]] = {}
        self.serial = 0

    # --- helpers --------------------------------------------------------------------
    def _money(self, path: str, payload: dict):
        type(self).steps += 1
        self.serial += 1
        key = f"key-{self.serial}"
        response = self.api.post(path, {**payload, "idempotency_key": key}, format="json")
        self.answers[(path, key)] = (payload, response.status_code, response.json())
        return response

    def _open_loans(self, excluding=None) -> int:
        return sum(
            1
            for loan_id, loan in self.loans.items()
            if loan.status in ("APPROVED", "ACTIVE") and loan_id != excluding
        )

    # --- the wallet -----------------------------------------------------------------
    @rule(amount=amounts)
    def deposit(self, amount):
        response = self._money("/api/wallet/deposit", {"amount": str(amount)})

        assert response.status_code == 201, response.content
        self.balance += amount
        assert Decimal(response.json()["balance"]) == self.balance

    @rule(amount=amounts)
    def withdraw(self, amount):
        response = self._money("/api/wallet/withdraw", {"amount": str(amount)})

        if amount > self.balance:
            assert response.status_code == 400
            assert response.json()["code"] == "insufficient_funds"
        else:
            assert response.status_code == 201, response.content
            self.balance -= amount

    # --- loans ----------------------------------------------------------------------
    @rule(principal=principals, tenure=tenures, rate=rates)
    def apply(self, principal, tenure, rate):
        type(self).steps += 1
        body = {"principal_amount": str(principal), "tenure_months": tenure, "interest_rate": rate}
        response = self.api.post("/api/loans/apply", body, format="json")

        if principal > MAX_PRINCIPAL:
            assert response.json()["code"] == "principal_above_maximum"
        elif tenure > 60:
            assert response.json()["code"] == "tenure_out_of_range"
        elif self._open_loans() >= MAX_OPEN:
            assert response.json()["code"] == "too_many_open_loans"
        else:
            assert response.status_code == 201, response.content
            loan = response.json()
            assert loan["status"] == "APPLIED"
            self.loans[loan["id"]] = ModelLoan(principal, Decimal(loan["total_interest"]))
            return
        assert response.status_code == 400

    @precondition(lambda self: self.loans)
    @rule(data=st.data(), officer=st.integers(0, 1), approve=st.booleans())
    def decide(self, data, officer, approve):
        type(self).steps += 1
        loan_id = data.draw(st.sampled_from(sorted(self.loans)))
        loan = self.loans[loan_id]
        body = {"loan_id": loan_id, "approved": approve, "rejection_reason": "Not this time."}
        response = self.officers[officer].post("/api/loans/admin/approve", body, format="json")

        if not approve:
            if loan.status == "APPLIED":
                assert response.status_code == 200, response.content
                loan.status = "REJECTED"
            else:
                assert response.status_code == 409
            return
        if loan.status == "APPLIED":
            if self._open_loans(excluding=loan_id) >= MAX_OPEN:
                assert response.json()["code"] == "too_many_open_loans"
                return
            loan.approved_by = officer
            if loan.principal >= MAKER_CHECKER:
                loan.status = "APPROVED"
            else:
                self._disbursed(loan)
        elif loan.status == "APPROVED":
            if loan.approved_by == officer:
                assert response.status_code == 409
                assert response.json()["code"] == "maker_checker"
                return
            self._disbursed(loan)
        else:
            assert response.status_code == 409
            assert response.json()["code"] == "invalid_state"
            return
        assert response.status_code == 200, response.content
        assert response.json()["status"] == loan.status

    def _disbursed(self, loan: ModelLoan) -> None:
        loan.status = "ACTIVE"
        loan.outstanding = loan.principal + loan.total_interest
        self.balance += loan.principal

    @precondition(lambda self: self.loans)
    @rule(data=st.data(), share=st.sampled_from(["all", "part", "too_much", "tiny"]))
    def repay(self, data, share):
        loan_id = data.draw(st.sampled_from(sorted(self.loans)))
        loan = self.loans[loan_id]
        owed = loan.outstanding
        amount = {
            "all": owed,
            "part": (owed / 3).quantize(CENT),
            "too_much": owed + CENT,
            "tiny": CENT,
        }[share]
        if amount <= 0:
            amount = CENT
        response = self._money(
            "/api/repayments/make-payment", {"loan_id": loan_id, "amount": str(amount)}
        )

        if loan.status != "ACTIVE":
            assert response.status_code == 409
        elif amount > owed:
            assert response.json()["code"] == "amount_exceeds_outstanding"
        elif amount > self.balance:
            assert response.json()["code"] == "insufficient_funds"
        else:
            assert response.status_code == 201, response.content
            self.balance -= amount
            loan.outstanding -= amount
            if loan.outstanding == 0:
                loan.status = "CLOSED"
            assert response.json()["loan_closed"] is (loan.status == "CLOSED")
            return
        assert response.status_code in (400, 409)

    # --- retries --------------------------------------------------------------------
    @precondition(lambda self: self.answers)
    @rule(data=st.data())
    def retry_with_the_same_body(self, data):
        type(self).steps += 1
        path, key = data.draw(st.sampled_from(sorted(self.answers)))
        payload, status, body = self.answers[(path, key)]

        response = self.api.post(path, {**payload, "idempotency_key": key}, format="json")

        assert (response.status_code, response.json()) == (status, body)
        assert response["Idempotent-Replayed"] == "true"

    @precondition(lambda self: self.answers)
    @rule(data=st.data())
    def retry_with_another_body(self, data):
        type(self).steps += 1
        path, key = data.draw(st.sampled_from(sorted(self.answers)))
        payload, _, _ = self.answers[(path, key)]
        changed = {**payload, "amount": str(Decimal(payload["amount"]) + CENT)}

        response = self.api.post(path, {**changed, "idempotency_key": key}, format="json")

        assert response.status_code == 422
        assert response.json()["code"] == "idempotency_key_reused"

    # --- the API agrees with the model ----------------------------------------------
    @invariant()
    def the_api_agrees_with_the_model(self):
        if not hasattr(self, "api"):
            return
        balance = self.api.get("/api/wallet/balance").json()["balance"]
        assert Decimal(balance) == self.balance
        for loan in self.api.get("/api/loans/my-loans").json():
            model = self.loans[loan["id"]]
            assert loan["status"] == model.status
            assert Decimal(loan["outstanding_amount"]) == model.outstanding

    def teardown(self):
        if hasattr(self, "api"):
            assert_books_clean()


@pytest.mark.django_db
def test_the_api_follows_the_model_of_wallets_and_loans():
    LendingMachine.steps = 0
    run_state_machine_as_test(
        LendingMachine,
        settings=settings(
            max_examples=EXAMPLES,
            stateful_step_count=STEPS,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
            database=None,
        ),
    )
    report_dir = os.environ.get("RELIABILITY_REPORT_DIR")
    if report_dir:
        Path(report_dir, "stateful.json").write_text(
            json.dumps({"examples": EXAMPLES, "max_steps": STEPS, "steps": LendingMachine.steps})
        )
    assert LendingMachine.steps > 0
