import io

import pytest
from django.core.management import CommandError, call_command

from accounts.models import User
from accounts.services import OFFICER_GROUP_NAME
from tests.accounts.factories import BorrowerFactory

PASSWORD = "long-enough-and-rare-2026"


def _run(*args: str) -> str:
    out = io.StringIO()
    call_command("createofficer", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_creates_a_staff_officer_in_the_officers_group():
    output = _run("--email", " Olga@Example.COM ", "--name", "Olga", "--password", PASSWORD)

    officer = User.objects.get(email="olga@example.com")
    assert "Loan officer olga@example.com created." in output
    assert officer.role == User.Role.OFFICER
    assert officer.is_staff and not officer.is_superuser
    assert officer.check_password(PASSWORD)
    assert list(officer.groups.values_list("name", flat=True)) == [OFFICER_GROUP_NAME]


@pytest.mark.django_db
def test_refuses_an_email_in_use():
    BorrowerFactory(email="taken@example.com")

    with pytest.raises(CommandError, match="already exists"):
        _run("--email", "TAKEN@example.com", "--name", "T", "--password", PASSWORD)


@pytest.mark.django_db
def test_refuses_a_weak_password_and_creates_nobody():
    with pytest.raises(CommandError, match=r"Password refused: .*too short"):
        _run("--email", "o@example.com", "--name", "O", "--password", "1234")

    assert not User.objects.filter(email="o@example.com").exists()


@pytest.mark.django_db
def test_refuses_a_malformed_email():
    with pytest.raises(CommandError, match="Not an email address"):
        _run("--email", "not-an-email", "--name", "O", "--password", PASSWORD)


@pytest.mark.django_db
def test_refuses_an_empty_name():
    with pytest.raises(CommandError, match="name cannot be empty"):
        _run("--email", "o@example.com", "--name", "  ", "--password", PASSWORD)


@pytest.mark.django_db
def test_asks_for_the_password_twice_on_a_terminal(monkeypatch):
    answers = iter([PASSWORD, PASSWORD])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    _run("--email", "o@example.com", "--name", "O")

    assert User.objects.get(email="o@example.com").check_password(PASSWORD)


@pytest.mark.django_db
def test_refuses_two_different_passwords(monkeypatch):
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("sys.stdin.isatty", lambda: True)
    monkeypatch.setattr("getpass.getpass", lambda prompt: next(answers))

    with pytest.raises(CommandError, match="differ"):
        _run("--email", "o@example.com", "--name", "O")
    assert not User.objects.filter(email="o@example.com").exists()


@pytest.mark.django_db
def test_without_a_terminal_the_password_must_be_given(monkeypatch):
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)

    with pytest.raises(CommandError, match="pass --password"):
        _run("--email", "o@example.com", "--name", "O")
