"""CSV exports of the back office's lists: ``/admin/exports/<app>/<model>/?<the list's query>``.

A list whose model admin declares ``export_columns`` (loans, repayments, journal entries
with their postings) shows *Export CSV* above it. The export holds what the list shows:
the same filters, search and order, read through the model admin's own ``ChangeList``,
and every row of it, not one page. Who may export is who may view the list
(``has_view_permission``), plus any ``export_permissions`` the admin names (journal
entries: their postings too). Each export is recorded before its first row leaves
(``accounts.DataExport``: who, what, which filters, from where) and finished with the
number of rows when the stream ends. Cells are written by ``lendingsite.csv_export``.
"""

import logging

from django.apps import apps
from django.contrib import messages
from django.contrib.admin import AdminSite
from django.contrib.admin.options import IncorrectLookupParameters
from django.core.exceptions import PermissionDenied
from django.db import DatabaseError
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from accounts.services import data_export_finish, data_export_start
from lendingsite.csv_export import csv_rows_stream
from lendingsite.http import client_ip

logger = logging.getLogger(__name__)


def export_view(
    request: HttpRequest, app_label: str, model_name: str, *, site: AdminSite
) -> HttpResponse:
    """Stream the list's rows as CSV, after recording who asked for which rows."""
    try:
        model = apps.get_model(app_label, model_name)
    except LookupError:
        raise Http404("No such list.") from None
    if not site.is_registered(model):
        raise Http404("No such list.")
    model_admin = site.get_model_admin(model)
    columns = getattr(model_admin, "export_columns", None)
    if not columns:
        raise Http404("This list has no export.")
    if not model_admin.has_view_permission(request) or not request.user.has_perms(
        getattr(model_admin, "export_permissions", ())
    ):
        raise PermissionDenied
    try:
        changelist = model_admin.get_changelist_instance(request)
    except IncorrectLookupParameters:
        messages.error(request, "These filters cannot be exported: choose them again here.")
        return HttpResponseRedirect(reverse(f"admin:{app_label}_{model_name}_changelist"))
    queryset = changelist.queryset  # filtered, searched and ordered as the list
    then_by = getattr(model_admin, "export_then_by", ())
    if then_by:
        queryset = queryset.order_by(*queryset.query.order_by, *then_by)

    record = data_export_start(
        user=request.user,
        what=f"{app_label}.{model_name}",
        filters=request.GET.urlencode(),
        client_ip=client_ip(request),
    )

    def finish(rows: int, complete: bool) -> None:
        try:
            data_export_finish(export_id=record.pk, row_count=rows, complete=complete)
        except DatabaseError:  # the record stays unfinished, which the audit list shows
            logger.exception("export %s: could not record its end", record.pk)

    name = slugify(model._meta.verbose_name_plural)
    stamp = timezone.localtime(record.started_at).strftime("%Y%m%d-%H%M%S")
    response = StreamingHttpResponse(
        csv_rows_stream(queryset, columns, on_end=finish),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    return response
