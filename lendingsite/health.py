from django.db import connection
from django.http import JsonResponse
from django.views.decorators.http import require_GET


@require_GET
def healthz(request):
    """The process is up (no dependencies are touched)."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request):
    """The process can serve traffic: the primary database answers."""
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
    except Exception:
        return JsonResponse(
            {"status": "unavailable", "detail": "Database is unreachable."}, status=503
        )
    return JsonResponse({"status": "ok"})
