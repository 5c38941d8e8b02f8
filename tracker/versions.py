"""The data version: a string that moves whenever data a reader is shown may change.

It is the highest id of every table whose new rows record a change: status events
(the sweep writes one for each status it changes), obligations and their responsible
parties (the overview counts by party), and the audit history of every content model
(simple_history adds a row for each edit or deletion made through the ORM). Each
part is one backward index scan. The API's ETags (`tracker.api.conditional`) and the
overview's stored counts (`tracker.web.snapshot`) are both keyed by it.

A change no new row records (a bulk `.update()`, a replay moving a status backwards)
does not move it; the readers bound how long that can go unseen.
"""

from __future__ import annotations

import functools

from django.db import connection
from django.db.models import Model, Subquery

from tracker import models

# Content models whose audit history counts.
VERSIONED = (
    models.Agreement,
    models.Party,
    models.Location,
    models.Source,
    models.Clause,
    models.ClauseVariant,
    models.ClauseText,  # a clause's text per language: shown by the API and the pages
    models.Obligation,
    models.DeadlineChange,
    models.Report,
    models.Claimant,
    models.AgreementRelation,
)


@functools.cache
def parts() -> tuple[tuple[str, type[Model], str], ...]:
    """(name, model, increasing column) of every part. Built once: simple_history's
    `Model.history` builds a manager class on every access."""
    found: list[tuple[str, type[Model], str]] = [
        ("v_event", models.StatusEvent, "id"),
        ("v_obligation", models.Obligation, "id"),
        ("v_responsible", models.Obligation.responsible.through, "id"),
    ]
    # "h_": a model's history is a part of its own, beside its table's ids ("v_obligation").
    found += [(f"h_{m.__name__.lower()}", m.history.model, "history_id") for m in VERSIONED]
    return tuple(found)


@functools.cache
def sql() -> str:
    """One statement selecting every part, for a plain cursor."""
    q = connection.ops.quote_name
    # Identifiers come from model metadata (quoted), never from a request.
    selected = [
        f"(SELECT MAX({q(column)}) FROM {q(model._meta.db_table)})"  # noqa: S608
        for _, model, column in parts()
    ]
    return "SELECT " + ", ".join(selected)


@functools.cache
def subqueries() -> dict[str, Subquery]:
    """Every part as an annotation, to read the version with another row."""
    return {
        name: Subquery(model._default_manager.order_by(f"-{column}").values(column)[:1])
        for name, model, column in parts()
    }


def of(values) -> str:
    """The version from the parts' values, in `parts()` order."""
    return ".".join(str(v or 0) for v in values)
