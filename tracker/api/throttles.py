"""The anonymous throttle: a fixed-window counter, one Redis round trip per request.

DRF's own AnonRateThrottle keeps a list of timestamps per client (a read and a write
per request) and copies `DEFAULT_THROTTLE_RATES` at import time. This one reads the
rate per request (so settings overrides apply) and, on Redis, counts with one
pipelined INCR + EXPIRE: cheap enough for the traffic spike it exists for. Without
Redis (local memory cache) it falls back to DRF's algorithm.
"""

from __future__ import annotations

import time

from django.core.cache import caches
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle

from tracker.api.fastcache import redis_client


class AnonThrottle(AnonRateThrottle):
    """Anonymous clients, by address: 429 with Retry-After past the `anon` rate."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)

    def allow_request(self, request, view) -> bool:
        self.rate = self.get_rate()
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.rate is None or request.user.is_authenticated:
            return True
        if getattr(request, "api_throttled", False):
            return True  # already counted by the view's fast path (views.ReadMixin.as_view)
        client = redis_client()
        if client is None:
            return super().allow_request(request, view)
        now = time.time()
        window = int(now // self.duration)
        key = caches["default"].make_key(f"throttle:anon:{self.get_ident(request)}:{window}")
        pipe = client.pipeline(transaction=False)
        pipe.incr(key)
        pipe.expire(key, self.duration + 1, nx=True)
        count, _ = pipe.execute()
        self._wait = self.duration - (now % self.duration)
        return count <= self.num_requests

    def wait(self) -> float | None:
        return getattr(self, "_wait", None) or super().wait()

