"""The engine's RULES as SQL expressions, so statuses can be computed set-based.

`engine.classify` and `status_at(at)` read the same RULES table; a test checks on
random rows that the database and the engine agree.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Case, CharField, F, Value, When

from deadlines.engine import RULES, THRESHOLDS
from tracker import vocabulary as V


def _status_of(column: str, status: str | None, prefix: str = ""):
    return Value(status) if status else F(prefix + column.replace("_at", "_status"))


def status_at(at: datetime, prefix: str = "") -> Case:
    """The status the stored summary columns give at `at`. `prefix`: where the columns
    are (`"span__"`: a joined `SummarySpan`'s, see `tracker.statuses.split`)."""
    return Case(
        *[When(**{f"{prefix}{c}__lte": at}, then=_status_of(c, s, prefix)) for c, s in RULES],
        default=Value(V.PENDING),
        output_field=CharField(),
    )


def status_sql(instant: str, alias: str = "", *, before: bool = False) -> str:
    """RULES as raw SQL text: the status the row's columns give at the SQL `instant`
    (`before`: just before it, so a threshold at `instant` has not passed yet).

    Only column names and the fixed status words go into the text; values are bound.
    """
    passed = "<" if before else "<="
    whens = []
    for column, status in RULES:
        then = f"'{status}'" if status else f"{alias}{column.replace('_at', '_status')}"
        whens.append(f"WHEN {alias}{column} {passed} {instant} THEN {then}")
    return f"CASE {' '.join(whens)} ELSE '{V.PENDING}' END"


def next_change_sql(instant: str, alias: str = "") -> str:
    """The first threshold (or dated fact) after `instant`; PostgreSQL's LEAST skips NULLs."""
    cols = (*THRESHOLDS, "facts_until")
    return "LEAST(" + ", ".join(
        f"CASE WHEN {alias}{c} > {instant} THEN {alias}{c} END" for c in cols
    ) + ")"
