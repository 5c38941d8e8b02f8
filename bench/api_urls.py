"""The product's URLs plus a bare Django JSON view, the baseline of bench/api.py."""

from django.http import JsonResponse
from django.urls import include, path


def baseline(request):
    """Same server, middleware and connection handling; no DRF, no database."""
    return JsonResponse({"ok": True, "items": [{"id": i, "name": f"item {i}"} for i in range(5)]})


urlpatterns = [
    path("bench/baseline/", baseline),
    path("", include("config.urls")),
]
