"""Every user has a wallet from the transaction that creates them (as in the seed)."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction

from accounts.models import User
from accounts.services import user_create, user_register
from ledger.models import Account
from wallets.models import Wallet


@pytest.mark.django_db
@pytest.mark.parametrize("role", User.Role.values)
def test_user_create_opens_an_empty_wallet_for_every_role(role):
    user = user_create(email=f"{role.lower()}@example.com", name="N", role=role)

    wallet = Wallet.objects.select_related("account").get(user=user)
    assert wallet.balance == 0
    assert wallet.account.code == f"wallet:{user.pk}"
    assert wallet.account.kind == Account.Kind.LIABILITY


@pytest.mark.django_db
def test_registration_opens_the_wallet():
    user = user_register(email="reg@example.com", name="Reg", password="a-long-pass-phrase")

    assert Wallet.objects.filter(user=user).exists()


@pytest.mark.django_db
def test_a_user_whose_wallet_cannot_be_opened_is_not_created():
    # A stray account already holds the code the new user's wallet would take.
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence('accounts_user', 'id'))")
        (next_id,) = cursor.fetchone()
    Account.objects.create(code=f"wallet:{next_id + 1}", name="stray", kind="LIABILITY")

    with pytest.raises(IntegrityError), transaction.atomic():
        user_create(email="nowallet@example.com", name="N")

    assert not User.objects.filter(email="nowallet@example.com").exists()


@pytest.mark.django_db
def test_reconcile_finds_a_user_without_a_wallet(borrower):
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM wallets_wallet WHERE user_id = %s", [borrower.pk])

    out = StringIO()
    with pytest.raises(SystemExit):
        call_command("reconcile", "--json", stdout=out)

    check = next(
        c for c in json.loads(out.getvalue())["checks"] if c["name"] == "every_user_has_a_wallet"
    )
    assert check["mismatches"] == [{"user_id": borrower.pk, "account_id": None, "balance": None}]
