"""send_notifications in one process, against a real SMTP server on loopback."""

from datetime import date, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from loans.services import loan_reject
from notifications.models import Notification
from notifications.services import (
    notification_add,
    notifications_requeue_failed,
    notifications_send_batch,
    notifications_send_pending,
    retry_delay,
)
from tests.accounts.factories import BorrowerFactory, OfficerFactory
from tests.loans.factories import applied_loan
from tests.loans.servicing.helpers import set_business_date
from tests.notifications.smtp import free_port

START = date(2026, 1, 10)
State = Notification.State


def text_and_html(message) -> tuple[str, str]:
    return (
        message.get_body(("plain",)).get_content(),
        message.get_body(("html",)).get_content(),
    )


def approval(borrower, *, ref=1, amount="1234567.50") -> Notification:
    notification_add(
        kind=Notification.Kind.LOAN_APPROVED,
        ref=ref,
        recipient_id=borrower.pk,
        business_date=START,
        loan_id=ref,
        payload={"principal_amount": amount, "awaiting_disbursement": True},
    )
    return Notification.objects.get(event_key=f"loan_approved:{ref}")


@pytest.mark.django_db
def test_a_row_is_sent_once_with_text_html_and_its_idempotency_headers(smtp_settings, smtp_server):
    borrower = BorrowerFactory(name="Asha Rao", email="asha@example.com")
    row = approval(borrower)

    report = notifications_send_pending()

    assert (report.sent, report.retried, report.failed) == (1, 0, 0)
    [message] = smtp_server.messages
    assert message["To"] == "asha@example.com"
    assert message["Subject"] == f"Your loan is approved (loan {row.loan_id})"
    assert message["Message-ID"] == f"<notification-{row.pk}-email@localhost>"
    assert message["X-Lending-Idempotency-Key"] == f"notification-{row.pk}-email"
    text, html = text_and_html(message)
    assert "Dear Asha Rao," in text
    assert "Your loan of Rs. 12,34,567.50 is approved." in text  # Indian digit grouping
    assert "A second officer will now release it" in text
    assert "<strong>Rs. 12,34,567.50</strong>" in html
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (State.SENT, 1, "")
    assert row.sent_at is not None

    assert notifications_send_pending().claimed == 0  # nothing is sent twice
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db
def test_the_text_keeps_a_reason_as_typed_and_the_html_escapes_it(smtp_settings, smtp_server):
    set_business_date(START)
    loan = applied_loan(BorrowerFactory(), principal="250000.00")
    loan_reject(loan_id=loan.pk, officer=OfficerFactory(), reason="Income < EMI & no payslip")

    notifications_send_pending()

    [rejection] = [m for m in smtp_server.messages if "not approved" in m["Subject"]]
    text, html = text_and_html(rejection)
    assert "Reason: Income < EMI & no payslip" in text
    assert "Reason: Income &lt; EMI &amp; no payslip" in html
    assert "Rs. 2,50,000.00" in text


@pytest.mark.parametrize(
    ("attempts", "seconds"),
    # base 60 s, doubling, at most 4 hours (14,400 s)
    [(1, 60), (2, 120), (3, 240), (4, 480), (8, 7680), (9, 14400), (10, 14400)],
)
def test_retries_wait_twice_as_long_each_time_up_to_the_maximum(settings, attempts, seconds):
    settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    settings.NOTIFICATIONS_RETRY_MAX_SECONDS = 4 * 3600

    assert retry_delay(attempts) == timedelta(seconds=seconds)


@pytest.mark.django_db
def test_a_failing_server_means_retries_with_backoff_then_a_recorded_failure_and_no_loss(
    smtp_settings, smtp_server
):
    smtp_settings.NOTIFICATIONS_MAX_ATTEMPTS = 3
    smtp_settings.NOTIFICATIONS_RETRY_BASE_SECONDS = 60
    smtp_server.recorder.fail_with = "451 4.3.0 Mailbox temporarily unavailable"
    row = approval(BorrowerFactory())
    now = timezone.now()

    first = notifications_send_batch(now=now)
    row.refresh_from_db()
    assert (first.retried, row.state, row.attempts) == (1, State.PENDING, 1)
    assert "451" in row.last_error and "Mailbox temporarily unavailable" in row.last_error
    assert row.next_attempt_at == now + timedelta(seconds=60)

    # Not due yet: a second sender run a second later leaves it alone.
    assert notifications_send_batch(now=now + timedelta(seconds=59)).claimed == 0

    second = notifications_send_batch(now=now + timedelta(seconds=60))
    row.refresh_from_db()
    assert (second.retried, row.attempts) == (1, 2)
    assert row.next_attempt_at == now + timedelta(seconds=60 + 120)

    third = notifications_send_batch(now=now + timedelta(seconds=180))
    row.refresh_from_db()
    assert (third.failed, row.state, row.attempts) == (1, State.FAILED, 3)
    assert "451" in row.last_error
    assert smtp_server.messages == []

    # Given up, never lost: the row stays, and is sent once the cause is fixed.
    assert notifications_send_batch(now=now + timedelta(days=30)).claimed == 0
    smtp_server.recorder.fail_with = None
    assert notifications_requeue_failed() == 1
    assert notifications_send_pending().sent == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (State.SENT, 1)
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db
def test_a_server_that_cannot_be_reached_is_a_failed_attempt(settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", free_port()  # nobody listens
    row = approval(BorrowerFactory())

    report = notifications_send_batch()

    row.refresh_from_db()
    assert (report.retried, row.state, row.attempts) == (1, State.PENDING, 1)
    assert row.last_error.startswith("ConnectionRefusedError")


@pytest.mark.django_db
def test_a_batch_that_fails_halfway_keeps_both_outcomes(smtp_settings, smtp_server):
    borrower = BorrowerFactory()
    first, second = approval(borrower, ref=1), approval(borrower, ref=2)
    refused = {second.pk}

    def refuse_second(message):
        if int(message["X-Lending-Idempotency-Key"].split("-")[1]) in refused:
            raise RuntimeError("boom")  # the server answers 500 to this one

    smtp_server.recorder.on_message = refuse_second
    report = notifications_send_batch()

    first.refresh_from_db()
    second.refresh_from_db()
    assert (report.sent, report.retried) == (1, 1)
    assert first.state == State.SENT
    assert (second.state, second.attempts) == (State.PENDING, 1)
    assert second.last_error.startswith("SMTPDataError")


@pytest.mark.django_db
def test_the_command_reports_what_it_sent(smtp_settings, smtp_server):
    approval(BorrowerFactory())
    out = StringIO()

    call_command("send_notifications", stdout=out)

    assert out.getvalue() == "Sent 1, to retry 0, given up 0.\n"


@pytest.mark.django_db
def test_every_kind_renders_text_and_html(smtp_settings, smtp_server):
    """A template per kind: each renders with the facts its service writes."""
    borrower = BorrowerFactory()
    facts = {
        "principal_amount": "100000.00",
        "tenure_months": 12,
        "interest_rate": "12.00",
        "emi_amount": "8884.88",
        "awaiting_disbursement": False,
        "reason": "r",
        "first_due_date": "2026-02-10",
        "outstanding_amount": "106618.56",
        "amount": "10000.00",
        "fee_part": "0.00",
        "interest_part": "1000.00",
        "principal_part": "9000.00",
        "value_date": "2026-01-10",
        "installment_number": 1,
        "due_date": "2026-02-10",
        "amount_due": "8884.88",
        "from_bucket": "CURRENT",
        "to_bucket": "DPD_1_30",
        "days_past_due": 1,
        "fee": "177.70",
        "remaining_fee_amount": "0.00",
        "closed_on": "2026-03-10",
    }
    for number, kind in enumerate(Notification.Kind, 1):
        notification_add(
            kind=kind,
            ref=number,
            recipient_id=borrower.pk,
            business_date=START,
            loan_id=7,
            payload=facts,
        )

    report = notifications_send_pending()

    assert report.sent == len(Notification.Kind) and report.retried == 0
    messages = smtp_server.messages
    assert {message["Subject"] for message in messages} == {
        f"{kind.label} (loan 7)" for kind in Notification.Kind
    }
    bodies = [text_and_html(message) for message in messages]
    for text, html in bodies:
        assert "{{" not in text and "Loan: 7" in text
        assert html.startswith("<!DOCTYPE html>") and "Loan: 7" in html
    texts = "".join(text for text, _ in bodies)
    assert "Rs. 1,00,000.00" in texts and "Rs. 8,884.88" in texts


@pytest.mark.parametrize(
    ("code", "text"),
    [
        ("CURRENT", "up to date"),
        ("DPD_1_30", "1-30 days past due"),
        ("DPD_91_PLUS", "91+ days past due"),
        ("WATCH", "WATCH"),  # a product's own bucket name is shown as it is
    ],
)
def test_buckets_read_as_words(code, text):
    from notifications.templatetags.notifications import bucket

    assert bucket(code) == text
