import pytest

from tests.loans.statements.scenario import serviced_loan_scenario


@pytest.fixture
def serviced_loan(db):
    """See ``serviced_loan_scenario``: the figures of every line, worked out by hand."""
    return serviced_loan_scenario()
