"""Set-based writes for the loader: many rows of one model in a few statements, leaving
the same audit records (django-simple-history) that saving each row would leave."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import connection, models
from django.utils import timezone

BATCH = 2000  # rows per INSERT/UPDATE statement: well under SQLite's variable limit


@dataclass
class Tally:
    """What a load did, per kind of row (the labels `load_agreement` prints)."""

    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)
    # Facts: superseded reports, rejected deadline changes (never edited or deleted).
    retired: Counter = field(default_factory=Counter)


@dataclass
class Upserted:
    rows: dict[Hashable, Any]  # key -> row, for every wanted key (pk set)
    new: set[Hashable]  # keys of the rows created
    changed: dict[Hashable, set[str]]  # key -> fields saved, for existing rows that changed


def rows_in(queryset: Any, field: str, values: list[Any]) -> list[Any]:
    """`queryset.filter(field__in=values)`, a batch at a time (SQLite limits parameters).

    A list of ids, not a join: right after a large first load the planner's statistics
    still describe empty tables, and a join then becomes a nested loop over every pair.
    """
    return [row for start in range(0, len(values), BATCH)
            for row in queryset.filter(**{f"{field}__in": values[start:start + BATCH]})]


def upsert(model: type[models.Model], label: str, existing: dict[Hashable, Any],
           wanted: Iterable[tuple[Hashable, dict[str, Any], dict[str, Any]]], tally: Tally,
           bump_version: bool = False, history: bool = True,
           published: datetime | None = None) -> Upserted:
    """Create or update rows so that each `(key, identity, values)` holds.

    A row is written only if one of its values differs, and then only the fields that
    differ (never columns others own, such as the sweep's); `bump_version` makes a staff
    form opened before the load refuse to overwrite the row. Without `history` the
    caller records it (after writing what the record should include, such as sources).
    `published`: when the new rows' creation records say they were published (see
    `record_history`).
    """
    out = Upserted({}, set(), {})
    new: list[Any] = []
    by_fields: dict[tuple[str, ...], list[Any]] = defaultdict(list)
    for key, identity, values in wanted:
        obj = existing.get(key)
        if obj is None:
            obj = model(**identity, **values)
            new.append(obj)
            out.new.add(key)
        else:
            changed = [name for name, value in values.items() if getattr(obj, name) != value]
            if changed:
                for name in changed:
                    setattr(obj, name, values[name])
                if bump_version:
                    obj.version += 1
                    changed.append("version")
                by_fields[tuple(changed)].append(obj)
                out.changed[key] = set(changed)
            else:
                tally.unchanged[label] += 1
        out.rows[key] = obj
    # Bulk writes bypass save(): the derived search column is refreshed here.
    derived = hasattr(model, "refresh_search_text")
    if derived:
        for obj in [*new, *(o for objs in by_fields.values() for o in objs)]:
            obj.refresh_search_text()
    create(model, new, history=history, published=published)
    tally.created[label] += len(new)
    for fields, objs in by_fields.items():
        extra = ("search_text",) if derived else ()
        update(model, objs, [*fields, *extra], history=history)
        tally.updated[label] += len(objs)
    return out


def create(model: type[models.Model], objs: list[Any], history: bool = True,
           published: datetime | None = None) -> None:
    """INSERT `objs` (their pks are set), with a "+" history record for each."""
    if not objs:
        return
    model.objects.bulk_create(objs, batch_size=BATCH)
    if history:
        record_history(model, objs, update=False, published=published)


def update(model: type[models.Model], objs: list[Any], fields: list[str],
           history: bool = True) -> None:
    """UPDATE `fields` of `objs` from their attributes, with a "~" history record each
    (unless `history` is False: rows just created, whose "+" record is still to come)."""
    if not objs:
        return
    model.objects.bulk_update(objs, fields, batch_size=BATCH)
    if history:
        record_history(model, objs, update=True)


def record_history(model: type[models.Model], objs: list[Any], update: bool,
                   published: datetime | None = None) -> None:
    """The history records `save()` would write, copied from the rows just written in
    one INSERT ... SELECT per batch; a fact's record includes which sources it cites.

    A creation record is dated `published` when given (never later than now): a row an
    agreement file creates counts as published when the file says its text became
    public, as the file's facts do, so a read at a `known_at` after that shows it
    (tracker/known_texts.py). Edits are dated now: the tracker published them then."""
    history = model.history.model
    columns = ", ".join(connection.ops.quote_name(f.column) for f in history.tracked_fields)
    relations = getattr(history, "_history_m2m_fields", [])
    pks = [o.pk for o in objs]
    for start in range(0, len(pks), BATCH):
        batch = pks[start:start + BATCH]
        marks = ", ".join(["%s"] * len(batch))
        sql = (
            f"INSERT INTO {connection.ops.quote_name(history._meta.db_table)} "  # noqa: S608
            f"({columns}, history_date, history_type, history_user_id, history_change_reason) "
            f"SELECT {columns}, %s, %s, NULL, NULL "
            f"FROM {connection.ops.quote_name(model._meta.db_table)} WHERE id IN ({marks})"
            + (" RETURNING history_id, id" if relations else "")
        )
        with connection.cursor() as cursor:
            when = timezone.now()
            if published is not None and not update:
                when = min(when, published)
            now = connection.ops.adapt_datetimefield_value(when)
            cursor.execute(sql, [now, "~" if update else "+", *batch])
            records = cursor.fetchall() if relations else []
        for relation in relations:
            _record_relation(model, relation, dict((pk, hid) for hid, pk in records))


def _record_relation(model: type[models.Model], relation: Any, history_of: dict[int, int],
                     ) -> None:
    """Which related rows each new history record's row holds (simple_history's m2m)."""
    through = getattr(model, relation.name).through
    owner = relation.m2m_field_name() + "_id"
    columns = [f.attname for f in through._meta.fields]
    snapshot = apps.get_model(model._meta.app_label, f"Historical{model.__name__}_{relation.name}")
    rows = through.objects.filter(**{f"{owner}__in": list(history_of)}).values(*columns)
    snapshot.objects.bulk_create(
        [snapshot(history_id=history_of[row[owner]], **row) for row in rows], batch_size=BATCH
    )


def sync_relation(descriptor: Any, wanted: dict[int, list[int]],
                  scope: dict[str, Any] | None = None) -> set[int]:
    """Make each owner's related rows (a many-to-many) those of `wanted[owner pk]`.

    Returns the pks of the owners whose list changed. Rows to add are inserted in the
    order given, as `set()` would. `scope` (a filter on the relation's rows, such as
    the owners' agreement) reads them with a join instead of a list of every owner.
    """
    through = descriptor.through
    owner = descriptor.field.m2m_field_name() + "_id"
    target = descriptor.field.m2m_reverse_field_name() + "_id"
    current: dict[int, dict[int, int]] = defaultdict(dict)  # owner -> {target: row id}
    for row_id, owner_id, target_id in through.objects.filter(
        **(scope or {f"{owner}__in": list(wanted)})
    ).values_list("id", owner, target):
        current[owner_id][target_id] = row_id
    drop: list[int] = []
    add: list[Any] = []
    changed: set[int] = set()
    for owner_id, targets in wanted.items():
        have = current.get(owner_id, {})
        if set(have) == set(targets):
            continue
        changed.add(owner_id)
        drop += [row_id for target_id, row_id in have.items() if target_id not in targets]
        add += [through(**{owner: owner_id, target: t}) for t in dict.fromkeys(targets)
                if t not in have]
    for start in range(0, len(drop), BATCH):
        through.objects.filter(id__in=drop[start:start + BATCH]).delete()
    through.objects.bulk_create(add, batch_size=BATCH)
    return changed


def count_relations(label: str, result: Upserted, changed_pks: set[int], tally: Tally) -> None:
    """A row whose only change is a relation list counts as updated, not unchanged."""
    for key, obj in result.rows.items():
        if obj.pk in changed_pks and key not in result.new and key not in result.changed:
            tally.unchanged[label] -= 1
            tally.updated[label] += 1
