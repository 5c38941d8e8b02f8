"""The count timeline: how many obligations were in each status at any past instant,
without classifying every obligation again (issue 17: the past as fast as the present).

Every stored status change is a `StatusEvent` (the sweep writes exactly the engine's
timeline, `deadlines.engine.timeline`), and each event moves one obligation from its
`from_status` to its `to_status` at its instant. Summed in order, the events give, per
agreement and status (and per party the terms bind), the count after each instant at
which it changes: `StatusTally`. A count at a past instant T is then, per agreement,
party and status, the last row at or before T: one index probe each. An obligation
before its first event counts as pending, as everywhere else.

* **When it is used.** Only when it tells exactly what classifying every row would
  (`tracker.statuses.count_at`): its `version` equals the data version now
  (`tracker.versions`), it is younger than `max_age()` (bounding changes no version
  records, as for the present's counts), no obligation awaited assessment when it was
  built or is now (their events are not written yet), T is before its `horizon` (the first
  instant at which a stored status would change: events after it are not written yet),
  and the read is of what is known now (a past `known_at` reads the facts known then).
  Otherwise `counts_at` answers None and the caller classifies every row.
* **Who builds it.** The worker, after it stores statuses (`settings.
  STATUSES_STORED_HOOKS`, beside the present's snapshot), when the version moved or
  the build is older than half of `max_age()`. One rebuild at a time (an advisory
  lock; a rebuild that finds one running leaves it the work); readers keep reading
  the previous build until the new one commits. A rebuild reads every current event:
  about 2 s at 100,000 obligations (docs/performance.md).
* **PostgreSQL only**, as `count_at` is; on SQLite the past is classified.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, Min, Q
from django.db.models.functions import Now

from tracker import versions
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, Obligation, StatusTally, StatusTallyBuild

ROW = 1  # the one row of StatusTallyBuild
ALL = 0  # StatusTally.party of an agreement's whole count
# pg_advisory_xact_lock key: one rebuild at a time ("ctl" in ASCII).
_LOCK = 0x63746C


def max_age() -> timedelta:
    """How long a build may be used at most (settings.COUNT_TIMELINE_MAX_AGE_SECONDS,
    default an hour): a change no version records shows after at most this long."""
    return timedelta(seconds=int(getattr(settings, "COUNT_TIMELINE_MAX_AGE_SECONDS", 3600)))


@dataclass
class Counts:
    """Counts at one instant: per agreement, and per (agreement, party) over the terms
    that bind the party and whose reports name no actors."""

    by_agreement: dict[int, Counter] = field(default_factory=dict)
    by_party: dict[tuple[int, int], Counter] = field(default_factory=dict)


# ---------------------------------------------------------------- building


@functools.cache
def _build_sql() -> str:
    """The timeline from the current events in one INSERT: each event's two moves
    (+1 into `to_status`, -1 out of `from_status`, never out of '' = not yet assessed)
    summed per key and instant, then a running sum per key."""
    q = connection.ops.quote_name
    event, obligation = q("tracker_statusevent"), q(Obligation._meta.db_table)
    links = q(Obligation.responsible.through._meta.db_table)
    tally = q(StatusTally._meta.db_table)
    moves = f"""
        FROM {event} e JOIN {obligation} o ON o.id = e.obligation_id
        CROSS JOIN LATERAL (VALUES (e.to_status, 1), (e.from_status, -1)) AS v(s, d)
    """
    # Only quoted table names are interpolated; the one value is bound.
    return f"""
        INSERT INTO {tally} (agreement_id, party, status, at, n)
        SELECT agreement_id, party, s, at,
               SUM(d) OVER (PARTITION BY agreement_id, party, s ORDER BY at)
        FROM (
            SELECT o.agreement_id, {ALL} AS party, e.effective_at AS at, v.s, SUM(v.d) AS d
            {moves}
            WHERE e.superseded_at IS NULL AND v.s <> ''
            GROUP BY o.agreement_id, e.effective_at, v.s
            UNION ALL
            SELECT o.agreement_id, r.party_id, e.effective_at, v.s, SUM(v.d)
            {moves}
            JOIN {links} r ON r.obligation_id = o.id
            WHERE e.superseded_at IS NULL AND v.s <> '' AND NOT (o.id = ANY(%s))
            GROUP BY o.agreement_id, r.party_id, e.effective_at, v.s
        ) AS moved
    """  # noqa: S608


def _attributed_ids() -> list[int]:
    from tracker.statuses import attributed

    return list(Obligation.objects.filter(attributed()).values_list("pk", flat=True))


def _totals(attributed: list[int]) -> list[list[int]]:
    """[agreement id, party (ALL or an id), obligations] for every key."""
    found = [
        [agreement_id, ALL, n]
        for agreement_id, n in Obligation.objects.order_by().values("agreement_id")
        .annotate(n=Count("pk")).values_list("agreement_id", "n")
    ]
    through = Obligation.responsible.through.objects.exclude(obligation_id__in=attributed)
    found += [
        [agreement_id, party_id, n]
        for agreement_id, party_id, n in through.order_by()
        .values("obligation__agreement_id", "party_id").annotate(n=Count("pk"))
        .values_list("obligation__agreement_id", "party_id", "n")  # type: ignore[misc]
    ]
    return found


def rebuild() -> bool:
    """Rebuild the timeline from the current events and store it with the version read
    before them. False, leaving the previous build, when some obligation awaits
    assessment (its events are not written yet), another rebuild is running, or on a
    database other than PostgreSQL."""
    if connection.vendor != "postgresql":
        return False
    with transaction.atomic():
        with connection.cursor() as cursor:
            # Another rebuild running: leave it the work rather than queue a second
            # full rebuild behind it (a burst of publications would pile them up); if
            # it read an older version, the next sweep's hook renews it.
            cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [_LOCK])
            if not cursor.fetchone()[0]:
                return False
            # The version and clock before the data: a build is never labelled with a
            # version newer than what it read (at worst older, and then it is not used).
            cursor.execute(versions.sql())
            version = versions.of(cursor.fetchone())
            cursor.execute("SELECT now()")
            built_at = cursor.fetchone()[0]
        if Obligation.objects.filter(Q(needs_assessment=True) | Q(status="")).exists():
            return False
        horizon = Obligation.objects.aggregate(h=Min("next_change_at"))["h"]
        attributed = _attributed_ids()
        StatusTally.objects.all().delete()
        with connection.cursor() as cursor:
            cursor.execute(_build_sql(), [attributed])
        keys = [
            list(k) for k in StatusTally.objects.order_by()
            .values_list("agreement_id", "party", "status").distinct()
        ]
        data = {"totals": _totals(attributed), "keys": keys}
        StatusTallyBuild.objects.update_or_create(
            pk=ROW, defaults={"built_at": built_at, "version": version, "horizon": horizon,
                              "data": data},
        )
    return True


def refresh() -> bool:
    """Rebuild when the stored build is of another version or half its age limit has
    passed (so that the worker, which runs this after every sweep, renews it before
    readers stop using it). For `settings.STATUSES_STORED_HOOKS`."""
    if connection.vendor != "postgresql":
        return False
    if _head().holds(max_age() / 2):
        return False
    return rebuild()


# ---------------------------------------------------------------- reading


@dataclass(frozen=True)
class _Head:
    """The stored build (if any) read with the data version now, the database clock
    and whether an obligation awaits assessment."""

    build: StatusTallyBuild | None
    version: str
    now: datetime
    stale: bool

    def holds(self, age: timedelta) -> bool:
        """The build is of the data as it is, and younger than `age`."""
        b = self.build
        return b is not None and b.version == self.version and self.now - b.built_at <= age


def _head() -> _Head:
    """One query: the build row with the version, clock and staleness beside it."""
    stale = Obligation.objects.filter(Q(needs_assessment=True) | Q(status=""))
    row = (
        StatusTallyBuild.objects.filter(pk=ROW)
        .annotate(clock=Now(), any_stale=Exists(stale), **versions.subqueries()).first()
    )
    if row is None:
        return _Head(None, "", datetime.max.replace(tzinfo=UTC), True)
    # Annotations, read by name: the model does not declare them.
    return _Head(
        build=row,
        version=versions.of(getattr(row, name) for name in versions.subqueries()),
        now=getattr(row, "clock"),  # noqa: B009
        stale=getattr(row, "any_stale"),  # noqa: B009
    )


def counts_at(asof: AsOf, agreements: Sequence[Agreement]) -> Counts | None:
    """Every agreement's counts, and its parties', at the explicit instant `asof` (a
    date: the end of that day in each agreement's zone), in two queries; None when the
    timeline cannot tell (see the module's docstring), and the caller must classify."""
    if (connection.vendor != "postgresql" or not asof.explicit or asof.known is not None
            or not agreements):
        return None
    head = _head()
    build = head.build
    if build is None or head.stale or not head.holds(max_age()):
        return None
    instant = {a.pk: asof.at(a.zone) for a in agreements}
    if build.horizon is not None and max(instant.values()) >= build.horizon:
        return None
    keys = [k for k in build.data.get("keys", []) if k[0] in instant]
    counts = Counts()
    for agreement_id, party, total in build.data.get("totals", []):
        if agreement_id in instant:
            counter = Counter({V.PENDING: total})
            if party == ALL:
                counts.by_agreement[agreement_id] = counter
            else:
                counts.by_party[(agreement_id, party)] = counter
    for a in agreements:
        counts.by_agreement.setdefault(a.pk, Counter())
    if keys:
        _apply(counts, keys, instant)
    for counter in [*counts.by_agreement.values(), *counts.by_party.values()]:
        for status in [s for s, n in counter.items() if n <= 0]:
            del counter[status]
    return counts


def _apply(counts: Counts, keys: list[list], instant: dict[int, datetime]) -> None:
    """Move each key's count at its agreement's instant out of pending (where every
    obligation starts) into its status: one index probe per key, in one statement."""
    table = connection.ops.quote_name(StatusTally._meta.db_table)
    # Only the quoted table name is interpolated; the keys and instants are bound.
    sql = f"""
        SELECT k.a, k.p, k.s, (
            SELECT t.n FROM {table} t
            WHERE t.agreement_id = k.a AND t.party = k.p AND t.status = k.s AND t.at <= k.at
            ORDER BY t.at DESC LIMIT 1)
        FROM unnest(%s::bigint[], %s::bigint[], %s::text[], %s::timestamptz[]) AS k(a, p, s, at)
    """  # noqa: S608
    params = [[k[0] for k in keys], [k[1] for k in keys], [k[2] for k in keys],
              [instant[k[0]] for k in keys]]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    for agreement_id, party, status, n in rows:
        if not n:
            continue
        counter = (counts.by_agreement.get(agreement_id) if party == ALL
                   else counts.by_party.get((agreement_id, party)))
        if counter is None:
            continue  # a key whose obligations are gone would have moved the version
        counter[V.PENDING] -= n
        counter[status] += n
