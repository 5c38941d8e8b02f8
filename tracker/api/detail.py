"""One obligation by id for the "now" detail, read in one plain query.

An obligation detail is the API's most frequent uncached read (links are shared one
obligation at a time, so a crawler or a breaking story spreads over many ids). The ORM's
`select_related("agreement", "clause").get(pk=...)` spends most of its time compiling
the join, which is the same every time; this reads the row with fixed SQL (clause number
joined in), prepared once per connection (`tracker.api.prepared`), and takes the
agreement from a per-process table of agreements, which are few and reloaded whenever
the data version moves (`tracker.api.conditional.data_version`). Answers `as_of` go
through the ORM (they need the facts annotated).
"""

from __future__ import annotations

import functools
import threading

from django.db import connection, models
from django.http import Http404

from tracker.api import prepared
from tracker.api.conditional import data_version
from tracker.models import Agreement, Clause, Obligation
from tracker.numbers import whole_number

_lock = threading.Lock()
_agreements: dict[str, object] = {"version": None, "rows": {}}


def agreement(pk: int) -> Agreement:
    """The agreement with this id, as of the current data version (shared, read-only)."""
    version = data_version()
    if _agreements["version"] != version:
        rows = Agreement.objects.in_bulk()
        with _lock:
            _agreements.update(version=version, rows=rows)
    return _agreements["rows"][pk]  # type: ignore[index]


@functools.cache
def _sql() -> str:
    # Every column named, in the model's order (`Model.from_db` takes them by
    # position): a column added later does not change what a prepared statement returns.
    q = connection.ops.quote_name
    columns = ", ".join(f"o.{q(f.column)}" for f in Obligation._meta.concrete_fields)
    return (
        f"SELECT {columns}, c.{q('number')} "  # noqa: S608 - identifiers only
        f"FROM {q(Obligation._meta.db_table)} o "
        f"LEFT JOIN {q(Clause._meta.db_table)} c ON c.id = o.clause_id WHERE o.id = %s"
    )


@functools.cache
def _json_columns() -> frozenset[str]:
    return frozenset(f.name for f in Obligation._meta.concrete_fields
                     if isinstance(f, models.JSONField))


def _converted(values: list, only_json: bool = False) -> list:
    """Values as the ORM would give them. psycopg2 already returns aware datetimes;
    SQLite (`make run`) returns them naive unless the backend's converters run."""
    table = Obligation._meta.db_table
    out = []
    for f, value in zip(Obligation._meta.concrete_fields, values, strict=True):
        if only_json and f.name not in _json_columns():
            out.append(value)
            continue
        col = f.get_col(table)
        for convert in connection.ops.get_db_converters(col) + f.get_db_converters(connection):
            value = convert(value, col, connection)
        out.append(value)
    return out


def obligation(pk: object) -> Obligation:
    """The obligation with id `pk` (any URL text; 404 when it is not one), with its
    `agreement` and `clause` (number only) attached."""
    number = whole_number(pk)
    if number is None:
        raise Http404
    found = prepared.rows("tracker_obligation_detail", _sql(), [number])
    if not found:
        raise Http404
    *values, clause_number = found[0]
    if connection.vendor != "postgresql" or _json_columns():
        # PostgreSQL's driver hands JSON columns over as text when the statement is not
        # the ORM's: those (titles, descriptions) go through the field's converters too.
        values = _converted(values, only_json=connection.vendor == "postgresql")
    row = Obligation.from_db(connection.alias, None, values)
    row.agreement = agreement(row.agreement_id)
    row.clause = Clause(pk=row.clause_id, number=clause_number) if row.clause_id else None
    return row
