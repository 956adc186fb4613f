"""Prometheus metrics of the project's own (request and database metrics come from
django-prometheus; all are served at ``/metrics``)."""

import functools

from django.core.exceptions import ValidationError as DjangoValidationError
from django_fsm import TransitionNotAllowed
from django_prometheus.middleware import PrometheusAfterMiddleware
from prometheus_client import Counter
from rest_framework.exceptions import APIException

from lendingsite.exception_handlers import DATABASE_UNAVAILABLE_ERRORS
from lendingsite.exceptions import ApplicationError
from lendingsite.http import REPLAYED_HEADER

MONEY_OPERATIONS = Counter(
    "lending_money_operations_total",
    "Money operations requested through the API, by kind and outcome.",
    ["kind", "outcome"],
)

# ok: committed · replayed: an idempotency key answered again, nothing moved ·
# refused: a business rule or the input said no · unavailable: the database could not be
# reached (nothing committed) · error: anything else.
OUTCOMES = ("ok", "replayed", "refused", "unavailable", "error")
REFUSALS = (ApplicationError, TransitionNotAllowed, APIException, DjangoValidationError)


def _outcome_of(response) -> str:
    if response.status_code < 300:
        replayed = response.get(REPLAYED_HEADER, "").lower() == "true"
        return "replayed" if replayed else "ok"
    if response.status_code == 503:
        return "unavailable"
    return "refused" if response.status_code < 500 else "error"


def money_operation(kind: str):
    """Decorate an API view method that moves money: count every call by outcome."""

    def decorate(method):
        @functools.wraps(method)
        def counted(*args, **kwargs):
            try:
                response = method(*args, **kwargs)
            except REFUSALS:
                MONEY_OPERATIONS.labels(kind=kind, outcome="refused").inc()
                raise
            except DATABASE_UNAVAILABLE_ERRORS:
                MONEY_OPERATIONS.labels(kind=kind, outcome="unavailable").inc()
                raise
            except Exception:
                MONEY_OPERATIONS.labels(kind=kind, outcome="error").inc()
                raise
            MONEY_OPERATIONS.labels(kind=kind, outcome=_outcome_of(response)).inc()
            return response

        return counted

    return decorate


class RequestMetricsMiddleware(PrometheusAfterMiddleware):
    """django-prometheus's after-middleware, the same metrics with their children kept.

    It counts each request in seven labelled metrics, and ``metric.labels(...)`` checks
    and converts the label values and takes a lock on each call: a tenth of the fixed
    price of an API call (issue 16, docs/BENCHMARKS.md). The child of a metric for a set
    of label values never changes, so it is looked up once per process. The values are
    those django-prometheus itself keeps a child for (views, methods, statuses, charsets),
    so this holds no more entries than the metrics do.
    """

    _children: dict = {}

    def label_metric(self, metric, request, response=None, **labels):
        if not labels:
            return metric
        # Keyword order is fixed at each call site, so the items identify the values.
        key = (metric, *labels.items())
        child = self._children.get(key)
        if child is None:
            # Two threads may both get here: labels() gives both the same child.
            child = self._children[key] = metric.labels(**labels)
        return child
