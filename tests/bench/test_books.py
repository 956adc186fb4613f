import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection

from bench.books import load
from ledger.models import Posting
from loans.models import Loan


@pytest.mark.django_db
def test_the_generated_book_is_consistent_and_reconciles():
    book = load(connection, postings=400, loans=25, users=7)

    out = StringIO()
    call_command("reconcile", "--json", stdout=out)

    assert json.loads(out.getvalue())["clean"] is True
    assert book["postings"] == Posting.objects.count() == 400
    assert set(Loan.objects.values_list("status", flat=True)) == {"APPLIED", "REJECTED", "ACTIVE"}
