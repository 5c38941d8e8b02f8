"""What an obligation's representation lists besides its own columns (parties, places,
sources, published deadline changes), read for a page of obligations at once.

Read as plain values in two queries, already in their JSON shape, rather than through
`prefetch_related` and nested serializers: those build a model instance per related
row, a serializer per nested object and compile five ORM queries, which made an
obligation detail cost ~11 ms of Python (docs/performance.md, "API"). The SQL is
fixed text (identifiers from model metadata, ids as placeholders) over text and
integer columns, so it reads the same on PostgreSQL and SQLite.
`tests/api/test_representation.py` checks the result against the declared
serializers field for field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection
from dataclasses import dataclass, field

from django.db import connection
from rest_framework import serializers

from tracker import vocabulary as V
from tracker.models import DeadlineChange, Location, Obligation, Party, Source

# DRF's own field classes turn dates and instants into text, so these values read
# exactly as the declared serializers say (UTC instants end in "Z"; a date SQLite
# returns as text passes through unchanged).
date_text = serializers.DateField().to_representation
instant_text = serializers.DateTimeField().to_representation

_SOURCE_COLUMNS = ("id", "key", "url", "publisher", "title", "published_at", "language")


@dataclass
class Relations:
    """One obligation's related objects, each a dict as the API shows it."""

    responsible: list[dict] = field(default_factory=list)
    monitors: list[dict] = field(default_factory=list)
    locations: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    deadline_changes: list[dict] = field(default_factory=list)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Identifiers come from model metadata and values are placeholders: nothing in these
# statements comes from a request. `{ids}` stands for the ids' placeholders.
_PARTIES = (
    "SELECT '{kind}', t.obligation_id, p.name, p.slug, p.name FROM {through} t "  # noqa: S608
    "JOIN {party} p ON p.id = t.party_id WHERE t.obligation_id IN ({{ids}})"
)
_PLACES = (
    "SELECT 'locations', t.obligation_id, l.slug, l.alt_name, CAST(l.names AS TEXT) "
    "FROM {through} t JOIN {place} l ON l.id = t.location_id "
    "WHERE t.obligation_id IN ({{ids}})"
)
_CHANGES = (
    "SELECT 'changes', d.obligation_id, NULL, CAST(d.id AS TEXT), NULL FROM {table} d "
    "WHERE d.review_state = %s AND d.obligation_id IN ({{ids}})"
)
_SOURCES = (
    "SELECT t.{owner}, {columns} FROM {through} t JOIN {source} s ON s.id = t.source_id "
    "WHERE t.{owner} IN ({{ids}}) ORDER BY s.publisher, s.published_at, s.key"
)


@functools.cache
def _links_sql() -> str:
    """One UNION over the link tables: (kind, obligation id, sort key, a, b).
    Placeholders: ids for responsible, monitors and places, then the review state
    and ids for deadline changes."""
    party = _table(Party)
    return " UNION ALL ".join([
        _PARTIES.format(kind="responsible", party=party,
                        through=_table(Obligation.responsible.through)),
        _PARTIES.format(kind="monitors", party=party,
                        through=_table(Obligation.monitors.through)),
        _PLACES.format(through=_table(Obligation.locations.through), place=_table(Location)),
        _CHANGES.format(table=_table(DeadlineChange)),
    ]) + " ORDER BY 1, 3"


@functools.cache
def _sources_sql(through: str, owner: str) -> str:
    """Sources of some owners (obligations or deadline changes), in Source's order."""
    columns = ", ".join(f"s.{c}" for c in _SOURCE_COLUMNS)
    return _SOURCES.format(owner=owner, columns=columns, through=through,
                           source=_table(Source))


def _rows(sql: str, ids: list[int], params: list) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{ids}", ", ".join(["%s"] * len(ids))), params)
        return cursor.fetchall()


def _sources_of(model, owner: str, ids: list[int]) -> dict[int, list[dict]]:
    sql = _sources_sql(_table(model.sources.through), owner)
    found: dict[int, list[dict]] = {}
    for owner_id, *values in _rows(sql, ids, ids):
        source = dict(zip(_SOURCE_COLUMNS, values, strict=True))
        source["published_at"] = date_text(source["published_at"])
        found.setdefault(owner_id, []).append(source)
    return found


def relations_for(ids: Collection[int]) -> dict[int, Relations]:
    """The related objects of each obligation in `ids` (every id gets an entry)."""
    ids = list(dict.fromkeys(ids))
    out = {i: Relations() for i in ids}
    if not ids:
        return out
    change_ids: list[int] = []
    for kind, oid, _key, a, b in _rows(_links_sql(), ids, [*ids, *ids, *ids, V.PUBLISHED, *ids]):
        if kind == "locations":
            # An unsaved instance: the `name`/`label` rules stay in one place, the model.
            place = Location(slug=_key, names=json.loads(b), alt_name=a)
            out[oid].locations.append(
                {"slug": _key, "name": place.name, "alt_name": a, "label": place.label}
            )
        elif kind == "changes":
            change_ids.append(int(a))
        else:
            getattr(out[oid], kind).append({"slug": a, "name": b})

    for oid, sources in _sources_of(Obligation, "obligation_id", ids).items():
        out[oid].sources = sources
    if change_ids:
        cited = _sources_of(DeadlineChange, "deadlinechange_id", change_ids)
        changes = DeadlineChange.objects.filter(pk__in=change_ids).order_by("agreed_at", "id")
        for c in changes.values_list("obligation_id", "id", "due_date", "agreed_at", "reason",
                                     "unconfirmed", "note"):
            oid, cid, due_date, agreed_at, reason, unconfirmed, note = c
            out[oid].deadline_changes.append({
                "id": cid, "due_date": date_text(due_date), "agreed_at": instant_text(agreed_at),
                "reason": reason, "unconfirmed": unconfirmed, "note": note,
                "sources": cited.get(cid, []),
            })
    return out
