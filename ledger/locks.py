from django.db.models import QuerySet

from ledger.models import Account


def account_qs_select_for_update() -> QuerySet[Account]:
    """Accounts that keep a cached balance, locked in primary-key order.

    Last in the project's one lock order (loan → wallet → these accounts). System
    accounts keep no cached balance and are never locked.
    """
    return (
        Account.objects.filter(balance__isnull=False)
        .order_by("pk")
        .select_for_update(of=("self",), no_key=True)
    )
