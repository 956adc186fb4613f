from django.contrib.admin.apps import AdminConfig


class LendingAdminConfig(AdminConfig):
    """Django's admin app, with ``LendingAdminSite`` as ``admin.site``."""

    default_site = "backoffice.site.LendingAdminSite"
