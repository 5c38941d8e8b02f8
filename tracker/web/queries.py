"""What the dashboard's overview, map and places pages show, read in bounded queries.

The overview and the map must stay cheap with 100,000 obligations, so the work is
done in SQL: counts by status with GROUP BY, lists with ORDER BY ... LIMIT. Statuses
at an instant come from `tracker.statuses` (`split`: SQL where the stored summary
holds, the engine for the rest).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, F, Q, QuerySet, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext_lazy, pgettext_lazy

from deadlines import engine
from deadlines.facts import facts_of
from tracker import count_timeline, known_texts, statuses
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, Obligation, Party, StatusEvent
from tracker.naming import name_at
from tracker.web import snapshot
from tracker.web.snapshot import NEXT_DEADLINES, OVERDUE_SHOWN

# Display order: what needs attention first.
STATUS_ORDER = [
    V.OVERDUE, V.VIOLATED, V.DISPUTED, V.DUE_SOON, V.PENDING, V.IN_PROGRESS, V.IN_FORCE,
    V.COMPLETED_LATE, V.COMPLETED, V.TERMINATED, V.SUPERSEDED, V.OVERTAKEN,
]
# How a party's record reads: met, met late, breached, still open, ended.
COMPLIANCE_GROUPS = [
    ("met", gettext_lazy("Met"), {V.COMPLETED, V.IN_FORCE}),
    ("late", gettext_lazy("Met late"), {V.COMPLETED_LATE}),
    ("breached", gettext_lazy("Breached"), {V.OVERDUE, V.VIOLATED}),
    ("disputed", gettext_lazy("Disputed"), {V.DISPUTED}),
    ("open", pgettext_lazy("compliance group", "Open"), {V.PENDING, V.DUE_SOON, V.IN_PROGRESS}),
    ("ended", gettext_lazy("Ended"), {V.TERMINATED, V.SUPERSEDED, V.OVERTAKEN}),
]
LATEST_EVENTS = 15


# ---------------------------------------------------------------- overview


@dataclass
class DeadlineRow:
    obligation: Obligation
    status: str
    due_at: datetime
    due_date: date | None
    # What falls due: the obligation's deadline, or a renewable term's notice deadline
    # or end (`statuses.NOTICE`, `statuses.TERM_END`).
    what: str = "due"

    @property
    def agreement(self) -> Agreement:
        return self.obligation.agreement


@dataclass
class PartyRow:
    party_id: int
    slug: str
    name: str
    counts: Counter = field(default_factory=Counter)
    # Of `counts`, the standings on terms that do not bind the party: its own acts.
    as_actor: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def breaches_as_actor(self) -> int:
        return sum(n for s, n in self.as_actor.items() if s in V.BREACHES)

    @property
    def groups(self) -> list[tuple[str, str, int]]:
        return [
            (key, label, sum(self.counts[s] for s in statuses))
            for key, label, statuses in COMPLIANCE_GROUPS
        ]


@dataclass
class AgreementCounts:
    agreement: Agreement
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    @property
    def ordered(self) -> list[tuple[str, int]]:
        return [(s, self.counts[s]) for s in STATUS_ORDER if self.counts[s]]


@dataclass
class Overview:
    agreements: list[AgreementCounts]
    next_deadlines: list[DeadlineRow]
    overdue: list[DeadlineRow]
    overdue_total: int
    parties: list[PartyRow]
    events: list[EventRow]
    prev_event: datetime | None
    next_event: datetime | None


def overview_zone(agreements: list[Agreement]) -> ZoneInfo:
    """The zone the page shows times in: the agreements' own when they share one, else
    UTC. Statuses for a bare `as_of` date are still read at the end of that day in each
    agreement's own zone (`each_zone`)."""
    zones = {a.timezone for a in agreements}
    return ZoneInfo(zones.pop()) if len(zones) == 1 else ZoneInfo("UTC")


def each_zone(asof: AsOf, agreements: Iterable[Agreement], at: datetime) -> statuses.Zones | None:
    """For a date asked for across agreements whose zones end that day at other instants
    than the page's `at`: each zone's instant and agreements. None when `at` serves all."""
    zones = statuses.zone_instants(asof, agreements)
    if not asof.date_only or all(t == at for t, _ in zones.values()):
        return None
    return zones


def neighbour_events(qs: QuerySet[StatusEvent], at: datetime) -> tuple[datetime | None, ...]:
    """The last event instant before `at` and the first after it (index scans, LIMIT 1)."""
    before = qs.filter(effective_at__lt=at).order_by("-effective_at").values_list(
        "effective_at", flat=True
    )[:1]
    after = qs.filter(effective_at__gt=at).order_by("effective_at").values_list(
        "effective_at", flat=True
    )[:1]
    if connection.features.supports_slicing_ordering_in_compound:
        found = list(before.union(after, all=True).order_by())  # one round trip
    else:
        found = [*before, *after]
    prev = max((t for t in found if t < at), default=None)
    nxt = min((t for t in found if t > at), default=None)
    return prev, nxt


@dataclass(frozen=True)
class EventRow:
    from_status: str
    to_status: str
    effective_at: datetime
    obligation_slug: str
    obligation_title: str
    agreement_slug: str
    timezone: str
    text_dispute: str = ""
    obligation_id: int | None = None


EVENT_COLUMNS = (
    "id", "from_status", "to_status", "effective_at", "obligation__slug", "obligation__title",
    "obligation__agreement__slug", "obligation__agreement__timezone",
    "obligation__text_dispute", "obligation_id",
)


def latest_events(
    qs: QuerySet[StatusEvent], at: datetime, zones: statuses.Zones | None = None
) -> tuple[list[EventRow], datetime | None, datetime | None]:
    """The latest status changes up to `at`, and the event instants either side of
    `at` for the time control, in one round trip (two index scans with LIMIT).

    With `zones`, "up to" is up to the instant of the event's agreement's zone."""
    if zones:
        cut = {tz: zone_at for tz, (zone_at, _) in zones.items()}
        known = Q(pk__in=[])
        for zone_at, ids in zones.values():
            known |= Q(obligation__agreement_id__in=ids, effective_at__lte=zone_at)
        # The bounds keep both index scans short: zones differ by hours, not years.
        upto_q = Q(effective_at__lte=max(cut.values())) & known
        after_q = Q(effective_at__gt=min(cut.values())) & ~known
    else:
        cut = {}
        upto_q, after_q = Q(effective_at__lte=at), Q(effective_at__gt=at)
    upto = qs.filter(upto_q).order_by("-effective_at", "-id").values_list(
        *EVENT_COLUMNS
    )[: LATEST_EVENTS + 1]
    after = qs.filter(after_q).order_by("effective_at", "id").values_list(
        *EVENT_COLUMNS
    )[:1]
    if connection.features.supports_slicing_ordering_in_compound:
        rows = list(upto.union(after, all=True).order_by())
    else:
        rows = [*upto, *after]
    # r[3] is the event's instant, r[7] its agreement's zone.
    before = sorted((r for r in rows if r[3] <= cut.get(r[7], at)), key=lambda r: (r[3], r[0]),
                    reverse=True)
    nxt = min((r[3] for r in rows if r[3] > cut.get(r[7], at)), default=None)
    prev = next((r[3] for r in before if r[3] < cut.get(r[7], at)), None)
    if prev is None and len(before) > LATEST_EVENTS:
        # Every change fetched happened exactly at `at`: look further back.
        prev = neighbour_events(qs, at)[0]
    events = [EventRow(*r[1:]) for r in before[:LATEST_EVENTS]]
    return events, prev, nxt


def overview(agreements: list[Agreement], asof: AsOf, at: datetime) -> Overview:
    """Everything the overview shows, at the page's instant `at`. Now: the stored
    aggregates (`tracker.web.snapshot`) count the agreements' statuses; the parties'
    standings are counted apart (`party_standings`: set-based, plus the engine over the
    few terms whose reports name actors). As of another instant on PostgreSQL, every
    row classified once in one statement (`statuses.count_at`); elsewhere, or with a
    past `known_at`, SQL where the stored summaries hold and the engine for the rest.
    Never a number of queries that grows with the rows (tests/web/test_query_count.py
    holds the figures)."""
    if asof.explicit:
        return _overview(agreements, asof, at)
    return _overview_now(agreements, asof, at)


def _with_terms(
    rows: list[DeadlineRow], asof: AsOf, limit: int, agreements: list[Agreement]
) -> list[DeadlineRow]:
    """`rows` and the renewable terms' notice deadlines and ends ahead at `asof`,
    soonest first: a reader planning around deadlines needs both."""
    qs = Obligation.objects.filter(agreement__in=[a.pk for a in agreements])
    terms = [
        DeadlineRow(t.obligation, t.status, t.at, t.local_date, t.what)
        for t in statuses.term_dates(qs, asof)
    ]
    return sorted([*rows, *terms], key=lambda d: (d.due_at, d.obligation.pk))[:limit]


def _overview_now(agreements: list[Agreement], asof: AsOf, at: datetime) -> Overview:
    """The overview from stored statuses: the counts and which rows to list from the
    snapshot, the rows themselves, the party names and the events read as they are."""
    counts = snapshot.current()
    by_agreement = {
        a.pk: AgreementCounts(a, _pending_for_blank(counts.by_agreement.get(a.pk, Counter())))
        for a in agreements
    }
    listed = {
        o.pk: o
        for o in Obligation.objects.filter(pk__in=[*counts.upcoming, *counts.overdue])
        .select_related("agreement")
    }

    def rows(ids: list[int]) -> list[DeadlineRow]:
        found = (listed[pk] for pk in ids if pk in listed)
        return [DeadlineRow(o, o.status, o.due_at, o.due_date) for o in found]

    ids = {a.pk for a in agreements}
    plain = None if counts.by_party is None else {
        key: c for key, c in counts.by_party.items() if key[0] in ids
    }
    parties = party_standings(agreements, asof, at, plain)
    latest, prev_event, next_event = latest_events(StatusEvent.current.all(), at)
    return Overview(
        agreements=list(by_agreement.values()),
        next_deadlines=_with_terms(rows(counts.upcoming), asof, NEXT_DEADLINES, agreements),
        overdue=rows(counts.overdue),
        overdue_total=sum(a.counts[V.OVERDUE] for a in by_agreement.values()),
        parties=parties,
        events=latest,
        prev_event=prev_event,
        next_event=next_event,
    )


def _pending_for_blank(counts: Counter) -> Counter:
    """A row not assessed yet (status '') is shown as pending, as everywhere else."""
    result = Counter({s: n for s, n in counts.items() if s})
    if counts.get(""):
        result[V.PENDING] += counts[""]
    return result


def _overview(agreements: list[Agreement], asof: AsOf, at: datetime) -> Overview:
    """The overview at another instant: SQL where the stored summaries hold, the
    engine for the other rows, merged."""
    if connection.vendor == "postgresql" and asof.known is None and agreements:
        return _overview_counted(agreements, asof, at)
    sql_rows, engine_qs = statuses.split(
        Obligation.objects.filter(agreement__in=[a.pk for a in agreements]), asof,
        statuses.zone_instants(asof, agreements),
    )
    python = statuses.engine_rows(engine_qs, asof, {a.pk: a for a in agreements})
    by_agreement = _agreement_counts(agreements, sql_rows, python)
    latest, prev_event, next_event = latest_events(
        statuses.events_known(asof), at, each_zone(asof, agreements, at)
    )
    upcoming = _with_terms(
        _deadline_rows(sql_rows, python, [V.PENDING, V.DUE_SOON], NEXT_DEADLINES),
        asof, NEXT_DEADLINES, agreements,
    )
    overdue = _deadline_rows(sql_rows, python, [V.OVERDUE], OVERDUE_SHOWN)
    # The terms listed, titled as the tracker had published them by `known_at`.
    known_texts.terms_as_known([d.obligation for d in (*upcoming, *overdue)], asof.known)
    return Overview(
        agreements=list(by_agreement.values()),
        next_deadlines=upcoming,
        overdue=overdue,
        overdue_total=sum(a.counts[V.OVERDUE] for a in by_agreement.values()),
        parties=party_standings(agreements, asof, at),
        events=_events_as_known(latest, asof.known),
        prev_event=prev_event,
        next_event=next_event,
    )


def _events_as_known(events: list[EventRow], known_at: datetime | None) -> list[EventRow]:
    """`events` with each term's title and contested text as published by `known_at`."""
    if known_at is None or not events:
        return events
    values, _ = known_texts.stood(Obligation, {e.obligation_id for e in events}, known_at)
    return [
        replace(e, obligation_title=values[e.obligation_id]["title"],
                text_dispute=values[e.obligation_id]["text_dispute"])
        if e.obligation_id in values else e
        for e in events
    ]


def _overview_counted(agreements: list[Agreement], asof: AsOf, at: datetime) -> Overview:
    """`_overview` on PostgreSQL: the counts from the count timeline when it can tell
    them (`tracker.count_timeline`), else every row classified once
    (`statuses.count_at`)."""
    timeline = count_timeline.counts_at(asof, agreements)
    if timeline is not None:
        return _overview_from_timeline(agreements, asof, at, timeline)
    counted, engine_qs = statuses.count_at(
        Obligation.objects.filter(agreement__in=[a.pk for a in agreements]), asof, agreements,
        {"upcoming": ([V.PENDING, V.DUE_SOON], NEXT_DEADLINES),
         "overdue": ([V.OVERDUE], OVERDUE_SHOWN)},
    )
    python = statuses.engine_rows(engine_qs, asof, {a.pk: a for a in agreements})
    by_agreement = {a.pk: AgreementCounts(a, counted.by_agreement.get(a.pk, Counter()))
                    for a in agreements}
    for row in python:
        if row.obligation.agreement_id in by_agreement:
            by_agreement[row.obligation.agreement_id].counts[row.assessment.status] += 1
    listed = {
        o.pk: o for o in Obligation.objects.filter(
            pk__in=[r[0] for found in counted.listed.values() for r in found]
        ).select_related("agreement")
    }

    def rows(name: str, wanted: list[str], limit: int) -> list[DeadlineRow]:
        found = [DeadlineRow(listed[pk], st, due_at, due_date)
                 for pk, st, due_at, due_date in counted.listed[name] if pk in listed]
        found += [
            DeadlineRow(r.obligation, r.assessment.status, r.assessment.due_at,
                        r.assessment.due_date)
            for r in python if r.assessment.status in wanted and r.assessment.due_at
        ]
        return sorted(found, key=lambda d: (d.due_at, d.obligation.pk))[:limit]

    latest, prev_event, next_event = latest_events(
        statuses.events_known(asof), at, each_zone(asof, agreements, at)
    )
    return Overview(
        agreements=list(by_agreement.values()),
        next_deadlines=_with_terms(rows("upcoming", [V.PENDING, V.DUE_SOON], NEXT_DEADLINES),
                                   asof, NEXT_DEADLINES, agreements),
        overdue=rows("overdue", [V.OVERDUE], OVERDUE_SHOWN),
        overdue_total=sum(a.counts[V.OVERDUE] for a in by_agreement.values()),
        parties=party_standings(agreements, asof, at),
        events=latest,
        prev_event=prev_event,
        next_event=next_event,
    )


def _overview_from_timeline(
    agreements: list[Agreement], asof: AsOf, at: datetime, timeline: count_timeline.Counts
) -> Overview:
    """The past overview read as the present's is: stored counts (the count timeline at
    the instant), the first deadlines found by walking them in due order
    (`statuses.first_due`), the parties' standings from the timeline's counts plus the
    engine for the terms whose reports name actors."""
    by_agreement = {a.pk: AgreementCounts(a, timeline.by_agreement.get(a.pk, Counter()))
                    for a in agreements}
    upcoming = statuses.first_due(agreements, asof, [V.PENDING, V.DUE_SOON], NEXT_DEADLINES,
                                  ahead=True)
    overdue = statuses.first_due(agreements, asof, [V.OVERDUE], OVERDUE_SHOWN, ahead=False)
    listed = {
        o.pk: o for o in Obligation.objects.filter(
            pk__in=[r[0] for r in [*upcoming, *overdue]]
        ).select_related("agreement")
    }

    def rows(found: list[statuses.DueRow]) -> list[DeadlineRow]:
        return [DeadlineRow(listed[pk], st, due_at, due_date)
                for pk, st, due_at, due_date in found if pk in listed]

    latest, prev_event, next_event = latest_events(
        statuses.events_known(asof), at, each_zone(asof, agreements, at)
    )
    return Overview(
        agreements=list(by_agreement.values()),
        next_deadlines=_with_terms(rows(upcoming), asof, NEXT_DEADLINES, agreements),
        overdue=rows(overdue),
        overdue_total=sum(a.counts[V.OVERDUE] for a in by_agreement.values()),
        parties=party_standings(agreements, asof, at, timeline.by_party),
        events=latest,
        prev_event=prev_event,
        next_event=next_event,
    )


def _agreement_counts(
    agreements: list[Agreement], sql_rows: QuerySet, python: list[statuses.EngineRow]
) -> dict[int, AgreementCounts]:
    by_agreement = {a.pk: AgreementCounts(a) for a in agreements}
    for r in sql_rows.order_by().values("agreement_id", "st").annotate(n=Count("pk")):
        if r["agreement_id"] in by_agreement:
            by_agreement[r["agreement_id"]].counts[r["st"] or V.PENDING] += r["n"]
    for row in python:
        if row.obligation.agreement_id in by_agreement:
            by_agreement[row.obligation.agreement_id].counts[row.assessment.status] += 1
    return by_agreement


def _deadline_rows(
    sql_rows: QuerySet, python: list[statuses.EngineRow], wanted: list[str], limit: int
) -> list[DeadlineRow]:
    """The first `limit` deadlines in one of the `wanted` statuses, soonest due first."""
    # The deadline in force at the instant (`split` annotates it), not today's.
    found = [
        DeadlineRow(o, o.st, o.st_due_at, o.st_due_date)
        for o in sql_rows.filter(kind=V.DEADLINE, st__in=wanted)
        .select_related("agreement")
        .order_by("st_due_at", "pk")[:limit]
    ]
    found += [
        DeadlineRow(r.obligation, r.assessment.status, r.assessment.due_at,
                    r.assessment.due_date)
        for r in python
        if r.assessment.status in wanted and r.assessment.due_at
    ]
    return sorted(found, key=lambda d: (d.due_at, d.obligation.pk))[:limit]


def party_standings(
    agreements: list[Agreement], asof: AsOf, at: datetime,
    plain: dict[tuple[int, int], Counter] | None = None,
) -> list[PartyRow]:
    """Each party's own standings at `asof`, over every agreement (`statuses.party_tally`):
    a breach counts against the party whose act it was, never against the other parties
    the term binds, and a party's breach of a term that does not bind it counts too,
    marked as such. Set-based where no report names its actors; a constant number of
    queries either way. Each party is named as at the page's instant `at` when `as_of`
    was given (`tracker.naming`), else by today's name."""
    counted = statuses.party_tally(
        Obligation.objects.filter(agreement__in=[a.pk for a in agreements]), asof, agreements,
        plain,
    )
    rows: dict[int, PartyRow] = {}
    for (_, party_id), (counts, as_actor) in counted.items():
        row = rows.setdefault(party_id, PartyRow(party_id, "", ""))
        row.counts.update(counts)
        row.as_actor.update(as_actor)
    names_at = at if asof.written is not None else None
    for party in Party.objects.filter(pk__in=list(rows)).only("pk", "slug", "name",
                                                              "former_names"):
        rows[party.pk].slug, rows[party.pk].name = party.slug, name_at(party, names_at)
    return sorted(rows.values(), key=lambda p: (p.name, p.party_id))


# ---------------------------------------------------------------- places and the map


def location_statuses(
    qs: QuerySet[Obligation], asof: AsOf, agreements: Iterable[Agreement]
) -> dict[int, Counter]:
    """For each location with obligations in `qs`: how many are in each status.
    `agreements`: those `qs` may hold."""
    counted = statuses.tally(qs, asof, agreements, ("locations__id",))
    return defaultdict(Counter, {location_id: c for (location_id,), c in counted.items()})


def worst_status(counts: Counter) -> str:
    """The status a place's marker shows: the one needing most attention."""
    for status in STATUS_ORDER:
        if counts.get(status):
            return status
    return V.PENDING


def event_instants(
    obligations: list[Obligation], until: datetime, known_at: datetime | None = None
) -> list[datetime]:
    """Every instant at which something happened to these obligations, up to `until`
    and beyond (the engine's transitions and the facts' own dates), sorted."""
    instants: set[datetime] = set()
    horizon = max(until, timezone.now()) + timedelta(days=1)
    for o in obligations:
        facts = facts_of(o, known_at=known_at)
        instants.update(t.at for t in engine.timeline(facts, horizon))
        instants.update(c.agreed_at for c in facts.changes)
        instants.update(r.occurred_at for r in facts.reports)
    return sorted(instants)


def neighbours(instants: list[datetime], at: datetime) -> tuple[datetime | None, ...]:
    prev = max((t for t in instants if t < at), default=None)
    nxt = min((t for t in instants if t > at), default=None)
    return prev, nxt


def place_obligations(
    location_ids: list[int], limit: int, known_at: datetime | None = None
) -> tuple[dict[int, list[Obligation]], dict[int, list[tuple[Agreement, int]]]]:
    """For each place: its first `limit` obligations (by id) and
    how many obligations name it in each agreement, among those the tracker had
    published by `known_at` (and as it had). Three queries whatever the numbers (four
    with `known_at`): a window over the link table picks the first rows per place."""
    if not location_ids:
        return {}, {}
    links = Obligation.locations.through.objects.filter(
        known_texts.terms_published(known_at, "obligation__"), location_id__in=location_ids
    )
    # By id (the order obligations were entered in, file order for a loaded agreement):
    # the (location, obligation) index then gives the rows already in window order.
    ranked = links.annotate(rank=Window(
        RowNumber(), partition_by=[F("location_id")], order_by=[F("obligation_id").asc()],
    )).filter(rank__lte=limit).values_list("location_id", "obligation_id", "rank")
    picked = sorted(ranked, key=lambda row: (row[0], row[2]))
    rows = Obligation.objects.select_related("agreement").in_bulk([o for _, o, _ in picked])
    known_texts.terms_as_known(rows.values(), known_at)
    first: dict[int, list[Obligation]] = defaultdict(list)
    for loc, obligation_id, _ in picked:
        first[loc].append(rows[obligation_id])
    counted = list(links.values("location_id", "obligation__agreement_id")
                   .annotate(n=Count("obligation_id")).order_by())
    agreements = Agreement.objects.in_bulk({c["obligation__agreement_id"] for c in counted})
    known_texts.overlay(agreements.values(), known_at)
    per_agreement: dict[int, list[tuple[Agreement, int]]] = defaultdict(list)
    for c in sorted(counted, key=lambda c: agreements[c["obligation__agreement_id"]].slug):
        per_agreement[c["location_id"]].append(
            (agreements[c["obligation__agreement_id"]], c["n"])
        )
    return dict(first), dict(per_agreement)
