from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse

from ledger.models import JournalEntry
from loans.models import Loan, LoanEvent
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory, UserFactory
from tests.concurrency import run_concurrently
from tests.loans.factories import active_loan, applied_loan
from tests.loans.helpers import assert_books_clean
from wallets.models import Wallet

CHANGELIST = reverse("admin:loans_loan_changelist")


def admin_client(user=None) -> Client:
    client = Client()
    client.force_login(user or UserFactory(role="ADMIN"))
    return client


def messages_of(response):
    return [str(m) for m in response.context["messages"]] if response.context else []


@pytest.mark.django_db
def test_loans_list_shows_pending_first(borrower):
    officer = OfficerFactory()
    active = active_loan(borrower, officer)
    pending = applied_loan(borrower)

    response = admin_client().get(CHANGELIST)

    assert response.status_code == 200
    ids = [loan.pk for loan in response.context["cl"].result_list]
    assert ids == [pending.pk, active.pk]


@pytest.mark.django_db
@pytest.mark.parametrize("staff", [AdminFactory, OfficerFactory], ids=["admin", "officer"])
@pytest.mark.parametrize(
    "query",
    [
        "",
        "?status__exact=APPLIED",
        "?q=example.com&principal=small",
        "?bucket=CURRENT&dpd=current&product=STANDARD",
    ],
)
def test_loans_list_query_count_does_not_grow_with_rows(
    staff, query, django_assert_max_num_queries
):
    """At most 10 queries whatever the rows: no per-row query, and no full-table COUNT."""
    client = admin_client(staff())
    officer = OfficerFactory()
    for _ in range(3):
        applied_loan(BorrowerFactory())
    with django_assert_max_num_queries(10) as few:
        client.get(CHANGELIST + query)
    for _ in range(15):
        applied_loan(BorrowerFactory())
        active_loan(BorrowerFactory(), officer)

    with django_assert_max_num_queries(len(few.captured_queries)) as many:
        response = client.get(CHANGELIST + query)

    assert response.status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
    assert len(response.context["cl"].result_list) == (18 if "APPLIED" in query else 33)
    counts = [q["sql"] for q in many.captured_queries if "COUNT(" in q["sql"].upper()]
    assert len(counts) <= 1  # the paginator's; show_full_result_count=False skips the other


@pytest.mark.django_db
@pytest.mark.parametrize(
    "query", ["status__exact=APPLIED", "principal=large", "q=someone", "created_at__year=2026"]
)
def test_loans_list_filters_and_search(borrower, query):
    applied_loan(borrower, principal="250000.00")

    response = admin_client().get(f"{CHANGELIST}?{query}")

    assert response.status_code == 200


@pytest.mark.django_db
def test_search_by_borrower_email(borrower):
    loan = applied_loan(borrower)
    applied_loan(BorrowerFactory())

    response = admin_client().get(f"{CHANGELIST}?q={borrower.email}")

    assert [row.pk for row in response.context["cl"].result_list] == [loan.pk]


@pytest.mark.django_db
def test_loan_page_shows_wallet_schedule_and_buttons(borrower):
    loan = applied_loan(borrower)

    response = admin_client().get(reverse("admin:loans_loan_change", args=[loan.pk]))

    content = response.content.decode()
    assert response.status_code == 200
    assert "Approve and disburse" in content and "Reject" in content
    assert "wallet balance" in content.lower()
    assert content.count("loan-approve") == 1


@pytest.mark.django_db
def test_approve_from_the_admin_disburses_and_records_the_trail(borrower):
    loan = applied_loan(borrower)
    officer = UserFactory(role="ADMIN")
    client = admin_client(officer)

    response = client.post(
        reverse("admin:loans_loan_approve", args=[loan.pk]), REMOTE_ADDR="10.20.30.40", follow=True
    )

    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE
    assert Wallet.objects.get(user=borrower).balance == Decimal("12000.00")
    assert f"Loan #{loan.pk} is now ACTIVE." in messages_of(response)
    trail = list(LoanEvent.objects.filter(loan=loan).values_list("source", "target", "client_ip"))
    assert trail == [
        ("", "APPLIED", None),  # applied through the service directly
        ("APPLIED", "APPROVED", "10.20.30.40"),
        ("APPROVED", "ACTIVE", "10.20.30.40"),
    ]


@pytest.mark.django_db
def test_reject_without_a_reason_is_refused_in_the_admin(borrower):
    loan = applied_loan(borrower)
    client = admin_client()
    url = reverse("admin:loans_loan_reject", args=[loan.pk])

    refused = client.post(url, {"reason": "  "})
    rejected = client.post(url, {"reason": "Documents missing"}, follow=True)

    assert "A rejection needs a reason." in messages_of(refused)
    loan.refresh_from_db()
    assert loan.status == Loan.Status.REJECTED
    assert loan.rejection_reason == "Documents missing"
    assert f"Loan #{loan.pk} is now REJECTED." in messages_of(rejected)


@pytest.mark.django_db
def test_a_second_click_shows_a_message_not_an_error_page(borrower):
    loan = applied_loan(borrower)
    client = admin_client()
    url = reverse("admin:loans_loan_approve", args=[loan.pk])
    client.post(url)

    again = client.post(url, follow=True)

    assert again.status_code == 200
    assert any("is ACTIVE" in m for m in messages_of(again))
    assert JournalEntry.objects.filter(kind="LOAN_DISBURSEMENT").count() == 1


@pytest.mark.django_db
def test_bulk_approve_reports_each_loan(borrower):
    officer = OfficerFactory()
    ok = applied_loan(borrower)
    done = active_loan(BorrowerFactory(), officer)

    response = admin_client().post(
        CHANGELIST,
        {"action": "approve_selected", "_selected_action": [ok.pk, done.pk], "apply": "1"},
        follow=True,
    )

    shown = messages_of(response)
    assert f"Loan #{ok.pk} is now ACTIVE." in shown
    assert any(m.startswith(f"Loan #{done.pk}:") and "is ACTIVE" in m for m in shown)


@pytest.mark.django_db
def test_bulk_reject_asks_for_a_reason_then_rejects(borrower):
    loans = [applied_loan(borrower), applied_loan(BorrowerFactory())]
    client = admin_client()
    selected = [loan.pk for loan in loans]

    form = client.post(CHANGELIST, {"action": "reject_selected", "_selected_action": selected})
    done = client.post(
        CHANGELIST,
        {
            "action": "reject_selected",
            "_selected_action": selected,
            "apply": "1",
            "reason": "Policy",
        },
        follow=True,
    )

    assert b"Reason" in form.content
    assert Loan.objects.filter(status="REJECTED", rejection_reason="Policy").count() == 2
    assert len([m for m in messages_of(done) if "REJECTED" in m]) == 2


@pytest.mark.django_db
def test_loans_cannot_be_added_changed_or_deleted_in_the_admin(borrower):
    loan = applied_loan(borrower)
    client = admin_client()

    assert client.get(reverse("admin:loans_loan_add")).status_code == 403
    assert client.post(reverse("admin:loans_loan_delete", args=[loan.pk])).status_code == 403


@pytest.mark.django_db
def test_borrowers_cannot_use_the_admin(borrower):
    client = Client()
    client.force_login(borrower)
    loan = applied_loan(borrower)

    response = client.post(reverse("admin:loans_loan_approve", args=[loan.pk]))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]
    loan.refresh_from_db()
    assert loan.status == Loan.Status.APPLIED


@pytest.mark.django_db(transaction=True)
def test_two_admin_sessions_approving_at_once_disburse_once():
    borrower = BorrowerFactory()
    loan = applied_loan(borrower)
    clients = [admin_client(UserFactory(role="ADMIN")) for _ in range(2)]
    url = reverse("admin:loans_loan_approve", args=[loan.pk])

    results = run_concurrently([lambda c=c: c.post(url) for c in clients])

    assert [r.status_code for r in results] == [302, 302]
    assert JournalEntry.objects.filter(kind="LOAN_DISBURSEMENT").count() == 1
    assert Wallet.objects.get(user=borrower).balance == Decimal("12000.00")
    assert_books_clean()


@pytest.mark.django_db
def test_the_audit_trail_is_append_only(borrower):
    from django.db import IntegrityError, transaction

    loan = applied_loan(borrower)

    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        LoanEvent.objects.filter(loan=loan).update(reason="rewritten")


@pytest.mark.django_db
def test_a_loan_officer_from_the_group_can_decide(borrower):
    loan = applied_loan(borrower)
    client = admin_client(OfficerFactory())

    page = client.get(reverse("admin:loans_loan_change", args=[loan.pk]))
    client.post(reverse("admin:loans_loan_approve", args=[loan.pk]))

    assert page.status_code == 200
    loan.refresh_from_db()
    assert loan.status == Loan.Status.ACTIVE


@pytest.mark.django_db
def test_bulk_approve_shows_the_loans_and_the_total_before_it_acts():
    loans = [
        applied_loan(BorrowerFactory(), principal="12000.00"),
        applied_loan(BorrowerFactory(), principal="30000.50"),
    ]
    client = admin_client()

    page = client.post(
        CHANGELIST, {"action": "approve_selected", "_selected_action": [x.pk for x in loans]}
    )

    assert page.status_code == 200
    text = page.content.decode()
    for loan in loans:
        assert f"#{loan.pk}" in text and loan.borrower.email in text
    assert "42,000.50" in text  # 12,000.00 + 30,000.50: the total to be disbursed
    assert Loan.objects.filter(status="APPLIED").count() == 2  # nothing decided yet


@pytest.mark.django_db
def test_bulk_approve_across_pages_confirms_exactly_the_loans_it_showed():
    shown = [applied_loan(BorrowerFactory()) for _ in range(3)]
    client = admin_client()

    page = client.post(
        CHANGELIST,
        {"action": "approve_selected", "_selected_action": [shown[0].pk], "select_across": "1"},
    )
    listed = [int(pk) for pk in page.context["loan_ids"]]
    late_comer = applied_loan(BorrowerFactory())  # applied while the page was open
    client.post(
        CHANGELIST,
        {"action": "approve_selected", "_selected_action": listed, "apply": "1"},
    )

    assert sorted(listed) == sorted(loan.pk for loan in shown)
    assert Loan.objects.filter(pk__in=listed, status="ACTIVE").count() == 3
    assert Loan.objects.get(pk=late_comer.pk).status == "APPLIED"
