"""Dashboard read queries that `tracker.selectors` does not cover.

The selectors answer per row (fine for an agreement's few dozen obligations). The
overview and the map must stay cheap with 100,000 obligations, so here the work is
done in SQL: counts by status with GROUP BY, lists with ORDER BY ... LIMIT.

Statuses come from the stored column for "now". For another instant the engine's
rules run in SQL (`deadlines.classify.status_at`) on rows whose stored summary holds
at that instant, and the Python engine on the rest (facts dated after it, rows
awaiting re-assessment): the same split as `selectors.filter_status`.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When, Window
from django.db.models.functions import RowNumber
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy
from rest_framework.exceptions import ValidationError

from deadlines import classify, engine
from deadlines.facts import fact_changes, fact_reports, facts_of
from tracker import selectors
from tracker import vocabulary as V
from tracker.api import params
from tracker.models import Agreement, Obligation, Party, StatusEvent
from tracker.web import snapshot
from tracker.web.snapshot import NEXT_DEADLINES, OVERDUE_SHOWN

# Display order: what needs attention first.
STATUS_ORDER = [
    V.OVERDUE, V.VIOLATED, V.DUE_SOON, V.PENDING, V.IN_PROGRESS, V.IN_FORCE,
    V.COMPLETED_LATE, V.COMPLETED, V.TERMINATED,
]
# How a party's record reads: met, met late, breached, still open, ended.
COMPLIANCE_GROUPS = [
    ("met", gettext_lazy("Met"), {V.COMPLETED, V.IN_FORCE}),
    ("late", gettext_lazy("Met late"), {V.COMPLETED_LATE}),
    ("breached", gettext_lazy("Breached"), {V.OVERDUE, V.VIOLATED}),
    ("open", pgettext_lazy("compliance group", "Open"), {V.PENDING, V.DUE_SOON, V.IN_PROGRESS}),
    ("ended", gettext_lazy("Ended"), {V.TERMINATED}),
]
LATEST_EVENTS = 15


class BadParameter(ValueError):
    """A query-string value the page cannot use; the view answers 400 with this text."""


# ---------------------------------------------------------------- as_of


@dataclass(frozen=True)
class AsOf:
    """The instant a page answers for. `raw` is None for "now" (stored statuses)."""

    at: datetime
    raw: datetime | date | None
    zone: ZoneInfo
    date_only: bool = False

    @property
    def explicit(self) -> bool:
        return self.raw is not None

    @property
    def selector_at(self) -> datetime | date | None:
        """What `tracker.selectors` takes: None now, else the date or instant asked for."""
        return self.raw

    @property
    def local(self) -> datetime:
        return self.at.astimezone(self.zone)

    def at_in(self, zone: ZoneInfo) -> datetime:
        """The instant for an agreement keeping time in `zone`: a date is the end of that
        day there (DESIGN, the API), whatever zone the page shows times in."""
        return selectors.instant_for(self.raw, zone) if self.date_only else self.at


# Per time zone name: the instant a date stands for there, and the agreements using it.
Zones = dict[str, tuple[datetime, list[int]]]


def zone_instants(asof: AsOf, agreements: Iterable[Agreement]) -> Zones | None:
    """For a date asked for across agreements whose zones end that day at different
    instants: each zone's instant and agreements. None when `asof.at` serves them all."""
    if not asof.date_only:
        return None
    zones: Zones = {}
    for a in agreements:
        zones.setdefault(a.timezone, (asof.at_in(a.zone), []))[1].append(a.pk)
    if all(at == asof.at for at, _ in zones.values()):
        return None
    return zones


def parse_as_of(raw: str | None, zone: ZoneInfo, now: datetime | None = None) -> AsOf:
    """`?as_of=` as an instant. A date means the end of that day in `zone`
    (as `tracker.selectors.instant_for` reads it); a naive time is local to `zone`.

    The API's parser (`tracker.api.params.parse_as_of`) does the parsing and the year
    range check, so a value means the same on both, and the check runs before any
    conversion to UTC (year 1 or 9999 would overflow there). The page adds only "now"
    and the naive local time."""
    now = now or timezone.now()
    text = (raw or "").strip()
    if text in ("", "now"):
        return AsOf(at=now, raw=None, zone=zone)
    # A "+04:00" offset typed into an unescaped URL arrives as " 04:00".
    text = text.replace(" ", "+")
    try:
        value = params.parse_as_of(_local_offset(text, zone))
    except ValidationError as exc:
        reason = exc.detail["as_of"][0] if isinstance(exc.detail, dict) else exc.detail
        raise BadParameter(
            gettext("as_of=%(value)r cannot be used: %(reason)s For example 2020-11-16 or "
                    "2020-11-16T12:00:00Z.") % {"value": text, "reason": reason}
        ) from exc
    if isinstance(value, datetime):
        return AsOf(at=value, raw=value, zone=zone)
    return AsOf(at=selectors.instant_for(value, zone), raw=value, zone=zone, date_only=True)


def _local_offset(text: str, zone: ZoneInfo) -> str:
    """`text` with `zone`'s offset added when it is a time without one; else unchanged
    (the API's parser then accepts it or says what is wrong)."""
    if len(text) <= 10:  # a date, or garbage: not ours to read
        return text
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    if moment.tzinfo is not None:
        return text
    # Attaching a zone never converts, so no year can overflow here.
    return moment.replace(tzinfo=zone).isoformat()


def iso(at: datetime) -> str:
    """An instant for a URL: UTC with Z, microseconds only when present."""
    at = at.astimezone(UTC)
    spec = "microseconds" if at.microsecond else "seconds"
    return at.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


# ---------------------------------------------------------------- split by validity


def summary_holds(at: datetime) -> Q:
    """Rows whose stored summary columns are valid at `at` (see deadlines.classify)."""
    return (
        Q(needs_assessment=False)
        & (Q(facts_from__isnull=True) | Q(facts_from__lte=at))
        & (Q(facts_until__isnull=True) | Q(facts_until__gt=at))
        & ~Q(status="")
    )


def split(
    qs: QuerySet[Obligation], asof: AsOf, zones: Zones | None = None
) -> tuple[QuerySet, QuerySet]:
    """(rows whose status SQL can tell, annotated `st`; rows the engine must assess).

    With `zones` (see `zone_instants`) each agreement's rows are read at its own zone's
    instant, as `selectors.filter_status` does."""
    if not asof.explicit:
        return qs.annotate(st=F("status")), qs.none()
    if not zones:
        return (
            qs.filter(summary_holds(asof.at)).annotate(st=classify.status_at(asof.at)),
            qs.exclude(summary_holds(asof.at)),
        )
    holds = Q(pk__in=[])
    whens = []
    for at, ids in zones.values():
        here = Q(agreement_id__in=ids)
        holds |= here & summary_holds(at)
        whens.append(When(here, then=classify.status_at(at)))
    status = Case(*whens, default=Value(V.PENDING), output_field=CharField())
    return qs.filter(holds).annotate(st=status), qs.exclude(holds)


@dataclass(frozen=True)
class Assessed:
    """What the overview and the map need of an engine assessment: no history."""

    status: str
    due_at: datetime | None
    due_date: date | None


@dataclass
class EngineRow:
    obligation: Obligation
    assessment: Assessed
    parties: list[tuple[int, str, str]] = field(default_factory=list)  # (id, slug, name)
    places: list[int] = field(default_factory=list)


def status_only(facts: engine.Facts, at: datetime) -> Assessed:
    """The engine's status at `at` without its history: `engine.assess` also replays the
    whole timeline (for `status_since`), which counts and markers do not show and which
    costs several times more. Same RULES, same answer (`assess` checks the two agree)."""
    summary = engine.summarize(facts, at)
    status, _ = engine.classify(summary, at)
    return Assessed(status, summary.due_at, summary.due_date)


ENGINE_FIELDS = (
    "id", "agreement_id", "slug", "title", "kind", "due_date", "original_due_date",
    "starts_at", "ends_at", "term_years", "renews_years", "notice_months",
)


def engine_rows(
    qs: QuerySet[Obligation],
    asof: AsOf,
    agreements: dict[int, Agreement],
    *,
    parties: bool = False,
    places: bool = False,
) -> list[EngineRow]:
    """Assess, in Python, the rows SQL cannot classify at `asof` (none when now).

    Their facts are read as plain tuples filtered by a subquery, not through
    `with_facts`' prefetch: with tens of thousands of rows, building IN lists and
    model instances costs far more than the engine itself. Same facts: published,
    not superseded, not retracted (`fact_reports`/`fact_changes`)."""
    if not asof.explicit:
        return []
    rows = list(qs.order_by().only(*ENGINE_FIELDS))
    if not rows:
        return []
    ids = qs.order_by().values("pk")
    changes: dict[int, list] = defaultdict(list)
    for oid, due, agreed, pk in fact_changes().filter(obligation__in=ids).values_list(
        "obligation_id", "due_date", "agreed_at", "id"
    ):
        changes[oid].append(SimpleNamespace(due_date=due, agreed_at=agreed, id=pk))
    reports: dict[int, list] = defaultdict(list)
    for oid, claim, occurred, pk, unconfirmed in fact_reports().filter(
        obligation__in=ids
    ).values_list("obligation_id", "claim", "occurred_at", "id", "unconfirmed"):
        reports[oid].append(
            SimpleNamespace(claim=claim, occurred_at=occurred, id=pk, unconfirmed=unconfirmed)
        )
    who: dict[int, list] = defaultdict(list)
    if parties:
        through = Obligation.responsible.through.objects.filter(obligation__in=ids)
        for oid, *party in through.values_list(
            "obligation_id", "party_id", "party__slug", "party__name"
        ):
            who[oid].append(tuple(party))
    where: dict[int, list] = defaultdict(list)
    if places:
        through = Obligation.locations.through.objects.filter(obligation__in=ids)
        for oid, location_id in through.values_list("obligation_id", "location_id"):
            where[oid].append(location_id)
    result = []
    for o in rows:
        o.agreement = agreements[o.agreement_id]
        o.fact_changes = changes[o.pk]
        o.fact_reports = reports[o.pk]
        result.append(
            EngineRow(o, status_only(facts_of(o), asof.at_in(o.agreement.zone)), who[o.pk],
                      where[o.pk])
        )
    return result


# ---------------------------------------------------------------- overview


@dataclass
class DeadlineRow:
    obligation: Obligation
    status: str
    due_at: datetime
    due_date: date | None

    @property
    def agreement(self) -> Agreement:
        return self.obligation.agreement


@dataclass
class PartyRow:
    party_id: int
    slug: str
    name: str
    counts: Counter = field(default_factory=Counter)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

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
    asof: AsOf
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
    agreement's own zone (`zone_instants`)."""
    zones = {a.timezone for a in agreements}
    return ZoneInfo(zones.pop()) if len(zones) == 1 else ZoneInfo("UTC")


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


EVENT_COLUMNS = (
    "id", "from_status", "to_status", "effective_at", "obligation__slug", "obligation__title",
    "obligation__agreement__slug", "obligation__agreement__timezone",
)


def latest_events(
    qs: QuerySet[StatusEvent], at: datetime, zones: Zones | None = None
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


def overview(agreements: list[Agreement], asof: AsOf) -> Overview:
    """Everything the overview shows. Now: 4 queries when the stored aggregates hold
    (`tracker.web.snapshot`), 6 when they must be counted; as of another instant: 7,
    plus 3 when some rows need the Python engine. Never a number that grows with the
    rows."""
    if asof.explicit:
        return _overview(agreements, asof)
    return _overview_now(agreements, asof)


def _overview_now(agreements: list[Agreement], asof: AsOf) -> Overview:
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

    parties = [
        PartyRow(pk, slug, name, _pending_for_blank(counts.by_party[pk]))
        for pk, slug, name in Party.objects.filter(pk__in=list(counts.by_party))
        .order_by("name", "pk")
        .values_list("pk", "slug", "name")
    ]
    latest, prev_event, next_event = latest_events(StatusEvent.current.all(), asof.at)
    return Overview(
        asof=asof,
        agreements=list(by_agreement.values()),
        next_deadlines=rows(counts.upcoming),
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


def _overview(agreements: list[Agreement], asof: AsOf) -> Overview:
    at = asof.at
    all_rows = Obligation.objects.all()
    zones = zone_instants(asof, agreements)
    sql_rows, engine_qs = split(all_rows, asof, zones)
    python = engine_rows(engine_qs, asof, {a.pk: a for a in agreements}, parties=True)

    by_agreement = {a.pk: AgreementCounts(a) for a in agreements}
    for r in sql_rows.order_by().values("agreement_id", "st").annotate(n=Count("pk")):
        if r["agreement_id"] in by_agreement:
            by_agreement[r["agreement_id"]].counts[r["st"] or V.PENDING] += r["n"]
    for row in python:
        if row.obligation.agreement_id in by_agreement:
            by_agreement[row.obligation.agreement_id].counts[row.assessment.status] += 1

    upcoming = [
        DeadlineRow(o, o.st, o.due_at, o.due_date)
        for o in sql_rows.filter(kind=V.DEADLINE, st__in=[V.PENDING, V.DUE_SOON])
        .select_related("agreement")
        .order_by("due_at", "pk")[:NEXT_DEADLINES]
    ]
    upcoming += [
        DeadlineRow(r.obligation, r.assessment.status, r.assessment.due_at, r.assessment.due_date)
        for r in python
        if r.assessment.status in (V.PENDING, V.DUE_SOON) and r.assessment.due_at
    ]
    upcoming = sorted(upcoming, key=lambda d: (d.due_at, d.obligation.pk))[:NEXT_DEADLINES]

    late = [
        DeadlineRow(o, o.st, o.due_at, o.due_date)
        for o in sql_rows.filter(st=V.OVERDUE)
        .select_related("agreement")
        .order_by("due_at", "pk")[:OVERDUE_SHOWN]
    ]
    late += [
        DeadlineRow(r.obligation, V.OVERDUE, r.assessment.due_at, r.assessment.due_date)
        for r in python
        if r.assessment.status == V.OVERDUE and r.assessment.due_at
    ]
    late = sorted(late, key=lambda d: (d.due_at, d.obligation.pk))[:OVERDUE_SHOWN]
    overdue_total = sum(a.counts[V.OVERDUE] for a in by_agreement.values())

    parties: dict[int, PartyRow] = {}
    party_counts = (
        sql_rows.order_by()
        .values("responsible__id", "responsible__slug", "responsible__name", "st")
        .annotate(n=Count("pk"))
    )
    for r in party_counts:
        if r["responsible__id"] is None:
            continue
        row = parties.setdefault(
            r["responsible__id"],
            PartyRow(r["responsible__id"], r["responsible__slug"], r["responsible__name"]),
        )
        row.counts[r["st"] or V.PENDING] += r["n"]
    for er in python:
        for pk, slug, name in er.parties:
            parties.setdefault(pk, PartyRow(pk, slug, name)).counts[er.assessment.status] += 1

    latest, prev_event, next_event = latest_events(StatusEvent.current.all(), at, zones)
    return Overview(
        asof=asof,
        agreements=list(by_agreement.values()),
        next_deadlines=upcoming,
        overdue=late,
        overdue_total=overdue_total,
        parties=sorted(parties.values(), key=lambda p: (p.name, p.party_id)),
        events=latest,
        prev_event=prev_event,
        next_event=next_event,
    )


# ---------------------------------------------------------------- places and the map


def location_statuses(
    qs: QuerySet[Obligation], asof: AsOf, agreements: Iterable[Agreement] = ()
) -> dict[int, Counter]:
    """For each location with obligations in `qs`: how many are in each status.
    `agreements`: those `qs` may hold, whose zones a date is read in."""
    sql_rows, engine_qs = split(qs, asof, zone_instants(asof, agreements))
    result: dict[int, Counter] = defaultdict(Counter)
    rows = (
        sql_rows.order_by()
        .values("locations__id", "st")
        .annotate(n=Count("pk"))
    )
    for r in rows:
        if r["locations__id"] is None:
            continue
        result[r["locations__id"]][r["st"] or V.PENDING] += r["n"]
    agreements = {a.pk: a for a in Agreement.objects.filter(obligations__in=engine_qs.values("pk"))
                  .distinct()} if asof.explicit else {}
    for er in engine_rows(engine_qs, asof, agreements, places=True):
        for location_id in er.places:
            result[location_id][er.assessment.status] += 1
    return result


def worst_status(counts: Counter) -> str:
    """The status a place's marker shows: the one needing most attention."""
    for status in STATUS_ORDER:
        if counts.get(status):
            return status
    return V.PENDING


def event_instants(obligations: list[Obligation], until: datetime) -> list[datetime]:
    """Every instant at which something happened to these obligations, up to `until`
    and beyond (the engine's transitions and the facts' own dates), sorted."""
    instants: set[datetime] = set()
    horizon = max(until, timezone.now()) + timedelta(days=1)
    for o in obligations:
        facts = facts_of(o)
        instants.update(t.at for t in engine.timeline(facts, horizon))
        instants.update(c.agreed_at for c in facts.changes)
        instants.update(r.occurred_at for r in facts.reports)
    return sorted(instants)


def neighbours(instants: list[datetime], at: datetime) -> tuple[datetime | None, ...]:
    prev = max((t for t in instants if t < at), default=None)
    nxt = min((t for t in instants if t > at), default=None)
    return prev, nxt


def place_obligations(
    location_ids: list[int], limit: int
) -> tuple[dict[int, list[Obligation]], dict[int, list[tuple[Agreement, int]]]]:
    """For each place: its first `limit` obligations (by id) and
    how many obligations name it in each agreement. Three queries whatever the numbers:
    a window over the link table picks the first rows per place."""
    if not location_ids:
        return {}, {}
    links = Obligation.locations.through.objects.filter(location_id__in=location_ids)
    # By id (the order obligations were entered in, file order for a loaded agreement):
    # the (location, obligation) index then gives the rows already in window order.
    ranked = links.annotate(rank=Window(
        RowNumber(), partition_by=[F("location_id")], order_by=[F("obligation_id").asc()],
    )).filter(rank__lte=limit).values_list("location_id", "obligation_id", "rank")
    picked = sorted(ranked, key=lambda row: (row[0], row[2]))
    rows = Obligation.objects.select_related("agreement").in_bulk([o for _, o, _ in picked])
    first: dict[int, list[Obligation]] = defaultdict(list)
    for loc, obligation_id, _ in picked:
        first[loc].append(rows[obligation_id])
    counted = list(links.values("location_id", "obligation__agreement_id")
                   .annotate(n=Count("obligation_id")).order_by())
    agreements = Agreement.objects.in_bulk({c["obligation__agreement_id"] for c in counted})
    per_agreement: dict[int, list[tuple[Agreement, int]]] = defaultdict(list)
    for c in sorted(counted, key=lambda c: agreements[c["obligation__agreement_id"]].slug):
        per_agreement[c["location_id"]].append(
            (agreements[c["obligation__agreement_id"]], c["n"])
        )
    return dict(first), dict(per_agreement)
