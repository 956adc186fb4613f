"""The back office: Django's admin site, the portfolio dashboard and its charts.

The top of the import graph: it reads every app's selectors, and no app imports it. It is
not an app of its own: ``backoffice.apps.LendingAdminConfig`` configures Django's admin
app (label ``admin``), so the dashboard's template lives in the project's ``templates/``.
"""
