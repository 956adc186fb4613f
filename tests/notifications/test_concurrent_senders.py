"""Two send_notifications processes over one outbox, a real SMTP server, a real crash."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from notifications.models import Notification
from notifications.services import notification_add, notifications_send_pending
from tests.accounts.factories import BorrowerFactory
from tests.concurrency import database_url

ROOT = Path(__file__).resolve().parents[2]
START = date(2026, 1, 10)


def sender(smtp_url: str, *args: str, **variables: str) -> subprocess.Popen:
    """``manage.py send_notifications`` in its own process, on the test's database."""
    env = {
        **variables,
        **os.environ,
        "DATABASE_URL": database_url(),
        "EMAIL_URL": smtp_url,
        "DEBUG": "false",
        "SECURE_SSL_REDIRECT": "false",
        "LOG_LEVEL": "WARNING",
    }
    env.pop("EMAIL_BACKEND", None)
    return subprocess.Popen(
        [sys.executable, "manage.py", "send_notifications", *args],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def outbox(count: int) -> list[int]:
    borrowers = [BorrowerFactory() for _ in range(3)]
    for ref in range(1, count + 1):
        notification_add(
            kind=Notification.Kind.LOAN_APPROVED,
            ref=ref,
            recipient_id=borrowers[ref % 3].pk,
            business_date=START,
            loan_id=ref,
            payload={"principal_amount": f"{ref}000.00", "awaiting_disbursement": False},
        )
    return list(Notification.objects.order_by("id").values_list("id", flat=True))


@pytest.mark.django_db(transaction=True)
def test_two_senders_deliver_every_message_exactly_once(smtp_server):
    ids = outbox(60)
    # Each message waits until both senders are connected: they provably overlap, each
    # holding its claimed rows while the other claims.
    smtp_server.recorder.wait_for_peers = 2

    senders = [sender(smtp_server.url, "--batch-size", "3") for _ in range(2)]
    outputs = [process.communicate(timeout=180) for process in senders]

    for process, (out, err) in zip(senders, outputs, strict=True):
        assert process.returncode == 0, err
    keys = Counter(m["X-Lending-Idempotency-Key"] for m in smtp_server.messages)
    assert keys == Counter({f"notification-{pk}-email": 1 for pk in ids})
    message_ids = [m["Message-ID"] for m in smtp_server.messages]
    assert len(set(message_ids)) == len(ids)
    sent = [int(out.split()[1].rstrip(",")) for out, _ in outputs]  # "Sent N, ..."
    assert sum(sent) == len(ids)
    assert all(count > 0 for count in sent), sent  # both took part
    states = Counter(Notification.objects.values_list("state", "attempts"))
    assert states == Counter({(Notification.State.SENT, 1): len(ids)})


@pytest.mark.django_db(transaction=True)
def test_a_sender_killed_after_the_server_took_the_message_resends_it_with_the_same_keys(
    smtp_server, settings
):
    [pk] = outbox(1)
    first = sender(smtp_server.url)

    def crash(message):
        if len(smtp_server.messages) == 1:
            os.kill(first.pid, signal.SIGKILL)  # after the server has it, before the mark

    smtp_server.recorder.on_message = crash
    first.communicate(timeout=120)
    assert first.returncode == -signal.SIGKILL
    row = Notification.objects.get(pk=pk)
    assert (row.state, row.attempts) == (Notification.State.PENDING, 0)  # never marked

    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", smtp_server.port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    for _ in range(100):  # the dead sender's row lock goes when PostgreSQL sees it gone
        if notifications_send_pending().sent:
            break
        time.sleep(0.1)

    first_copy, second_copy = smtp_server.messages
    assert second_copy["Message-ID"] == first_copy["Message-ID"]
    assert second_copy["X-Lending-Idempotency-Key"] == first_copy["X-Lending-Idempotency-Key"]
    assert first_copy["X-Lending-Idempotency-Key"] == f"notification-{pk}-email"
    row.refresh_from_db()
    assert (row.state, row.attempts) == (Notification.State.SENT, 1)


@pytest.mark.django_db(transaction=True)
def test_the_loop_sends_rows_added_while_it_runs_and_stops_on_sigterm(smtp_server):
    loop = sender(smtp_server.url, "--loop", NOTIFICATIONS_POLL_SECONDS="0.2")
    try:
        assert loop.stdout.readline() == "Sending notifications until stopped (SIGTERM).\n"
        outbox(2)  # events after the loop found the outbox empty
        for _ in range(300):
            if len(smtp_server.messages) == 2:
                break
            time.sleep(0.1)
        assert len(smtp_server.messages) == 2
    finally:
        loop.send_signal(signal.SIGTERM)
        out, err = loop.communicate(timeout=60)

    assert loop.returncode == 0, err
    lines = out.splitlines()
    assert lines[-1] == "Stopped."
    assert sum(int(line.split()[1].rstrip(",")) for line in lines[:-1]) == 2
    assert set(Notification.objects.values_list("state", flat=True)) == {"SENT"}
