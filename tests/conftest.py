import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from accounts.tokens import token_pair_for
from loans.services import loan_quote_cache_clear
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from wallets.selectors import _wallet_account_id


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test-only speed-up: MD5 hashes (real hashers are covered by their own tests)."""
    settings.PASSWORD_HASHERS = [
        "django.contrib.auth.hashers.MD5PasswordHasher",
        *settings.PASSWORD_HASHERS,
    ]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Every test starts with an empty cache: throttling counters, replica pins and the
    dashboard's figures must not leak from one test into the next; nor the quotes and
    products each process remembers, nor the wallets' ledger accounts: a test's rows are
    rolled back, and a later test may give a new user the same id (a stale account id
    then fails the postings' foreign key at the end of that test, depending on order)."""
    cache.clear()
    loan_quote_cache_clear()
    _wallet_account_id.cache_clear()
    yield
    cache.clear()
    loan_quote_cache_clear()
    _wallet_account_id.cache_clear()


@pytest.fixture
def api_client() -> APIClient:
    return APIClient()


@pytest.fixture
def borrower(db):
    return BorrowerFactory()


@pytest.fixture
def officer(db):
    return OfficerFactory()


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {token_pair_for(user)['access_token']}")
    return client


@pytest.fixture
def borrower_client(borrower) -> APIClient:
    return client_for(borrower)


@pytest.fixture
def officer_client(officer) -> APIClient:
    return client_for(officer)


# Names whose use marks a test as racing real connections against each other.
_CONCURRENCY_NAMES = {"run_concurrently", "Barrier"}


def pytest_collection_modifyitems(config, items):
    """Mark the tests that race real connections `concurrency`, so that CI can run them
    against a second PostgreSQL major version (`make test-concurrency`)."""
    for item in items:
        code = getattr(getattr(item, "function", None), "__code__", None)
        if code is not None and _CONCURRENCY_NAMES & set(code.co_names):
            item.add_marker(pytest.mark.concurrency)
