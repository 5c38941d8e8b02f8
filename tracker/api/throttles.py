"""Throttles whose rates are read per request, so settings overrides take effect.

DRF's own classes copy `DEFAULT_THROTTLE_RATES` into a class attribute at import
time; reading it on each request lets tests (and a reloaded config) change it.
"""

from __future__ import annotations

from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle


class AnonThrottle(AnonRateThrottle):
    """Anonymous clients, by address: 429 with Retry-After past the `anon` rate."""

    def get_rate(self) -> str | None:
        return api_settings.DEFAULT_THROTTLE_RATES.get(self.scope)
