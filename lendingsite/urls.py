from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from lendingsite import health
from loans.api.urls import loan_urlpatterns, repayment_urlpatterns

urlpatterns = [
    path("admin/", admin.site.urls),
    path("api/auth/", include("accounts.api.urls")),
    path("api/wallet/", include("wallets.api.urls")),
    path("api/business-date", include("ledger.api.urls")),
    path("api/loans/", include(loan_urlpatterns)),
    path("api/repayments/", include(repayment_urlpatterns)),
    path("api/notifications", include("notifications.api.urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="swagger-ui"),
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    # Prometheus metrics; nginx serves /metrics only to loopback (deploy/nginx).
    path("", include("django_prometheus.urls")),
]

handler400 = "lendingsite.exception_handlers.bad_request"
handler403 = "lendingsite.exception_handlers.permission_denied"
handler404 = "lendingsite.exception_handlers.not_found"
handler500 = "lendingsite.exception_handlers.server_error"
