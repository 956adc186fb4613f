from functools import partial

import segno
from django.contrib import admin
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.decorators import method_decorator
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django_otp import login as otp_login

from accounts.forms import StaffLoginForm
from accounts.second_factor import (
    device_pending_get,
    device_secret,
    otp_enrolment_confirm,
    second_factor_required,
)
from backoffice.dashboard import dashboard_view
from backoffice.exports import export_view


def _enrolment_pending(request) -> bool:
    user = request.user
    return (
        user.is_active
        and user.is_staff
        and not user.is_verified()
        and device_pending_get(user=user) is not None
    )


class LendingAdminSite(admin.AdminSite):
    """The back office: Django's admin, the dashboard at ``admin/dashboard/`` and the lists'
    CSV exports at ``admin/exports/<app>/<model>/`` (``backoffice.exports``).

    It is the default site (see ``backoffice.apps.LendingAdminConfig``), so every
    ``@admin.register`` in the apps lands here.
    """

    site_header = "Lending back office"
    site_title = "Lending back office"
    index_title = "Back office"
    site_url = None  # no public web site: borrowers use the API
    login_form = StaffLoginForm  # the failed-login limits, with a message that says so

    def has_permission(self, request):
        """Active staff, and, while codes are required, a session that passed one."""
        if not super().has_permission(request):
            return False
        return request.user.is_verified() or not second_factor_required()

    @method_decorator(never_cache)
    def login(self, request, extra_context=None):
        if request.method == "GET" and _enrolment_pending(request):
            return redirect("admin:otp_enrol")
        return super().login(request, extra_context)

    def get_urls(self):
        dashboard = self.admin_view(partial(dashboard_view, site=self))
        export = self.admin_view(partial(export_view, site=self))
        enrol = partial(otp_enrol_view, site=self)
        return [
            path("dashboard/", dashboard, name="dashboard"),
            path("exports/<str:app_label>/<str:model_name>/", export, name="export"),
            path("otp/enrol/", never_cache(csrf_protect(enrol)), name="otp_enrol"),
            *super().get_urls(),
        ]


def otp_enrol_view(request, *, site: LendingAdminSite):
    """Confirm the authenticator an administrator issued (``accounts/second_factor.py``).

    Reached after signing in with the password while the enrolment is pending; the first
    right code confirms the device and verifies this session.
    """
    if not request.user.is_authenticated or not _enrolment_pending(request):
        return redirect("admin:login")
    device = device_pending_get(user=request.user)
    error = None
    if request.method == "POST":
        confirmed = otp_enrolment_confirm(
            user=request.user, token=request.POST.get("otp_token", "")[:12]
        )
        if confirmed is not None:
            otp_login(request, confirmed)
            return redirect("admin:index")
        error = "That code is wrong or expired: enter the code the app shows now."
    context = {
        **site.each_context(request),
        "title": "Enrol your authenticator",
        "qr_svg": segno.make(device.config_url, error="m").svg_inline(scale=4),
        "secret": device_secret(device),
        "error": error,
    }
    return TemplateResponse(request, "admin/otp/enrol.html", context, status=400 if error else 200)
