"""GET /healthz: what answers and what does not, for operators and load balancers.

200 while the database answers (the site can serve every read from it), with each
part named "ok" or "down"; 503 only when the database is down. Redis (the API's
cache and throttle counters) and the Celery broker degrade the service, they do not
stop it: the body says which are away. Never cached, never throttled, no data read.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.conf import settings
from django.db import DatabaseError, connection
from django.http import JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from tracker import outage

# A part that does not answer within this long counts as down.
PROBE_TIMEOUT_SECONDS = 1.0


def _database() -> bool:
    # A connection the server closed since it was checked gets one more try on a new
    # one: "down" must mean the database does not answer, not that one socket died.
    for _ in range(2):
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT 1")
                return cursor.fetchone() == (1,)
        except DatabaseError:
            connection.close()
    return False


def _redis(url: str) -> bool:
    import redis

    try:
        client = redis.Redis.from_url(url, socket_timeout=PROBE_TIMEOUT_SECONDS,
                                      socket_connect_timeout=PROBE_TIMEOUT_SECONDS)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except redis.RedisError:
        return False


def _state(ok: bool) -> str:
    return "ok" if ok else "down"


@never_cache
@require_GET
def healthz(request):
    parts = {"database": _state(_database())}
    if settings.REDIS_URL:
        cache_ok = _redis(settings.REDIS_URL)
        if cache_ok:
            outage.recovered("cache")
        parts["cache"] = _state(cache_ok)
    broker = settings.CELERY_BROKER_URL
    if broker.startswith(("redis://", "rediss://")):
        parts["broker"] = _state(_redis(broker))
    degraded = sorted(name for name, state in parts.items() if state != "ok")
    body = {
        "status": "ok" if not degraded else "degraded",
        "parts": parts,
        "degraded": degraded,
        "checked_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    if parts["database"] != "ok":
        body["status"] = "down"
        return JsonResponse(body, status=503)
    return JsonResponse(body)
