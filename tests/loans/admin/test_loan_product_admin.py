"""Loan products in the console: administrators edit them, officers look at them."""

import json
from decimal import Decimal

import pytest
from django.contrib.admin.sites import site
from django.test import Client, RequestFactory
from django.urls import reverse

from loans.admin import SERVICING_LOCKED
from loans.models import LoanProduct
from tests.accounts.factories import AdminFactory, BorrowerFactory, OfficerFactory
from tests.loans.factories import LoanProductFactory, applied_loan

CHANGELIST = reverse("admin:loans_loanproduct_changelist")
ADD = reverse("admin:loans_loanproduct_add")
# What the form shows, in the order of the admin's fieldsets.
FORM_FIELDS = [
    "code",
    "name",
    "is_active",
    "min_principal",
    "max_principal",
    "min_tenure_months",
    "max_tenure_months",
    "min_rate",
    "max_rate",
    "default_rate",
    "maker_checker_threshold",
    "max_open_loans",
    *LoanProduct.SERVICING_FIELDS,
]


def change_url(product) -> str:
    return reverse("admin:loans_loanproduct_change", args=[product.pk])


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def form_data(product: LoanProduct, **changes) -> dict:
    """The change form as the browser would post it, with ``changes`` typed in."""
    values = {name: getattr(product, name) for name in FORM_FIELDS} | changes
    data = {}
    for name, value in values.items():
        if name == "buckets" and not isinstance(value, str):
            data[name] = json.dumps(value)
        elif name == "is_active":
            if value:
                data[name] = "on"
        else:
            data[name] = "" if value is None else str(value)
    return data


def product_with_a_loan() -> LoanProduct:
    product = LoanProductFactory(code="SME")
    applied_loan(BorrowerFactory(), product="SME", rate="14.00")
    return product


@pytest.mark.django_db
def test_officers_see_products_but_cannot_add_or_change_them():
    product = product_with_a_loan()
    client = client_for(OfficerFactory())

    listed = client.get(CHANGELIST)
    page = client.get(change_url(product))
    add = client.get(ADD)
    post = client.post(change_url(product), form_data(product, name="Renamed", grace_days=9))

    assert listed.status_code == page.status_code == 200
    assert "SME" in listed.text
    assert add.status_code == 403
    assert post.status_code == 403
    product.refresh_from_db()
    assert (product.name, product.grace_days) == ("Sme loan", 5)


@pytest.mark.django_db
def test_borrowers_are_sent_to_the_login_page():
    product = LoanProductFactory()
    client = client_for(BorrowerFactory())

    for url in (CHANGELIST, change_url(product), ADD):
        response = client.get(url)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("admin:login"))


@pytest.mark.django_db
def test_an_administrator_adds_a_product():
    template = LoanProductFactory.build(code="GOLD", name="Gold loan")

    response = client_for(AdminFactory()).post(
        ADD, form_data(template, buckets=[["CURRENT", 0], ["LATE", 1], ["NPA", 91]])
    )

    assert response.status_code == 302
    gold = LoanProduct.objects.get(code="GOLD")
    assert gold.buckets == [["CURRENT", 0], ["LATE", 1], ["NPA", 91]]
    assert (gold.max_principal, gold.default_rate) == (Decimal("100000.00"), Decimal("14.00"))


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("buckets", "message"),
    [
        ('[["LATE", 1]]', "Days must start at 0 and rise strictly"),
        ('[["CURRENT", 0], ["B", 40], ["C", 30]]', "Days must start at 0 and rise strictly"),
        ('[["CURRENT", 0], ["CURRENT", 30]]', "Bucket codes must differ."),
        ('{"CURRENT": 0}', "A list of [code, first day past due] pairs."),
        ("[]", "This field is required."),
    ],
    ids=["not-from-zero", "not-rising", "same-code", "not-a-list", "empty"],
)
def test_bad_buckets_are_refused_by_the_model_check(buckets, message):
    template = LoanProductFactory.build(code="BAD")

    response = client_for(AdminFactory()).post(ADD, form_data(template, buckets=buckets))

    assert response.status_code == 200
    assert message in str(response.context["adminform"].form.errors["buckets"])
    assert not LoanProduct.objects.filter(code="BAD").exists()


@pytest.mark.django_db
def test_servicing_rules_of_a_product_without_loans_can_be_changed():
    product = LoanProductFactory()

    page = client_for(AdminFactory()).get(change_url(product))
    response = client_for(AdminFactory()).post(
        change_url(product), form_data(product, grace_days=9, late_fee_kind="FLAT")
    )

    assert SERVICING_LOCKED not in page.text
    assert 'name="grace_days"' in page.text
    assert response.status_code == 302
    product.refresh_from_db()
    assert (product.grace_days, product.late_fee_kind) == (9, "FLAT")


@pytest.mark.django_db
def test_servicing_rules_lock_once_the_product_has_loans():
    product = product_with_a_loan()
    client = client_for(AdminFactory())

    page = client.get(change_url(product))
    code = product.code
    response = client.post(
        change_url(product),
        form_data(
            product,
            name="SME working capital",
            code="RENAMED",
            grace_days=9,
            buckets=[["CURRENT", 0]],
        ),
    )

    assert SERVICING_LOCKED in page.text
    for name in ("code", *LoanProduct.SERVICING_FIELDS):
        assert f'name="{name}"' not in page.text  # shown, not editable
    assert 'name="max_principal"' in page.text  # the limits and price still are
    assert response.status_code == 302
    product.refresh_from_db()
    assert product.name == "SME working capital"
    assert (product.code, product.grace_days, len(product.buckets)) == (code, 5, 5)


@pytest.mark.django_db
def test_a_loan_sold_while_the_form_was_open_locks_the_rules_at_saving():
    """The form re-checks under the product's row lock, whatever the page showed."""
    product = LoanProductFactory(code="SME")
    request = RequestFactory().post("/")
    request.user = AdminFactory()
    model_admin = site._registry[LoanProduct]
    opened = model_admin.get_object(request, str(product.pk))  # no loans yet: all editable
    form_class = model_admin.get_form(request, opened, change=True)
    applied_loan(BorrowerFactory(), product="SME", rate="14.00")

    form = form_class(form_data(product, grace_days=9), instance=opened)

    assert not form.is_valid()
    assert form.non_field_errors() == [SERVICING_LOCKED]
    product.refresh_from_db()
    assert product.grace_days == 5


@pytest.mark.django_db
def test_a_product_with_loans_cannot_be_deleted_and_one_without_can():
    used = product_with_a_loan()
    unused = LoanProductFactory()
    client = client_for(AdminFactory())

    page = client.get(change_url(used))
    refused = client.post(
        reverse("admin:loans_loanproduct_delete", args=[used.pk]), {"post": "yes"}
    )
    deleted = client.post(
        reverse("admin:loans_loanproduct_delete", args=[unused.pk]), {"post": "yes"}
    )

    assert "deletelink" not in page.text
    assert refused.status_code == 403
    assert deleted.status_code == 302
    assert list(LoanProduct.objects.filter(pk__in=[used.pk, unused.pk])) == [used]


@pytest.mark.django_db
def test_the_product_list_says_which_products_have_loans():
    product_with_a_loan()
    LoanProductFactory(code="UNUSED")
    client = client_for(OfficerFactory())

    response = client.get(CHANGELIST)

    rows = {product.code: product.in_use for product in response.context["cl"].result_list}
    assert rows == {"SME": True, "UNUSED": False, "STANDARD": False}
    assert "delete_selected" not in response.text
