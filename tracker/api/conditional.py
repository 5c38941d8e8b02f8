"""ETags for read endpoints, computed before any data is read.

The tag fingerprints everything a response can depend on: the data version
(`tracker.versions`: one indexed MAX() per table, in one query), the request (path,
every query parameter, the negotiated format, the user), and the current UTC hour
(days remaining/overdue move with the clock). A revalidation never touches the data
itself.

Known blind spot: many-to-many edits that save no model (e.g. adding a location to
an obligation from a shell) do not move the version until the next model write,
so responses may be served stale for at most `max-age` plus the next write.
"""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection
from django.utils.translation import get_language

from tracker import models, versions

# The version is remembered per process for this long: a burst of requests costs one
# query a second, and a change is seen at most this late by another process (writes
# through this process forget it at once, see `forget`). Tests set it to 0.
VERSION_TTL_SECONDS = 1.0
_memo: dict[str, object] = {"value": None, "at": 0.0}


def data_version() -> str:
    """A string that changes whenever any public data changes."""
    now = time.monotonic()
    value = _memo["value"]
    if value is not None and now - float(_memo["at"]) < VERSION_TTL_SECONDS:
        return str(value)
    with connection.cursor() as cursor:
        cursor.execute(versions.sql())
        row = cursor.fetchone()
    value = versions.of(row)
    _memo.update(value=value, at=now)
    return value


def forget(**kwargs) -> None:
    """Drop the remembered version (connected to model signals in tracker.api.apps)."""
    _memo["value"] = None


def request_etag(path: str, query: list[tuple[str, str]], fmt: str, user: str) -> str:
    parts = [
        data_version(),
        path,
        "&".join(sorted(f"{k}={v}" for k, v in query)),
        fmt,
        user,
        get_language() or "",  # labels and messages follow the language (tracker.i18n)
        datetime.now(UTC).strftime("%Y%m%d%H"),
    ]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def etag_for(request) -> str:
    """A strong ETag for this (DRF) request's response, quoted as HTTP wants it."""
    user = request.user.pk if getattr(request, "user", None) and request.user.is_authenticated \
        else "anon"
    renderer = getattr(request, "accepted_renderer", None)
    query = [(k, v) for k, vs in request.query_params.lists() for v in vs]
    return request_etag(request.path, query, getattr(renderer, "format", ""), str(user))


def anonymous_etag(request, default_format: str, also: tuple[str, ...] = ()) -> str | None:
    """The ETag a plain Django request will get, when it can be known before DRF runs:
    an anonymous GET/HEAD asking for the view's default format, or for one of `also`
    by `?format=`. None otherwise (the request then takes the full path)."""
    if request.method not in ("GET", "HEAD"):
        return None
    if "HTTP_AUTHORIZATION" in request.META or settings.SESSION_COOKIE_NAME in request.COOKIES:
        return None
    accept = request.META.get("HTTP_ACCEPT", "*/*").strip()
    if accept not in ("", "*/*") and not (default_format == "json" and
                                           accept == "application/json"):
        return None
    # Revalidations of the same URL repeat when a story breaks: the tag is remembered
    # per data version, URL and hour (parsing the query and hashing cost as much as the
    # rest of a 304).
    key = (data_version(), request.path, request.META.get("QUERY_STRING", ""),
           default_format, also, get_language(), int(time.time() // 3600))
    if key in _anonymous_tags:
        return _anonymous_tags[key]
    fmt = request.GET.get("format", default_format)
    if fmt != default_format and fmt not in also:
        etag = None
    else:
        query = [(k, v) for k, vs in request.GET.lists() for v in vs]
        etag = request_etag(request.path, query, fmt, "anon")
    if len(_anonymous_tags) >= ANONYMOUS_TAGS_KEPT:
        _anonymous_tags.clear()
    _anonymous_tags[key] = etag
    return etag


ANONYMOUS_TAGS_KEPT = 4096
_anonymous_tags: dict[tuple, str | None] = {}


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires (a `W/` prefix is ignored)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag in tags


def _connect() -> None:
    """Writes made through this process are seen at once (bulk and raw-SQL writes, such
    as the sweep's, within VERSION_TTL_SECONDS)."""
    from django.db.models.signals import m2m_changed, post_delete, post_save

    for model in (*versions.VERSIONED, models.StatusEvent):
        post_save.connect(forget, sender=model, dispatch_uid=f"api-version-{model.__name__}")
        post_delete.connect(forget, sender=model, dispatch_uid=f"api-version-d-{model.__name__}")
    m2m_changed.connect(forget, dispatch_uid="api-version-m2m")


_connect()
