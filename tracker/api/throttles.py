"""API throttles: fixed-window counters, one Redis round trip per request.

DRF's own rate throttles keep a list of timestamps per client (a read and a write per
request) and copy `DEFAULT_THROTTLE_RATES` at import time. These read the rate per
request (so settings overrides apply) and, on Redis, count with one pipelined INCR +
EXPIRE: cheap enough for the traffic spike they exist for. Without Redis configured
(local memory cache) they fall back to DRF's algorithm. When the configured Redis
fails, requests are not throttled (tracker.outage logs it once and skips Redis for a
few seconds): a throttle protects the service, it must not be why a read fails.

Scopes (rates in settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]):
- `anon`: anonymous clients, by address;
- `user`: signed-in clients (token or session), by account;
- `export`: whole-list CSV exports that are not already prepared, by account or
  address, on top of the above (docs/api.md, "Exports").
"""

from __future__ import annotations

import time

from django.core.cache import caches
from redis.exceptions import RedisError
from rest_framework.settings import api_settings
from rest_framework.throttling import SimpleRateThrottle

from tracker import outage
from tracker.api.fastcache import REDIS, redis_client


class FixedWindowThrottle(SimpleRateThrottle):
    """429 with Retry-After once a client has used its `scope`'s rate in the window."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def client_key(self, request) -> str | None:
        """Who is counted, or None when this throttle does not apply to the request."""
        raise NotImplementedError

    def get_cache_key(self, request, view) -> str | None:
        key = self.client_key(request)
        return None if key is None else f"throttle:{self.scope}:{key}"

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None:
            return True
        ident = self.client_key(request)
        if ident is None:
            return True
        client = redis_client()
        if client is None:
            return super().allow_request(request, view)
        if not outage.available(REDIS):
            return True
        now = time.time()
        window = int(now // self.duration)
        key = caches["default"].make_key(f"throttle:{self.scope}:{ident}:{window}")
        try:
            pipe = client.pipeline(transaction=False)
            pipe.incr(key)
            pipe.expire(key, self.duration + 1, nx=True)
            count, _ = pipe.execute()
        except RedisError as exc:
            outage.failed(REDIS, exc)
            return True
        outage.recovered(REDIS)
        self._wait = self.duration - (now % self.duration)
        return count <= self.num_requests

    def wait(self) -> float | None:
        return getattr(self, "_wait", None) or super().wait()


class AnonThrottle(FixedWindowThrottle):
    """Anonymous clients, by address."""

    scope = "anon"

    def client_key(self, request) -> str | None:
        if request.user.is_authenticated:
            return None
        if getattr(request, "api_throttled", False):
            return None  # already counted by the view's fast path (views.ReadMixin.as_view)
        return self.get_ident(request)


class UserThrottle(FixedWindowThrottle):
    """Signed-in clients, by account (every token and session of one account together)."""

    scope = "user"

    def client_key(self, request) -> str | None:
        return str(request.user.pk) if request.user.is_authenticated else None


class ExportThrottle(FixedWindowThrottle):
    """Whole-list exports, by account or address (applied by the list views to CSV)."""

    scope = "export"

    def client_key(self, request) -> str | None:
        if request.user.is_authenticated:
            return f"user:{request.user.pk}"
        return f"addr:{self.get_ident(request)}"
