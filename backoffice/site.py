from functools import partial

from django.contrib import admin
from django.urls import path

from accounts.forms import StaffLoginForm
from backoffice.dashboard import dashboard_view
from backoffice.exports import export_view


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

    def get_urls(self):
        dashboard = self.admin_view(partial(dashboard_view, site=self))
        export = self.admin_view(partial(export_view, site=self))
        return [
            path("dashboard/", dashboard, name="dashboard"),
            path("exports/<str:app_label>/<str:model_name>/", export, name="export"),
            *super().get_urls(),
        ]
