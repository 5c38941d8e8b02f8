"""The overview's aggregates for "now", kept in one row every process shares.

Counting 100,000 obligations by status and by responsible party costs more than the
overview's whole budget (docs/performance.md), and only the sweep changes a stored
status. So the counts, and the ids of the next deadlines and of the longest-overdue
obligations, are stored in `OverviewSnapshot` and read from there while they hold.

* **Who refreshes.** The worker, right after it stores statuses: the sweep and
  reassess tasks (`deadlines.tasks`) and `manage.py sweep` call `refresh()`, so the
  first request after a status change finds the counts already made. A request that
  finds them out of date counts by itself (correct, slower) and stores the result.
* **When a snapshot holds.** Its `version` equals the data version now
  (`tracker.versions`) and it is younger than `max_age()`. A change no new row
  records (a replay moving a status backwards, a bulk `.update()`) shows at the next
  refresh: the periodic sweep makes one every sweep period, and the
  age limit bounds it when no worker runs.
* **Concurrency.** The version is read before the data, so a snapshot is never labelled
  with a version newer than what it counted (at worst older, and then it is not used).
  A store replaces only a snapshot that started counting earlier (`taken_at`, read
  from the database clock with the version), so a slow count never overwrites a newer
  one, and the refresh a writer runs after its commit, which starts after that commit,
  wins over any count that could have missed it. The counts themselves come from one
  SQL statement, so they are consistent with each other.
"""

from __future__ import annotations

import functools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models.functions import Now

from tracker import statuses, versions
from tracker import vocabulary as V
from tracker.models import Obligation, OverviewSnapshot

NEXT_DEADLINES = 10
OVERDUE_SHOWN = 20
ROW = 1  # the one row of OverviewSnapshot
_NEVER = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Counts:
    """What the overview shows of the stored statuses, without the rows themselves."""

    by_agreement: dict[int, Counter] = field(default_factory=dict)
    # Per (agreement, party): the terms that bind the party and whose reports name no
    # actors, by status (`tracker.statuses.party_tally` adds the others' standings).
    # None: a snapshot stored before these were kept.
    by_party: dict[tuple[int, int], Counter] | None = field(default_factory=dict)
    upcoming: list[int] = field(default_factory=list)  # obligation ids, soonest first
    overdue: list[int] = field(default_factory=list)  # obligation ids, longest overdue first

    def to_json(self) -> dict[str, Any]:
        return {
            "agreements": {str(k): dict(v) for k, v in self.by_agreement.items()},
            "party_terms": [[a, p, dict(v)] for (a, p), v in (self.by_party or {}).items()],
            "upcoming": self.upcoming,
            "overdue": self.overdue,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Counts:
        party_terms = data.get("party_terms")
        return cls(
            by_agreement={int(k): Counter(v) for k, v in data.get("agreements", {}).items()},
            by_party=None if party_terms is None else {
                (int(a), int(p)): Counter(v) for a, p, v in party_terms
            },
            upcoming=[int(pk) for pk in data.get("upcoming", [])],
            overdue=[int(pk) for pk in data.get("overdue", [])],
        )


def max_age() -> timedelta:
    """How long a snapshot may be used at most: two sweep periods, so that the periodic
    refresh (one a period) always comes first while the worker runs."""
    return timedelta(seconds=2 * int(getattr(settings, "SWEEP_PERIOD_SECONDS", 60)))


# ---------------------------------------------------------------- version


@dataclass(frozen=True)
class Head:
    """The stored snapshot (if any) with the version and database clock at reading."""

    version: str
    now: datetime
    stored: OverviewSnapshot | None


def head() -> Head:
    """One query: the stored snapshot, the version now and the database's clock."""
    rows = list(
        OverviewSnapshot.objects.filter(pk=ROW).annotate(now=Now(), **versions.subqueries())
    )
    if not rows:
        # First use (or a test database flushed): make the row, so that every later
        # head is one query and every store one UPDATE.
        OverviewSnapshot.objects.bulk_create(
            [OverviewSnapshot(pk=ROW, taken_at=_NEVER, version="", data={})],
            ignore_conflicts=True,
        )
        rows = list(
            OverviewSnapshot.objects.filter(pk=ROW).annotate(now=Now(), **versions.subqueries())
        )
    row = rows[0]
    stored = row if row.version else None
    version = versions.of(getattr(row, name) for name in versions.subqueries())
    return Head(version=version, now=row.now, stored=stored)


def holds(state: Head) -> bool:
    """Whether the stored snapshot may be shown as the present."""
    s = state.stored
    return s is not None and s.version == state.version and state.now - s.taken_at <= max_age()


# ---------------------------------------------------------------- counting


@functools.cache
def _count_sql() -> str:
    """Counts by agreement and status, by agreement, responsible party and status (over
    the terms whose reports name no actors: `{attributed}` is replaced by that subquery),
    and the ids of the next deadlines and the longest overdue, in one statement (one
    consistent view on PostgreSQL and SQLite). Party counts start from the link table
    and group by ids only: a hash join of two narrow inputs, the party names are read
    by the page."""
    q = connection.ops.quote_name
    o = Obligation._meta
    col = {name: q(o.get_field(name).column) for name in (
        "id", "agreement", "status", "kind", "due_at")}
    through = Obligation.responsible.through._meta
    party = q(through.get_field("party").column)
    owner = q(through.get_field("obligation").column)
    table, links = q(o.db_table), q(through.db_table)
    # Only quoted names from model metadata are interpolated; every value is bound.
    return f"""
        SELECT 'a', {col['agreement']}, NULL, {col['status']}, COUNT(*) FROM {table}
        GROUP BY {col['agreement']}, {col['status']}
        UNION ALL
        SELECT 'p', o.{col['agreement']}, r.{party}, o.{col['status']}, COUNT(*)
        FROM {links} r JOIN {table} o ON o.{col['id']} = r.{owner}
        WHERE NOT o.{col['id']} IN ({{attributed}})
        GROUP BY o.{col['agreement']}, r.{party}, o.{col['status']}
        UNION ALL
        SELECT 'u', u.{col['id']}, NULL, u.{col['status']},
               ROW_NUMBER() OVER (ORDER BY u.{col['due_at']}, u.{col['id']})
        FROM (SELECT {col['id']}, {col['status']}, {col['due_at']} FROM {table}
              WHERE {col['kind']} = %s AND {col['status']} IN (%s, %s)
              ORDER BY {col['due_at']}, {col['id']} LIMIT %s) u
        UNION ALL
        SELECT 'o', d.{col['id']}, NULL, d.{col['status']},
               ROW_NUMBER() OVER (ORDER BY d.{col['due_at']}, d.{col['id']})
        FROM (SELECT {col['id']}, {col['status']}, {col['due_at']} FROM {table}
              WHERE {col['status']} = %s
              ORDER BY {col['due_at']}, {col['id']} LIMIT %s) d
    """  # noqa: S608


def count() -> Counts:
    """The overview's aggregates from the stored statuses now (one query)."""
    # The terms whose reports name actors: their parties' standings are the engine's.
    attributed, attributed_params = (
        Obligation.objects.filter(statuses.attributed()).order_by().values("pk")
        .query.sql_with_params()
    )
    params = [*attributed_params, V.DEADLINE, V.PENDING, V.DUE_SOON, NEXT_DEADLINES,
              V.OVERDUE, OVERDUE_SHOWN]
    with connection.cursor() as cursor:
        cursor.execute(_count_sql().replace("{attributed}", attributed), params)
        rows = cursor.fetchall()
    counts = Counts()
    by_party: dict[tuple[int, int], Counter] = {}
    upcoming, overdue = [], []
    for part, key, party, status, n in rows:
        if part == "a":
            counts.by_agreement.setdefault(key, Counter())[status] += n
        elif part == "p":
            by_party.setdefault((key, party), Counter())[status] += n
        elif part == "u":
            upcoming.append((n, key))
        else:
            overdue.append((n, key))
    counts.by_party = by_party
    counts.upcoming = [pk for _, pk in sorted(upcoming)]
    counts.overdue = [pk for _, pk in sorted(overdue)]
    return counts


def store(state: Head, counts: Counts) -> bool:
    """Keep `counts`, counted after `state` was read, unless a snapshot that started
    later is already stored (one UPDATE). True when stored."""
    return bool(
        OverviewSnapshot.objects.filter(pk=ROW, taken_at__lt=state.now).update(
            taken_at=state.now, version=state.version, data=counts.to_json()
        )
    )


# ---------------------------------------------------------------- entry points


def current() -> Counts:
    """The overview's aggregates now: the stored ones when they hold, else counted
    (and stored for the next request). 1 query, or 3 when counting (2 more the
    first time ever, to make the row)."""
    state = head()
    if holds(state):
        return Counts.from_json(state.stored.data)
    counts = count()
    store(state, counts)
    return counts


def refresh() -> Counts:
    """Count and store now. For the code that has just written statuses, after its
    commit: the next request then finds the snapshot made."""
    state = head()
    counts = count()
    store(state, counts)
    return counts
