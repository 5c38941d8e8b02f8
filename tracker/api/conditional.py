"""ETags for read endpoints, computed before any data is read.

The tag fingerprints everything a response can depend on: the data version (the
newest StatusEvent and the newest audit-history row of every content model: each
write to those models adds one, a change of stored status adds an event), the
request (path, every query parameter, the negotiated format, the user), and the
current UTC hour (days remaining/overdue move with the clock). Two indexed MAX()
lookups per table in one query; a revalidation never touches the data itself.

Known blind spot: many-to-many edits that save no model (e.g. adding a location to
an obligation from a shell) do not move the version until the next model write,
so responses may be served stale for at most `max-age` plus the next write.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime

from django.db import connection

from tracker import models

_VERSIONED = (
    models.Agreement,
    models.Party,
    models.Location,
    models.Source,
    models.Clause,
    models.ClauseVariant,
    models.Obligation,
    models.DeadlineChange,
    models.Report,
)


def _version_sql() -> str:
    # Identifiers come from model metadata (quoted), never from a request.
    q = connection.ops.quote_name
    tables = [(models.StatusEvent._meta.db_table, "id")]
    tables += [(m.history.model._meta.db_table, "history_id") for m in _VERSIONED]
    parts = [f"(SELECT MAX({q(col)}) FROM {q(table)})" for table, col in tables]  # noqa: S608
    return "SELECT " + ", ".join(parts)


def data_version() -> str:
    """A string that changes whenever any public data changes."""
    with connection.cursor() as cursor:
        cursor.execute(_version_sql())
        row = cursor.fetchone()
    return ".".join(str(v or 0) for v in row)


def etag_for(request, extra: str = "") -> str:
    """A strong ETag for this request's response, quoted as HTTP wants it."""
    user = request.user.pk if getattr(request, "user", None) and request.user.is_authenticated \
        else "anon"
    renderer = getattr(request, "accepted_renderer", None)
    parts = [
        data_version(),
        request.path,
        "&".join(sorted(f"{k}={v}" for k, vs in request.query_params.lists() for v in vs)),
        getattr(renderer, "format", ""),
        str(user),
        datetime.now(UTC).strftime("%Y%m%d%H"),
        extra,
    ]
    digest = hashlib.sha256("|".join(parts).encode()).hexdigest()[:32]
    return f'"{digest}"'


def matches(if_none_match: str | None, etag: str) -> bool:
    """RFC 9110 weak comparison, as If-None-Match requires (a `W/` prefix is ignored)."""
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    tags = [t.strip().removeprefix("W/") for t in if_none_match.split(",")]
    return etag in tags
