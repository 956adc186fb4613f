"""What loan and wallet statements share: the period asked for, its refusals, the API.

A statement covers a period of business dates, ``from`` and ``to`` both included. Each
app builds its own statement as plain data in a selector (``loans.statements``,
``wallets.statements``); the API serializes that data as JSON, or lays it out as a PDF
(``lendingsite.pdf``) when the client asks for ``?format=pdf`` or ``Accept:
application/pdf``. The rules are in docs/STATEMENTS.md.
"""

from dataclasses import dataclass
from datetime import date

from django.contrib import messages
from django.http import Http404, HttpResponse, JsonResponse
from django.template.response import TemplateResponse
from drf_orjson_renderer.renderers import ORJSONRenderer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework import exceptions, serializers
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from lendingsite.exceptions import ApplicationError

PDF = "application/pdf"


@dataclass(frozen=True)
class Period:
    """Business dates ``since`` to ``until``, both included."""

    since: date
    until: date


class StatementPeriodError(ApplicationError):
    """Raised when a statement's period is inverted or ends after the business date."""

    default_code = "invalid_period"


def statement_period(*, since: date | None, until: date | None, opens: date, today: date) -> Period:
    """The period asked for, ``opens`` to ``today`` by default; 400 when it cannot be.

    ``opens`` is the first day of the account's life (a loan's disbursement, a wallet's
    first posting) and ``today`` the business date, the last day with any figures.
    """
    since = opens if since is None else since
    until = today if until is None else until
    if until > today:
        message = f"The period must end on or before the business date, {today.isoformat()}."
        raise StatementPeriodError(
            f"to: {message}", code="period_after_business_date", extra={"to": [message]}
        )
    if since > until:
        message = f"The period starts ({since.isoformat()}) after it ends ({until.isoformat()})."
        raise StatementPeriodError(
            f"from: {message}", code="inverted_period", extra={"from": [message]}
        )
    return Period(since=since, until=until)


class StatementPeriodSerializer(serializers.Serializer):
    """``from`` and ``to`` from the query string: ISO dates, each optional. On the API an
    empty value is a malformed date (400); the console's form sends empty fields for
    "not chosen" (``ConsolePeriodSerializer``)."""

    empty_means_absent = False

    def get_fields(self):
        return {
            "from": serializers.DateField(required=False, input_formats=["iso-8601"]),
            "to": serializers.DateField(required=False, input_formats=["iso-8601"]),
        }

    def to_internal_value(self, data):
        absent = ("", None) if self.empty_means_absent else (None,)
        given = {name: data.get(name) for name in ("from", "to") if data.get(name) not in absent}
        values = super().to_internal_value(given)
        return {"since": values.get("from"), "until": values.get("to")}


class ConsolePeriodSerializer(StatementPeriodSerializer):
    """The console's period form: an empty field means the default end of the period."""

    empty_means_absent = True


class StatementPeriodOutputSerializer(serializers.Serializer):
    """A statement's period as ``{"from": …, "to": …}`` (``from`` is a Python keyword)."""

    def get_fields(self):
        return {
            "from": serializers.DateField(source="since"),
            "to": serializers.DateField(source="until"),
        }


STATEMENT_PARAMETERS = [
    OpenApiParameter(
        "from",
        OpenApiTypes.DATE,
        description="first business date of the period (YYYY-MM-DD); default: the start",
    ),
    OpenApiParameter(
        "to",
        OpenApiTypes.DATE,
        description="last business date of the period (YYYY-MM-DD), at most the business "
        "date; default: the business date",
    ),
    OpenApiParameter(
        "format",
        OpenApiTypes.STR,
        enum=["json", "pdf"],
        description="pdf for the printable statement (or send Accept: application/pdf)",
    ),
]


class PdfRenderer(BaseRenderer):
    """A PDF laid out by the view (``lendingsite.pdf``): the bytes pass through as they are."""

    media_type = PDF
    format = "pdf"
    charset = None
    render_style = "binary"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data


class StatementApi(APIView):
    """JSON by default; a PDF for ``?format=pdf`` or ``Accept: application/pdf``.

    Errors are JSON whatever was asked for, as on every endpoint.
    """

    renderer_classes = [ORJSONRenderer, PdfRenderer]

    def wants_pdf(self) -> bool:
        return self.request.accepted_renderer.format == PdfRenderer.format

    @staticmethod
    def pdf_response(content: bytes, *, filename: str) -> Response:
        return Response(
            content,
            content_type=PDF,
            headers={"Content-Disposition": f'inline; filename="{filename}"'},
        )

    def perform_content_negotiation(self, request, force=False):
        # DRF takes an empty ?format= for none at all; the schema's enum does not.
        if request.query_params.get("format") == "" and not force:
            raise exceptions.ValidationError({"format": ['Choose "json" or "pdf".']})
        try:
            return super().perform_content_negotiation(request, force)
        except Http404 as exc:  # ?format= names no renderer
            raise exceptions.ValidationError({"format": ['Choose "json" or "pdf".']}) from exc

    def handle_exception(self, exc):
        response = super().handle_exception(exc)
        renderer = getattr(self.request, "accepted_renderer", None)
        if renderer is None or renderer.format == PdfRenderer.format:
            self.request.accepted_renderer = ORJSONRenderer()
            self.request.accepted_media_type = ORJSONRenderer.media_type
        return response


def statement_download(request, *, build, as_json, as_pdf, filename, context: dict):
    """The console's statement page: choose a period, download the PDF or the JSON.

    ``build(since=, until=)`` makes the statement (the app's selector), ``as_json`` and
    ``as_pdf`` turn it into the API's JSON body and PDF bytes, ``filename(statement)``
    names the PDF. Bad input and refusals are shown as messages on the page.
    """
    download = request.GET.get("download")
    period = ConsolePeriodSerializer(data=request.GET)
    if download in ("pdf", "json"):
        try:
            period.is_valid(raise_exception=True)
            statement = build(**period.validated_data)
        except exceptions.ValidationError as exc:
            for name, errors in exc.detail.items():
                messages.error(request, f"{name.capitalize()}: {errors[0]}")
        except ApplicationError as exc:
            field, sep, text = exc.message.partition(": ")
            named = sep and field.isidentifier()
            messages.error(request, f"{field.capitalize()}: {text}" if named else exc.message)
        else:
            stem = filename(statement).removesuffix(".pdf")
            if download == "pdf":
                response = HttpResponse(as_pdf(statement), content_type=PDF)
                response["Content-Disposition"] = f'attachment; filename="{stem}.pdf"'
            else:
                response = JsonResponse(as_json(statement), json_dumps_params={"indent": 2})
                response["Content-Disposition"] = f'attachment; filename="{stem}.json"'
            return response
    return TemplateResponse(
        request,
        "admin/statement.html",
        {**context, "since": request.GET.get("from", ""), "until": request.GET.get("to", "")},
    )
