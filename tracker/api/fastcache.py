"""One Redis client per process for the API's hot path (throttle counter, cached bodies).

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


def body_get(key: str) -> bytes | None:
    client = redis_client()
    backend = caches["default"]
    if client is None:
        return backend.get(key)
    return client.get(backend.make_key(key))


def body_set(key: str, body: bytes, seconds: int) -> None:
    client = redis_client()
    backend = caches["default"]
    if client is None:
        backend.set(key, body, seconds)
        return
    client.set(backend.make_key(key), body, ex=seconds)
