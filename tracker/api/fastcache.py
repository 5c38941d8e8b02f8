"""One Redis client per process for the API's hot path (throttle counter, and the
bodies `tracker.api.fastpath` keeps).

Django's Redis cache backend builds a new redis-py client object for every operation
(about a millisecond of Python each: it copies the response-callback table). On the
hot path of a traffic spike that is most of the cost, so the API keeps one client
(thread-safe, on the backend's own connection pool). Without Redis, None: callers fall
back to Django's cache API.
"""

from __future__ import annotations

import threading

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache

_local = threading.Lock()
_clients: dict[int, object] = {}


def redis_client():
    """The process's redis-py client for the default cache, or None when it is not Redis."""
    backend = caches["default"]
    if not isinstance(backend, RedisCache):
        return None
    key = id(backend._cache)
    client = _clients.get(key)
    if client is None:
        with _local:
            client = _clients.setdefault(key, backend._cache.get_client(None, write=True))
    return client

