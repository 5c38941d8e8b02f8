"""Shared services that may go away (Redis: the API's cache and throttle counters):
who noticed, since when, and one warning per outage instead of one per request.

A caller that gets an error from the service calls `failed(name, exc)` and carries on
without it (no caching, no throttling); `available(name)` then says False for
RETRY_SECONDS, so requests during an outage do not each wait for a refused
connection, and after that one request tries again. `recovered(name)` (called on the
next success) logs that the service is back. The health endpoint reports `down()`.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("tracker.outage")

# How long a failed service is skipped before the next request tries it again.
RETRY_SECONDS = 5.0
# While a service stays down, its warning is repeated at most this often.
WARN_EVERY_SECONDS = 60.0

_lock = threading.Lock()
_state: dict[str, dict[str, float]] = {}


def available(name: str) -> bool:
    """False while `name` failed less than RETRY_SECONDS ago."""
    entry = _state.get(name)
    return entry is None or time.monotonic() >= entry["retry_at"]


def failed(name: str, exc: BaseException) -> None:
    """Record a failure of `name`; warn once per outage (and then once a minute)."""
    now = time.monotonic()
    with _lock:
        entry = _state.get(name)
        first = entry is None
        if first:
            entry = _state[name] = {"since": time.time(), "warned_at": now, "skipped": 0.0}
        entry["retry_at"] = now + RETRY_SECONDS
        entry["skipped"] += 1
        due = first or now - entry["warned_at"] >= WARN_EVERY_SECONDS
        if due:
            entry["warned_at"] = now
            skipped = int(entry["skipped"])
    if due:
        log.warning("%s unavailable (%s: %s); serving without it (%d operation(s) skipped "
                    "so far, next warning in %.0f s if it stays down)",
                    name, type(exc).__name__, exc, skipped, WARN_EVERY_SECONDS)


def recovered(name: str) -> None:
    """`name` answered again: forget the outage and say so once."""
    if name not in _state:
        return
    with _lock:
        entry = _state.pop(name, None)
    if entry is not None:
        log.warning("%s available again after %.0f s", name, time.time() - entry["since"])


def down() -> dict[str, float]:
    """The services currently marked down, each with the Unix time it went down."""
    return {name: entry["since"] for name, entry in list(_state.items())}


def reset() -> None:
    """Forget every outage (tests)."""
    with _lock:
        _state.clear()
