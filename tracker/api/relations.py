"""What an obligation's representation lists besides its own columns (parties, places,
sources, published deadline changes), read for a page of obligations at once.

Read as plain values in one query (two when there are deadline changes), already in
their JSON shape, rather than through `prefetch_related` and nested serializers: those
build a model instance per related row, a serializer per nested object and compile five
ORM queries, which made Python the largest cost of a page or a detail
(docs/performance.md, "API", says what this buys today). The SQL is fixed text
(identifiers from model metadata, ids as placeholders) that reads the same on PostgreSQL
and SQLite. `tests/api/test_representation.py` checks the result against the declared
serializers field for field.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Q
from rest_framework import serializers

from tracker import vocabulary as V
from tracker.api import prepared
from tracker.models import AgreementRelation, DeadlineChange, Location, Obligation, Party, Source
from tracker.naming import former_in_force, named_at

# DRF's own field classes turn dates and instants into text, so these values read
# exactly as the declared serializers say (UTC instants end in "Z"; a date SQLite
# returns as text passes through unchanged).
date_text = serializers.DateField().to_representation
instant_text = serializers.DateTimeField().to_representation

@dataclass
class Relations:
    """One obligation's related objects, each a dict as the API shows it."""

    responsible: list[dict] = field(default_factory=list)
    monitors: list[dict] = field(default_factory=list)
    locations: list[dict] = field(default_factory=list)
    sources: list[dict] = field(default_factory=list)
    deadline_changes: list[dict] = field(default_factory=list)
    # The terms of later agreements that replaced this one, and those it replaced
    # (`term_link` dicts without the addresses, which the serializer adds).
    replaced_by: list[dict] = field(default_factory=list)
    replaces: list[dict] = field(default_factory=list)


def _table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


# Identifiers come from model metadata and values are placeholders: nothing in these
# statements comes from a request. `{ids}` stands for the ids' placeholders.
#
# Every branch of the UNION has the same columns: kind, obligation id, three sort keys
# (text, date, text), an integer and five texts. The sources' branch comes first: its
# types define the columns (PostgreSQL types a UNION pair by pair, and a NULL-only
# column would become text).
_SOURCES_OF_OBLIGATIONS = (
    "SELECT 'sources', t.obligation_id, s.publisher, s.published_at, s.key, "  # noqa: S608
    "s.id, s.key, s.url, s.publisher, s.title, s.language "
    "FROM {through} t JOIN {source} s ON s.id = t.source_id "
    "WHERE t.obligation_id IN ({{ids}})"
)
_PARTIES = (
    "SELECT '{kind}', t.obligation_id, p.name, NULL, NULL, "
    "NULL, p.slug, p.name, CAST(p.former_names AS TEXT), NULL, NULL FROM {through} t "
    "JOIN {party} p ON p.id = t.party_id WHERE t.obligation_id IN ({{ids}})"
)
_PLACES = (
    "SELECT 'locations', t.obligation_id, l.slug, NULL, NULL, "
    "NULL, l.slug, l.alt_name, CAST(l.names AS TEXT), CAST(l.former_names AS TEXT), NULL "
    "FROM {through} t JOIN {place} l ON l.id = t.location_id "
    "WHERE t.obligation_id IN ({{ids}})"
)
_CHANGES = (
    "SELECT 'changes', d.obligation_id, NULL, NULL, NULL, "
    "d.id, NULL, NULL, NULL, NULL, NULL FROM {table} d "
    "WHERE d.review_state = %s AND d.obligation_id IN ({{ids}})"
)
# The sources of deadline changes (few; read only when there are changes).
_SOURCES_OF_CHANGES = (
    "SELECT t.deadlinechange_id, s.id, s.key, s.url, s.publisher, s.title, "  # noqa: S608
    "s.published_at, s.language FROM {through} t JOIN {source} s ON s.id = t.source_id "
    "WHERE t.deadlinechange_id IN ({{ids}}) ORDER BY s.publisher, s.published_at, s.key"
)


@functools.cache
def _links_sql() -> str:
    """The related rows of some obligations in one statement (one round trip).
    Placeholders: ids for sources, responsible, monitors and places, then the review
    state and ids for deadline changes. Sorted as each model sorts (Source by
    publisher, date, key; Party by name; Location by slug)."""
    party, source = _table(Party), _table(Source)
    return " UNION ALL ".join([
        _SOURCES_OF_OBLIGATIONS.format(through=_table(Obligation.sources.through),
                                       source=source),
        _PARTIES.format(kind="responsible", party=party,
                        through=_table(Obligation.responsible.through)),
        _PARTIES.format(kind="monitors", party=party,
                        through=_table(Obligation.monitors.through)),
        _PLACES.format(through=_table(Obligation.locations.through), place=_table(Location)),
        _CHANGES.format(table=_table(DeadlineChange)),
    ]) + " ORDER BY 1, 3, 4, 5"


@functools.cache
def _change_sources_sql() -> str:
    return _SOURCES_OF_CHANGES.format(through=_table(DeadlineChange.sources.through),
                                      source=_table(Source))


def _rows(name: str, sql: str, ids: list[int], params: list) -> list[tuple]:
    if len(ids) == 1:
        # One obligation (a detail): always the same text, so planned once per
        # connection (tracker.api.prepared); a page's text varies with its length.
        return prepared.rows(name, sql.replace("{ids}", "%s"), params)
    with connection.cursor() as cursor:
        cursor.execute(sql.replace("{ids}", ", ".join(["%s"] * len(ids))), params)
        return cursor.fetchall()


def _source(source_id, key, url, publisher, title, published_at, language) -> dict:
    return {"id": source_id, "key": key, "url": url, "publisher": publisher, "title": title,
            "published_at": date_text(published_at), "language": language}


def _former(text: str | None) -> list:
    # Most parties and places were never renamed: skip parsing their empty list.
    return json.loads(text) if text and text != "[]" else []


def relations_for(ids: Collection[int],
                  names_at: Mapping[int, datetime | None] | None = None,
                  ) -> dict[int, Relations]:
    """The related objects of each obligation in `ids` (every id gets an entry), its
    parties and places named as at `names_at[id]` (`tracker.naming`; missing or None:
    today's names)."""
    ids = list(dict.fromkeys(ids))
    names_at = names_at or {}
    out = {i: Relations() for i in ids}
    if not ids:
        return out
    change_ids: list[int] = []
    params = [*ids, *ids, *ids, *ids, V.PUBLISHED, *ids]
    links = _rows("tracker_obligation_links", _links_sql(), ids, params)
    for kind, oid, _s1, published, _s3, number, a, b, c, d, e in links:
        if kind == "sources":
            out[oid].sources.append(_source(number, a, b, c, d, published, e))
        elif kind == "locations":
            # An unsaved instance: the `name`/`label` rules stay in one place, the model.
            at = names_at.get(oid)
            place = Location(slug=a, names=json.loads(c), alt_name=b)
            if at is not None:
                place.former_names = _former(d)
                place = named_at(place, at)
            out[oid].locations.append({"slug": a, "name": place.name,
                                       "alt_name": place.alt_name, "label": place.label})
        elif kind == "changes":
            change_ids.append(number)
        else:
            at = names_at.get(oid)
            former = former_in_force(_former(c), at) if at is not None else None
            getattr(out[oid], kind).append({"slug": a, "name": former["name"] if former else b})

    if change_ids:
        cited: dict[int, list[dict]] = {}
        for change_id, *source in _rows("tracker_change_sources", _change_sources_sql(), change_ids,
                                        change_ids):
            cited.setdefault(change_id, []).append(_source(*source))
        changes = DeadlineChange.objects.filter(pk__in=change_ids).order_by("agreed_at", "id")
        for c in changes.values_list("obligation_id", "id", "due_date", "agreed_at", "reason",
                                     "unconfirmed", "note"):
            oid, cid, due_date, agreed_at, reason, unconfirmed, note = c
            out[oid].deadline_changes.append({
                "id": cid, "due_date": date_text(due_date), "agreed_at": instant_text(agreed_at),
                "reason": reason, "unconfirmed": unconfirmed, "note": note,
                "sources": cited.get(cid, []),
            })
    for oid, (replaced_by, replaces) in replacements(ids).items():
        out[oid].replaced_by, out[oid].replaces = replaced_by, replaces
    return out


def term_link(relation_id: int, at, obligation_id: int, agreement: str, slug: str,
              title: str) -> dict:
    """Another term a relation links this one to, and the relation (id, instant)."""
    return {"relation": relation_id, "at": instant_text(at), "id": obligation_id,
            "agreement": agreement, "slug": slug, "title": title}


_LINK_FIELDS = ("pk", "at", "target_id", "target__agreement__slug", "target__slug",
                "target__title", "replacement_id", "replacement__agreement__slug",
                "replacement__slug", "replacement__title")


def replacements(ids: Collection[int]) -> dict[int, tuple[list[dict], list[dict]]]:
    """Per obligation: (the later terms that replaced it, the earlier terms it replaced),
    each with the relation that says so, in one query, oldest relation first."""
    out: dict[int, tuple[list[dict], list[dict]]] = {i: ([], []) for i in ids}
    rows = AgreementRelation.objects.filter(
        Q(target_id__in=ids, replacement__isnull=False) | Q(replacement_id__in=ids)
    ).order_by("at", "pk").values_list(*_LINK_FIELDS)
    for pk, at, target, t_agreement, t_slug, t_title, new, n_agreement, n_slug, n_title in rows:
        if target in out:
            out[target][0].append(term_link(pk, at, new, n_agreement, n_slug, n_title))
        if new in out and target is not None:
            out[new][1].append(term_link(pk, at, target, t_agreement, t_slug, t_title))
    return out
