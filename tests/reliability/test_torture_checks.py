"""The torture run's checks catch what they claim to catch (they can fail)."""

from decimal import Decimal
from types import SimpleNamespace

import pytest

from reliability.torture import Attempt, Journal, MoneyOp, verify
from tests.accounts.factories import BorrowerFactory
from wallets.services import wallet_deposit


def _run(journal: Journal):
    return SimpleNamespace(journal=journal, seconds=10.0, started=0.0)


def _sampler(min_balance="0.00", negative=0):
    return SimpleNamespace(min_balance=Decimal(min_balance), negative_seen=negative, samples=3)


@pytest.fixture
def honest(transactional_db):
    """A borrower, one deposit in the ledger, and a journal that tells the truth."""
    user = BorrowerFactory()
    entry = wallet_deposit(user=user, amount=Decimal("100.00"), idempotency_key="k1")
    journal = Journal()
    journal.money_ops.append(
        MoneyOp(
            "deposit",
            user.pk,
            "k1",
            Decimal("100.00"),
            final_status=201,
            final_body={"transaction_id": entry.pk, "balance": "100.00"},
        )
    )
    journal.attempts.append(Attempt("deposit", 201, 1.0, 1.1))
    return SimpleNamespace(user=user, entry=entry, journal=journal)


def test_a_truthful_journal_passes(honest):
    result = verify(_run(honest.journal), _sampler(), [])

    assert result["failures"] == []
    assert result["figures"]["money_lost"] == "0.00"


def test_a_2xx_missing_from_the_ledger_is_caught(honest):
    honest.journal.money_ops.append(
        MoneyOp("deposit", honest.user.pk, "k2", Decimal("5.00"), final_status=201, final_body={})
    )

    failures = verify(_run(honest.journal), _sampler(), [])["failures"]

    assert any("k2 is not in the ledger" in f for f in failures)
    assert any("clients' view" in f for f in failures)


def test_a_refusal_that_left_an_entry_is_caught(honest):
    wallet_deposit(user=honest.user, amount=Decimal("7.00"), idempotency_key="k3")
    honest.journal.money_ops.append(
        MoneyOp(
            "deposit",
            honest.user.pk,
            "k3",
            Decimal("7.00"),
            final_status=400,
            final_body={"code": "invalid"},
        )
    )

    result = verify(_run(honest.journal), _sampler(), [])

    assert result["figures"]["refusals_that_left_a_trace"] == 1
    assert result["figures"]["money_lost"] == "7.00"


def test_an_entry_nobody_asked_for_is_caught(honest):
    wallet_deposit(user=honest.user, amount=Decimal("3.00"), idempotency_key="ghost")

    result = verify(_run(honest.journal), _sampler(), [])

    assert result["figures"]["phantom_entries"] == 1


def test_a_negative_balance_sample_is_caught(honest):
    failures = verify(_run(honest.journal), _sampler("-0.01", negative=1), [])["failures"]

    assert any("below zero" in f for f in failures)


def test_errors_outside_fault_windows_are_caught(honest):
    honest.journal.attempts += [
        Attempt("deposit", 500, 2.0, 2.2),
        Attempt("balance", None, 8.0, 8.1, "ConnectionResetError", since=7.5),
    ]
    fault = {"kind": "kill_worker", "at": 2.0, "done": 2.01, "detail": ""}
    honest.journal.attempts.append(Attempt("balance", 200, 2.3, 2.4))

    result = verify(_run(honest.journal), _sampler(), [fault])

    # The 500 falls in the fault's window; the reset at 8 s does not.
    assert result["figures"]["errors_outside_fault_windows"] == 1
    assert any("ConnectionResetError" in f for f in result["failures"])
