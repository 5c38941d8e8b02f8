"""Fixed reads prepared once per database connection (PostgreSQL), planned once.

An obligation detail is two small fixed statements. On a random id (always a cache miss)
PostgreSQL spends longer planning them (mostly the five-branch UNION of
`tracker.api.relations`) than running them, which fetches a handful of rows by index, on
the same cores as the web workers. A server-side prepared statement is planned once per
connection and reused: with persistent connections (`CONN_MAX_AGE` other than 0) the
plan is paid once per connection (docs/performance.md, "API"); without them nothing is
prepared.

A prepared statement lives in one server session, so a pooler that hands one
client's statements to another server session (PgBouncer in transaction mode) or
resets sessions (`DISCARD ALL`) breaks it: set `DATABASE_PREPARED_STATEMENTS=false`
there. Elsewhere (SQLite in `make run`) the SQL simply runs as it is.
"""

from __future__ import annotations

import functools
import hashlib
import threading
import weakref
from collections.abc import Sequence

from django.conf import settings
from django.db import connection

_lock = threading.Lock()
# Raw driver connection -> names prepared on it. Keyed weakly: a closed connection's
# entry goes with it, and a new connection starts with none.
_prepared: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _numbered(sql: str) -> str:
    """`%s` placeholders as PostgreSQL's `$1, $2, ...` (the SQL holds no other `%`)."""
    parts = sql.split("%s")
    return "".join(f"{part}${i}" for i, part in enumerate(parts[:-1], 1)) + parts[-1]


@functools.cache
def _statement_name(name: str, sql: str) -> str:
    """`name` and the text's digest: a statement is never reused for other SQL."""
    return f"{name}_{hashlib.sha256(sql.encode()).hexdigest()[:10]}"


def enabled() -> bool:
    """On PostgreSQL, unless turned off, where connections outlive a request (a
    connection per request would prepare on every request and reuse nothing)."""
    return (
        connection.vendor == "postgresql"
        and settings.DATABASE_PREPARED_STATEMENTS
        and connection.settings_dict.get("CONN_MAX_AGE") != 0
    )


def rows(name: str, sql: str, params: Sequence) -> list[tuple]:
    """The rows of `sql` (fixed text, `%s` placeholders) for `params`."""
    with connection.cursor() as cursor:
        if not enabled():
            cursor.execute(sql, params)
            return cursor.fetchall()
        statement = _statement_name(name, sql)
        raw = connection.connection
        with _lock:
            done = _prepared.setdefault(raw, set())
        if statement not in done:
            # Not undone by a rollback: a prepared statement belongs to the session.
            cursor.execute(f"PREPARE {statement} AS {_numbered(sql)}")
            with _lock:
                done.add(statement)
        args = f" ({', '.join(['%s'] * len(params))})" if params else ""
        cursor.execute(f"EXECUTE {statement}{args}", params)
        return cursor.fetchall()
