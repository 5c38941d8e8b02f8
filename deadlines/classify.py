"""The engine's RULES as SQL expressions, so statuses can be computed set-based.

`engine.classify` and `status_at(at)` read the same RULES table; a test checks on
random rows that the database and the engine agree.
"""

from __future__ import annotations

from datetime import UTC, datetime

from django.db.models import Case, CharField, DateTimeField, F, Value, When
from django.db.models.functions import Coalesce, Least, NullIf

from deadlines.engine import RULES, THRESHOLDS
from tracker import vocabulary as V

# Stands in for "never" inside LEAST, which SQLite turns NULL if any argument is NULL.
NEVER = datetime(9999, 1, 1, tzinfo=UTC)


def _status_of(column: str, status: str | None):
    return Value(status) if status else F(column.replace("_at", "_status"))


def status_at(at: datetime) -> Case:
    """The status the stored summary columns give at `at`."""
    return Case(
        *[When(**{f"{c}__lte": at}, then=_status_of(c, s)) for c, s in RULES],
        default=Value(V.PENDING),
        output_field=CharField(),
    )


def threshold_at(at: datetime) -> Case:
    """The threshold that decided `status_at(at)`: when the status began, if it changed."""
    return Case(
        *[When(**{f"{c}__lte": at}, then=F(c)) for c, _ in RULES],
        default=Value(None),
        output_field=DateTimeField(),
    )


def next_change_after(at: datetime):
    """The first threshold (or future fact) after `at`: the sweep's index column."""
    later = [
        Coalesce(
            Case(When(**{f"{c}__gt": at}, then=F(c)), output_field=DateTimeField()),
            Value(NEVER),
        )
        for c in (*THRESHOLDS, "facts_until")
    ]
    return NullIf(Least(*later), Value(NEVER))


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
