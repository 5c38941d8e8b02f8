"""The API's read-path speed-ups, behind one mixin: `FastReads`.

A viewset lists `FastReads` first among its bases and is otherwise plain DRF (with
`views.ReadMixin`, which owns the ETags, the 304s and the headers). Removing the mixin
from a viewset gives the same responses, only slower: every speed-up here earns its
place by a figure in docs/performance.md ("API"), measured with `bench/api.py`.

What it adds, for anonymous reads:

* **answered before DRF runs**: a revalidation (304) from a remembered ETag, and a
  body already rendered for this ETag, after the throttle has counted the request;
* **rendered bodies kept under their ETag** (which changes with the data, so an entry
  never goes stale): in this process's LRU, and in Redis for lists, which a breaking
  story sends everyone to; CSV exports too, when small enough.

`FastObligationReads` adds, for the obligations: the "now" detail row read by one
fixed statement prepared once per connection (`tracker.api.detail`,
`tracker.api.prepared`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING

from django.http import HttpResponse, HttpResponseNotModified
from django.utils.cache import patch_vary_headers
from rest_framework import exceptions, status
from rest_framework.response import Response

from tracker.api import detail
from tracker.api.conditional import anonymous_etag, matches

# The body cache's Redis I/O (with its outage fallback) lives in fastcache; the seam
# decides when to use it.
from tracker.api.fastcache import body_get, body_set
from tracker.api.throttles import AnonThrottle

if TYPE_CHECKING:
    from django.http import StreamingHttpResponse
    from rest_framework.viewsets import GenericViewSet

    from tracker.instants import AsOf

    class _Base(GenericViewSet):
        """What the mixin expects of the viewset it is mixed into (`views.ReadMixin`)."""

        etag: str | None
        as_of: AsOf
        csv_columns: list[str]
        default_format: str

        def stream_csv(self, queryset) -> StreamingHttpResponse: ...
else:
    _Base = object

# Bodies are keyed by ETag (data version + request), so this only bounds memory.
RESPONSE_CACHE_SECONDS = 300
# The headers a cached body is served with (the rest are set per request). The
# permalink pins the instant the body was rendered at: the same body, to be cited.
_BODY_HEADERS = ("Content-Type", "Content-Disposition", "X-As-Of", "Link", "X-Learned-Since")
# A CSV export is kept for the next reader only up to this size; bigger ones stream.
CSV_CACHE_BYTES = 4 * 1024 * 1024


class ServeCached(exceptions.APIException):
    """Raised before any data is read when a rendered body for this ETag is cached."""

    status_code = status.HTTP_200_OK
    default_code = "cached"

    def __init__(self, response: HttpResponse):
        super().__init__()
        self.response = response


class FastReads(_Base):
    """Put first in a read viewset's bases (before `views.ReadMixin`)."""

    @classmethod
    def as_view(cls, actions=None, **initkwargs):
        view = super().as_view(actions, **initkwargs)

        def revalidate_first(request, *args, **kwargs):
            # Anonymous reads of the default format (or a list's CSV export) are
            # answered before DRF runs when they can be: a revalidation (304, no
            # throttle slot: it costs a remembered version and a hash) or a body
            # already rendered for this ETag (after the throttle). Everything else,
            # and every miss, goes through DRF.
            lists_csv = bool(cls.csv_columns) and (actions or {}).get("get") == "list"
            shared = cls.shares_bodies((actions or {}).get("get"))
            etag = anonymous_etag(request, cls.default_format, ("csv",) if lists_csv else ())
            if etag is None:
                return view(request, *args, **kwargs)
            inm = request.META.get("HTTP_IF_NONE_MATCH")
            if inm and matches(inm, etag):
                return _public(HttpResponseNotModified(), etag)
            if cls.default_format == "json":
                throttle = AnonThrottle()
                if throttle.allow_request(request, None):
                    request.api_throttled = True  # counted: DRF's check lets it through
                    hit = body_get(_body_key(etag), shared=shared)
                    if hit is not None:
                        return _public(_cached_response(hit), etag)
                    request.api_body_missed = etag  # DRF need not look again
            return view(request, *args, **kwargs)

        revalidate_first.__dict__.update(view.__dict__)  # cls, initkwargs, actions, csrf
        return revalidate_first

    @staticmethod
    def shares_bodies(action: str | None) -> bool:
        """Whether rendered bodies go to Redis for every process, or stay in this
        process's LRU. Lists are shared: a story sends everyone to the same few URLs.
        A single object is one of many ids: a shared copy seldom helps and would cost
        two Redis round trips on every miss, so only the LRU keeps the hot ones."""
        return action != "retrieve"

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)  # sets self.etag (or raises a 304)
        self.cache_key = None
        if self.etag and not request.user.is_authenticated and (
            request.accepted_renderer.format in ("json", "csv")
        ):
            # Public bodies are cached under their ETag, which changes with the data:
            # when a story breaks, most readers get a body already rendered.
            self.cache_key = _body_key(self.etag)
            looked = getattr(request, "api_body_missed", None) == self.etag
            shared = self.shares_bodies(self.action)
            hit = None if looked else body_get(self.cache_key, shared=shared)
            if hit is not None:
                raise ServeCached(_cached_response(hit))

    def handle_exception(self, exc):
        if isinstance(exc, ServeCached):
            return exc.response
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        key = getattr(self, "cache_key", None)
        if key and isinstance(response, Response) and response.status_code == 200:
            shared = self.shares_bodies(getattr(self, "action", None))
            response.add_post_render_callback(
                lambda r: body_set(
                    key, _pack(r.headers, r.content), RESPONSE_CACHE_SECONDS, shared=shared
                )
            )
        return response

    def stream_csv(self, queryset):
        response = super().stream_csv(queryset)
        key = getattr(self, "cache_key", None)
        if key:
            streamed = response.streaming_content  # bytes: the WSGI server's side
            response.streaming_content = _kept_while_streamed(
                streamed, response, key  # type: ignore[arg-type]
            )
        return response


class FastObligationReads(FastReads):
    """`FastReads`, and the obligation detail "now" read in one prepared statement
    (`tracker.api.detail`) instead of the ORM's `select_related(...).get()`."""

    def get_object(self):
        if self.as_of.explicit:
            return super().get_object()
        obligation = detail.obligation(self.kwargs[self.lookup_url_kwarg or self.lookup_field])
        self.check_object_permissions(self.request, obligation)
        return obligation


def _body_key(etag: str) -> str:
    """Where a rendered public body is kept: its ETag names the data version and the
    request, so the entry never goes stale."""
    return f"api:body:{etag}"


def _pack(headers: dict[str, str], body: bytes) -> bytes:
    """A cached body with the headers that depend on it."""
    kept = {h: headers[h] for h in _BODY_HEADERS if h in headers}
    return json.dumps(kept).encode() + b"\0" + body


def _cached_response(packed: bytes) -> HttpResponse:
    head, _, body = packed.partition(b"\0")
    response = HttpResponse(body)
    for header, value in json.loads(head).items():
        response[header] = value
    return response


def _kept_while_streamed(chunks: Iterator[bytes], response, key: str) -> Iterator[bytes]:
    """Stream `chunks` and, when the whole export is small enough, cache it under
    `key` for the next reader (the headers are read at the end, once all are set)."""
    parts: list[bytes] | None = []
    size = 0
    for data in chunks:
        if parts is not None:
            parts.append(data)
            size += len(data)
            if size > CSV_CACHE_BYTES:
                parts = None
        yield data
    if parts is not None:
        body_set(key, _pack(response.headers, b"".join(parts)), RESPONSE_CACHE_SECONDS)


def _public(response: HttpResponse, etag: str) -> HttpResponse:
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=60"
    patch_vary_headers(response, ["Accept", "Authorization"])
    return response
