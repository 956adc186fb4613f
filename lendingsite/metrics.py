"""Prometheus metrics of the project's own (request and database metrics come from
django-prometheus; all are served at ``/metrics``)."""

from contextlib import contextmanager

from prometheus_client import Counter

from lendingsite.exceptions import ApplicationError

MONEY_OPERATIONS = Counter(
    "lending_money_operations_total",
    "Money operations by kind (deposit, disbursement, repayment, ...) and outcome.",
    ["kind", "outcome"],
)


@contextmanager
def money_operation(kind: str):
    """Count one money operation: ``ok``, ``refused`` (a business rule said no) or ``error``.

    Wrap the service call, outside its ``transaction.atomic()`` block, so that ``ok``
    means committed::

        with money_operation("deposit"):
            wallet_deposit(...)
    """
    try:
        yield
    except ApplicationError:
        MONEY_OPERATIONS.labels(kind=kind, outcome="refused").inc()
        raise
    except Exception:
        MONEY_OPERATIONS.labels(kind=kind, outcome="error").inc()
        raise
    MONEY_OPERATIONS.labels(kind=kind, outcome="ok").inc()
