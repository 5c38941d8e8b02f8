"""Rows as the tracker had published them by `known_at`: their own words and dates.

Facts (reports, deadline changes, relations) carry their own publication times
(`deadlines.facts`). The rows they are about (agreements, their terms, clauses and the
clauses' texts) are edited in place, and django-simple-history keeps every version. A
read at a past `known_at` shows each row as its latest record by then says (`overlay`,
`as_known`) and leaves out the rows first recorded after it (`published`): what the
tracker had not yet published, it did not say. A row an agreement file creates is
recorded as published at the agreement's signing (`tracker.loader.bulk.record_history`),
as the file's facts count from their sources' dates, not from the day of loading.

Only the fields a reader sees as the row's words and dates, and the engine reads as its
input, are taken from the records (`SHOWN`); ids, slugs, positions, links to other rows
and the sweep's stored columns are today's. A row with no creation record (none is
written for rows made outside the models' save and the loader) counts as always
published. Each function reads the records of many rows in one query.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Exists, Model, OuterRef, Q, QuerySet

from tracker.knowledge import EDITED_FIELDS
from tracker.models import Agreement, Clause, ClauseText, ClauseVariant, Obligation

# Per model: the fields a past `known_at` takes from the row's record at that instant.
SHOWN: dict[type[Model], tuple[str, ...]] = {
    Agreement: ("title", "description", "titles", "descriptions", "signed_at",
                "effective_at", "timezone", "warning_days"),
    Obligation: EDITED_FIELDS,
    Clause: ("text",),
    ClauseText: ("text", "translation", "note"),
    ClauseVariant: ("text",),
}

# The attribute marking a row already overlaid, with the `known_at` it was overlaid for.
_MARK = "_known_texts_at"
_UNPUBLISHED = "_known_texts_unpublished"


def _history(model: type[Model]) -> Any:
    return model.history.model  # type: ignore[attr-defined]


def published(model: type[Model], known_at: datetime | None, ref: str = "pk") -> Q:
    """Rows whose `ref` (their own pk, or a key to a `model` row, such as an
    obligation's `agreement_id`) names a `model` row the tracker had published by
    `known_at`: not created after it. None: every row."""
    if known_at is None:
        return Q()
    created_later = _history(model).objects.filter(
        id=OuterRef(ref), history_type="+", history_date__gt=known_at
    )
    return ~Q(Exists(created_later))


def edited_after(model: type[Model], known_at: datetime, ref: str = "pk",
                 until: Any = None) -> Q:
    """Rows whose `ref` names a `model` row recorded (edited or created) after
    `known_at` (and by `until`, an expression of the outer query, when given): what
    they show, and what the engine reads of them, differs from then."""
    records = _history(model).objects.filter(id=OuterRef(ref), history_date__gt=known_at)
    if until is not None:
        records = records.filter(history_date__lte=until)
    return Q(Exists(records))


def terms_published(known_at: datetime | None, prefix: str = "") -> Q:
    """Obligations (through `prefix`, e.g. "obligation__" from a row linked to one) the
    tracker had published by `known_at`, with their agreement."""
    return (published(Obligation, known_at, f"{prefix}pk")
            & published(Agreement, known_at, f"{prefix}agreement_id"))


def terms_edited_after(known_at: datetime, prefix: str = "", until: Any = None) -> Q:
    """Obligations (through `prefix`) whose own fields, or their agreement's, were
    recorded after `known_at` (by `until`): their stored summary describes today's
    dates, not those of then."""
    return (edited_after(Obligation, known_at, f"{prefix}pk", until)
            | edited_after(Agreement, known_at, f"{prefix}agreement_id", until))


def stood(
    model: type[Model], ids: Iterable[int] | QuerySet, known_at: datetime
) -> tuple[dict[int, dict[str, Any]], set[int]]:
    """For the `model` rows `ids` (a list or a subquery of pks): ({pk: the `SHOWN` fields
    as they stood at `known_at`} for each row recorded since, the pks of those created
    since). One query, over the records of the rows recorded since only: the others
    stand as they are."""
    fields = SHOWN[model]
    history = _history(model)
    later = history.objects.filter(id=OuterRef("id"), history_date__gt=known_at)
    records = (
        history.objects.filter(Exists(later), id__in=ids)
        .order_by("id", "history_date", "history_id")
        .values_list("id", "history_type", "history_date", *fields)
    )
    values: dict[int, dict[str, Any]] = {}
    created_later: set[int] = set()
    for pk, kind, at, *row in records:
        if at <= known_at:
            values[pk] = dict(zip(fields, row, strict=True))
        elif kind == "+":
            created_later.add(pk)
    return values, created_later


def overlay[M: Model](objs: Iterable[M], known_at: datetime | None) -> set[int]:
    """Set the `SHOWN` fields of `objs` (rows of one model, fetched) to what they were at
    `known_at`, in place; returns the pks of those created after it. Rows already
    overlaid for the same `known_at` are not read again. None: nothing to do."""
    rows = list(objs)
    if known_at is None or not rows:
        return set()
    fresh = [o for o in rows if getattr(o, _MARK, None) != known_at]
    if fresh:
        model = fresh[0]._meta.concrete_model
        assert model is not None  # a fetched row's model is concrete
        values, created_later = stood(model, {o.pk for o in fresh}, known_at)
        for o in fresh:
            for name, value in values.get(o.pk, {}).items():
                setattr(o, name, value)
            setattr(o, _MARK, known_at)
            setattr(o, _UNPUBLISHED, o.pk in created_later)
    return {o.pk for o in rows if getattr(o, _UNPUBLISHED, False)}


def as_known[M: Model](objs: Iterable[M], known_at: datetime | None) -> list[M]:
    """`objs` as published by `known_at` (`overlay`), without those created after it."""
    rows = list(objs)
    gone = overlay(rows, known_at)
    return [o for o in rows if o.pk not in gone]


def terms_as_known(obligations: Iterable[Obligation], known_at: datetime | None) -> set[int]:
    """`overlay` for obligations and the agreements (and clauses) fetched with them:
    what their pages show and what `deadlines.facts.facts_of` hands the engine. Returns
    the pks of the obligations not yet published, or whose agreement was not."""
    rows = list(obligations)
    if known_at is None or not rows:
        return set()
    gone = overlay(rows, known_at)
    agreements = [o.agreement for o in rows if _cached(o, "agreement")]
    gone_agreements = overlay(agreements, known_at)
    overlay([o.clause for o in rows if _cached(o, "clause") and o.clause is not None], known_at)
    return gone | {o.pk for o in rows if o.agreement_id in gone_agreements}


def clauses_as_known(clauses: Iterable[Clause], known_at: datetime | None) -> None:
    """`overlay` for clauses and their texts and variants read through a prefetch
    (`texts`, `variants`): each as it stood, and the texts and variants added after
    `known_at` taken out of the prefetched lists (what `tracker.texts.clause_text`
    reads)."""
    rows = [c for c in clauses if c is not None]
    if known_at is None or not rows:
        return
    overlay(rows, known_at)
    for name in ("texts", "variants"):
        # Django keeps a prefetched list as a queryset whose results are already read.
        prefetched = [getattr(c, "_prefetched_objects_cache", {}).get(name) for c in rows]
        lists = [qs for qs in prefetched if qs is not None]
        gone = overlay([r for qs in lists for r in qs], known_at)
        if gone:
            for qs in lists:
                qs._result_cache = [r for r in qs if r.pk not in gone]


def _cached(obj: Model, name: str) -> bool:
    return obj._meta.get_field(name).is_cached(obj)  # type: ignore[union-attr]
