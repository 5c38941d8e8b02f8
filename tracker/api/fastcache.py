"""One Redis client per process for the API's hot path (throttle counter, cached bodies).

Django's Redis cache backend builds a new redis-py client object for every operation
(about a millisecond of Python each: it copies the response-callback table). On the
hot path of a traffic spike that is most of the cost, so the API keeps one client
(thread-safe, on the backend's own connection pool). Without Redis, None: callers fall
back to Django's cache API.

Redis is a speed-up here, never a dependency of an answer: when it fails, a body is
neither found nor kept (the request is answered from PostgreSQL), and tracker.outage
skips it for a few seconds and logs the outage once.
"""

from __future__ import annotations

import threading
from collections import OrderedDict

from django.core.cache import caches
from django.core.cache.backends.redis import RedisCache
from redis.exceptions import RedisError

from tracker import outage

# The name tracker.outage and the health endpoint know the API's Redis by.
REDIS = "cache"

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


# Bodies are keyed by ETag, which changes with the data, so an entry never goes stale:
# a small per-process LRU in front of Redis saves the round trip for the hottest URLs.
LOCAL_ENTRIES = 256
_recent: OrderedDict[str, bytes] = OrderedDict()


def _remember(key: str, body: bytes) -> None:
    with _local:
        _recent[key] = body
        _recent.move_to_end(key)
        while len(_recent) > LOCAL_ENTRIES:
            _recent.popitem(last=False)


def body_get(key: str, shared: bool = True) -> bytes | None:
    """The body kept under `key`: from this process's LRU, else (when `shared`) Redis."""
    body = _recent.get(key)
    if body is not None or not shared:
        return body
    client = redis_client()
    backend = caches["default"]
    if client is None:
        body = backend.get(key)
    elif not outage.available(REDIS):
        return None
    else:
        try:
            body = client.get(backend.make_key(key))
        except RedisError as exc:
            outage.failed(REDIS, exc)
            return None
        outage.recovered(REDIS)
    if body is not None:
        _remember(key, body)
    return body


def body_set(key: str, body: bytes, seconds: int, shared: bool = True) -> None:
    _remember(key, body)
    if not shared:
        return
    client = redis_client()
    backend = caches["default"]
    if client is None:
        backend.set(key, body, seconds)
        return
    if not outage.available(REDIS):
        return
    try:
        client.set(backend.make_key(key), body, ex=seconds)
    except RedisError as exc:
        outage.failed(REDIS, exc)
    else:
        outage.recovered(REDIS)


def forget_local() -> None:
    """Empty the per-process LRU (tests that clear the shared cache call it too)."""
    with _local:
        _recent.clear()
