"""Statuses at an instant for a set of obligations: the one answer every read uses.

The API, the dashboard, the map, the feeds and the party tallies ask here, and get the
engine's own `deadlines.engine.Assessment` (or counts of its statuses). Two ways to
know a status, one answer:

* **Where the stored summary holds** (`summary_holds`): the columns the sweep wrote.
  Now (`AsOf` not explicit), the stored `status`/`status_since`, which the sweep keeps
  equal to `engine.assess(now)`; what moves with the clock (days left, term ends) is
  derived by the engine from the stored summary (`engine.describe`). At another
  instant, the engine's RULES in SQL (`deadlines.classify.status_at`) on those columns.
* **Where it does not** (facts dated after it, rows awaiting re-assessment), and for
  single obligations at another instant: `engine.assess` over the facts that held then.

A date means "as it stood on that day": the last instant of that day in each
agreement's own time zone (`tracker.instants.AsOf.at`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import product
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.db.models import Case, CharField, Count, F, Q, QuerySet, Value, When

from deadlines import classify, engine
from deadlines.facts import (
    ending_fact,
    ending_relations,
    endings_of,
    fact_changes,
    fact_reports,
    facts_of,
    with_facts,
)
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, Obligation, Party, Report

_UTC = ZoneInfo("UTC")

# ---------------------------------------------------------------- one obligation at a time


# The summary columns the sweep stores, named as `engine.Summary`'s fields.
SUMMARY_COLUMNS = engine.SUMMARY_COLUMNS


def stored_assessment(obligation: Obligation, now: datetime) -> engine.Assessment:
    """The assessment the sweep stored, with what moves with the clock derived at `now`."""
    summary = engine.Summary(**{c: getattr(obligation, c) for c in SUMMARY_COLUMNS})
    return engine.describe(
        facts_of(obligation, dated=False), summary, obligation.status or V.PENDING,
        obligation.status_since, now,
    )


def states_for(obligations: Sequence[Obligation], asof: AsOf) -> dict[int, engine.Assessment]:
    """The assessment of each obligation (already fetched, with `agreement` selected).

    At an explicit instant, facts are read for exactly these rows in two queries
    (constant in the number of rows), unless they were fetched through `with_facts`."""
    if not asof.explicit:
        return {o.pk: stored_assessment(o, asof.now) for o in obligations}
    rows = list(obligations)
    missing = [o.pk for o in rows if not hasattr(o, "fact_reports")]
    if missing:
        fetched = {o.pk: o for o in with_facts(Obligation.objects.filter(pk__in=missing))}
        for o in rows:
            if o.pk in fetched:
                # What with_facts' prefetch (to_attr) sets on the rows it reads.
                f = fetched[o.pk]
                o.fact_changes = f.fact_changes  # type: ignore[attr-defined]
                o.fact_reports = f.fact_reports  # type: ignore[attr-defined]
                o.fact_responsible = f.fact_responsible  # type: ignore[attr-defined]
                o.fact_endings = endings_of(f)  # type: ignore[attr-defined]
    return {o.pk: engine.assess(facts_of(o), asof.at(o.agreement.zone)) for o in rows}


def obligations_at(
    queryset: QuerySet[Obligation], asof: AsOf
) -> list[tuple[Obligation, engine.Assessment]]:
    """Every obligation of `queryset` with its assessment at `asof`."""
    rows = list(with_facts(queryset) if asof.explicit else queryset.select_related("agreement"))
    states = states_for(rows, asof)
    return [(o, states[o.pk]) for o in rows]


def timeline(obligation: Obligation, asof: AsOf) -> list[engine.Transition]:
    """The obligation's status changes from entry into force up to `asof`."""
    return engine.timeline(facts_of(obligation), asof.at(obligation.agreement.zone))


# ---------------------------------------------------------------- renewable terms

NOTICE = "notice"
TERM_END = "term_end"


@dataclass(frozen=True)
class TermDate:
    """A date a renewable term sets, ahead at the instant asked about: the last day to
    give notice (`NOTICE`) or the end of the running term (`TERM_END`). Both are
    deadlines a reader plans around, as a `deadline` obligation's due date is."""

    obligation: Obligation
    what: str
    at: datetime
    status: str

    @property
    def local_date(self):
        return engine.local_date(self.at, self.obligation.agreement.zone)


def term_dates_of(obligation: Obligation, state: engine.Assessment) -> list[TermDate]:
    """The notice deadline and term end still ahead at `state.at` (the engine rolls
    renewals forward; an ended term has neither)."""
    dates = ((NOTICE, state.notice_deadline), (TERM_END, state.term_ends_at))
    return [
        TermDate(obligation, what, when, state.status)
        for what, when in dates
        if when is not None and when > state.at
    ]


def _stored_summary_holds(o: Obligation, at: datetime) -> bool:
    """`summary_holds` for one fetched row, in Python."""
    return (
        not o.needs_assessment and o.status != ""
        and (o.facts_from is None or o.facts_from <= at)
        and (o.facts_until is None or o.facts_until > at)
    )


def term_dates(queryset: QuerySet[Obligation], asof: AsOf) -> list[TermDate]:
    """Every notice deadline and term end ahead at `asof` among the renewable terms of
    `queryset`, soonest first. One query when the stored summaries hold (renewable
    terms are few); the engine reads the facts of the others."""
    rows = list(queryset.filter(term_years__isnull=False).select_related("agreement"))
    states: dict[int, engine.Assessment] = {}
    rest = []
    for o in rows:
        at = asof.at(o.agreement.zone)
        if not asof.explicit:
            states[o.pk] = stored_assessment(o, asof.now)
        elif _stored_summary_holds(o, at):
            summary = engine.Summary(**{c: getattr(o, c) for c in SUMMARY_COLUMNS})
            status, _ = engine.classify(summary, at)
            states[o.pk] = engine.describe(facts_of(o, dated=False), summary, status, None, at)
        else:
            rest.append(o)
    if rest:
        states.update(states_for(rest, asof))
    found = [d for o in rows for d in term_dates_of(o, states[o.pk])]
    return sorted(found, key=lambda d: (d.at, d.obligation.pk, d.what))


# ---------------------------------------------------------------- many obligations at once


def summary_holds(at: datetime) -> Q:
    """Rows whose stored summary columns are valid at `at`: assessed, and no fact dated
    between the summary's facts and `at` (see `engine.Summary.facts_from/_until`)."""
    return (
        Q(needs_assessment=False)
        & (Q(facts_from__isnull=True) | Q(facts_from__lte=at))
        & (Q(facts_until__isnull=True) | Q(facts_until__gt=at))
        & ~Q(status="")
    )


# Per time zone name: the instant `asof` stands for there, and the agreements using it.
Zones = dict[str, tuple[datetime, list[int]]]


def zone_instants(asof: AsOf, agreements: Iterable[Agreement]) -> Zones:
    """Each zone of `agreements` with the instant `asof` stands for there (the same
    instant everywhere unless `asof` is a date)."""
    zones: Zones = {}
    for a in agreements:
        zones.setdefault(a.timezone, (asof.at(a.zone), []))[1].append(a.pk)
    return zones


def split(
    qs: QuerySet[Obligation], asof: AsOf, zones: Zones
) -> tuple[QuerySet[Obligation], QuerySet[Obligation]]:
    """(rows whose status SQL can tell, annotated `st`; rows the engine must assess).

    Each agreement's rows are read at its zone's instant (`zones`, from
    `zone_instants` over the agreements `qs` may hold). Now: every row, stored."""
    if not asof.explicit:
        return qs.annotate(st=F("status")), qs.none()
    instants = {at for at, _ in zones.values()}
    if len(instants) <= 1:
        at = instants.pop() if instants else asof.at(_UTC)
        return (
            qs.filter(summary_holds(at)).annotate(st=classify.status_at(at)),
            qs.exclude(summary_holds(at)),
        )
    holds = Q(pk__in=[])
    whens = []
    for at, ids in zones.values():
        here = Q(agreement_id__in=ids)
        holds |= here & summary_holds(at)
        whens.append(When(here, then=classify.status_at(at)))
    status = Case(*whens, default=Value(V.PENDING), output_field=CharField())
    return qs.filter(holds).annotate(st=status), qs.exclude(holds)


@dataclass
class EngineRow:
    obligation: Obligation
    assessment: engine.Assessment
    parties: list[tuple[int, str, str]] = field(default_factory=list)  # (id, slug, name)
    places: list[int] = field(default_factory=list)


ENGINE_FIELDS = (
    "id", "agreement_id", "slug", "title", "kind", "due_date", "original_due_date",
    "starts_at", "ends_at", "term_years", "renews_years", "notice_months", "text_dispute",
)


def _report_facts(ids: QuerySet) -> dict[int, list[engine.ReportFact]]:
    """The engine's report facts of the obligations `ids` (a subquery), per obligation,
    as plain tuples in two queries (the reports with their claimant, their actors)."""
    reported = fact_reports().filter(obligation__in=ids)
    actors: dict[int, set[str]] = defaultdict(set)
    for report_id, slug in Report.actors.through.objects.filter(
        report__in=reported.values("pk")
    ).values_list("report_id", "party__slug"):
        actors[report_id].add(slug)
    reports: dict[int, list[engine.ReportFact]] = defaultdict(list)
    for oid, claim, occurred, pk, unconfirmed, contests, claimant, kind in reported.values_list(
        "obligation_id", "claim", "occurred_at", "id", "unconfirmed", "contests_id",
        "claimant__slug", "claimant__kind",
    ):
        reports[oid].append(engine.ReportFact(
            claim=claim, occurred_at=occurred, id=pk, unconfirmed=unconfirmed,
            actors=frozenset(actors[pk]), claimant=claimant or "",
            finding=kind == V.CLAIMANT_TRACKER, contests=contests,
        ))
    return reports


def _ending_facts(ids: QuerySet, agreement_ids: set[int]) -> dict[tuple, list[engine.EndingFact]]:
    """Ending relations keyed ("term", obligation id) or ("agreement", agreement id) for
    those that end a whole agreement; one query."""
    found: dict[tuple, list[engine.EndingFact]] = defaultdict(list)
    relations = ending_relations().filter(
        Q(target__in=ids) | Q(target__isnull=True, target_agreement_id__in=agreement_ids)
    )
    for r in relations:
        key = ("term", r.target_id) if r.target_id else ("agreement", r.target_agreement_id)
        found[key].append(ending_fact(r))
    return found


def engine_rows(
    qs: QuerySet[Obligation],
    asof: AsOf,
    agreements: dict[int, Agreement],
    *,
    parties: bool = False,
    places: bool = False,
) -> list[EngineRow]:
    """Assess, with the engine, the rows of `qs` (the second half of `split`; none now).

    Statuses only: the history (`status_since`) is not replayed, which counts and map
    markers do not show and which costs several times more. Facts are read as plain
    tuples filtered by a subquery, not through `with_facts`' prefetch: with tens of
    thousands of rows, building IN lists and model instances costs far more than the
    engine itself. Same facts: published, not superseded, not retracted."""
    if not asof.explicit:
        return []
    qs = qs.select_related(None).prefetch_related(None).order_by()
    rows = list(qs.only(*ENGINE_FIELDS))
    if not rows:
        return []
    ids = qs.order_by().values("pk")
    changes: dict[int, list] = defaultdict(list)
    for oid, due, agreed, pk in fact_changes().filter(obligation__in=ids).values_list(
        "obligation_id", "due_date", "agreed_at", "id"
    ):
        changes[oid].append(SimpleNamespace(due_date=due, agreed_at=agreed, id=pk))
    reports = _report_facts(ids)
    # The term's status does not depend on who is responsible (standings do), so the
    # parties are read only when asked for.
    who: dict[int, list] = defaultdict(list)
    if parties:
        responsible = Obligation.responsible.through.objects.filter(obligation__in=ids)
        for oid, *party in responsible.values_list(
            "obligation_id", "party_id", "party__slug", "party__name"
        ):
            who[oid].append(tuple(party))
    endings = _ending_facts(ids, {o.agreement_id for o in rows})
    where: dict[int, list] = defaultdict(list)
    if places:
        placed = Obligation.locations.through.objects.filter(obligation__in=ids)
        for oid, location_id in placed.values_list("obligation_id", "location_id"):
            where[oid].append(location_id)
    result = []
    for o in rows:
        o.agreement = agreements[o.agreement_id]
        # What with_facts' prefetch (to_attr) would set, read in a few queries for all rows.
        o.fact_changes = changes[o.pk]  # type: ignore[attr-defined]
        o.fact_reports = reports[o.pk]  # type: ignore[attr-defined]
        o.fact_responsible = [  # type: ignore[attr-defined]
            SimpleNamespace(slug=slug) for _, slug, _ in who[o.pk]
        ]
        o.fact_endings = [  # type: ignore[attr-defined]
            *endings[("term", o.pk)], *endings[("agreement", o.agreement_id)]
        ]
        assessment = engine.assess(
            facts_of(o), asof.at(o.agreement.zone), with_history=False
        )
        result.append(EngineRow(o, assessment, who[o.pk], where[o.pk]))
    return result


def filter_status(
    queryset: QuerySet[Obligation], statuses: Iterable[str], asof: AsOf
) -> QuerySet[Obligation]:
    """Rows whose status at `asof` is one of `statuses`: the stored column now, else
    `split` (SQL where the summary holds, the engine for the rest), so the filter and
    the statuses shown always agree."""
    statuses = list(statuses)
    if not asof.explicit:
        return queryset.filter(status__in=statuses)
    agreements = Agreement.objects.in_bulk(
        queryset.order_by().values_list("agreement_id", flat=True).distinct()
    )
    sql_rows, engine_qs = split(queryset, asof, zone_instants(asof, agreements.values()))
    python_ids = [
        r.obligation.pk for r in engine_rows(engine_qs, asof, agreements)
        if r.assessment.status in statuses
    ]
    return queryset.filter(
        Q(pk__in=sql_rows.filter(Q(st__in=statuses)).values("pk")) | Q(pk__in=python_ids)
    )


# ---------------------------------------------------------------- tallies


def status_counts_many(
    agreements: Sequence[Agreement], asof: AsOf
) -> dict[int, dict[str, int]]:
    """How many of each agreement's obligations are in each status at `asof`, in a
    constant number of queries."""
    qs = Obligation.objects.filter(agreement__in=[a.pk for a in agreements])
    counted = tally(qs, asof, agreements, ("agreement_id",))
    return {a.pk: dict(counted.get((a.pk,), {})) for a in agreements}


# What an engine-assessed row contributes to each key `tally` can count by.
_ENGINE_KEYS = {
    "agreement_id": lambda row: [row.obligation.agreement_id],
    "responsible__id": lambda row: [pk for pk, _, _ in row.parties],
    "locations__id": lambda row: row.places,
}


def tally(
    qs: QuerySet[Obligation], asof: AsOf, agreements: Iterable[Agreement],
    by: tuple[str, ...],
) -> dict[tuple, Counter]:
    """For each combination of the values of `by` (among `agreement_id`,
    `responsible__id`, `locations__id`) over the rows of `qs`: how many are in each
    status at `asof`. SQL counts the rows `split` can classify; the engine assesses
    the rest. `agreements`: those `qs` may hold (their zones place a date)."""
    by_id = {a.pk: a for a in agreements}
    sql_rows, engine_qs = split(qs, asof, zone_instants(asof, by_id.values()))
    result: dict[tuple, Counter] = defaultdict(Counter)
    for r in sql_rows.order_by().values(*by, "st").annotate(n=Count("pk")):
        key = tuple(r[f] for f in by)
        if None not in key:
            result[key][r["st"] or V.PENDING] += r["n"]
    rows = engine_rows(engine_qs, asof, by_id, parties="responsible__id" in by,
                       places="locations__id" in by)
    for row in rows:
        for key in product(*(_ENGINE_KEYS[f](row) for f in by)):
            result[key][row.assessment.status] += 1
    return result


@dataclass(frozen=True)
class PartyCompliance:
    """One party's obligations under an agreement, counted by its own standing: the
    terms that bind it, and the terms it is charged with a breach of as a party they do
    not bind (`as_actor`, also counted in `counts`)."""

    party: Party
    total: int
    counts: dict[str, int] = field(default_factory=dict)
    as_actor: dict[str, int] = field(default_factory=dict)


def attributed() -> Q:
    """Obligations with a counting report that names its actors: only there can a
    party's standing differ from the term's status (docs/method.md)."""
    return Q(pk__in=fact_reports().filter(actors__isnull=False).values("obligation_id"))


# Per (agreement id, party id): (counts by standing, those of them charged as an actor).
PartyTally = dict[tuple[int, int], tuple[Counter, Counter]]


def party_tally(
    qs: QuerySet[Obligation], asof: AsOf, agreements: Iterable[Agreement]
) -> PartyTally:
    """Per agreement and party: how many of its standings at `asof` are in each status.
    A breach is charged to the party whose act it was, never to the other parties a
    term binds; a party charged with a breach of a term that does not bind it is
    counted, and marked as such. Where no report names its actors, each responsible
    party's standing is the term's status, counted set-based by `tally`; the engine
    gives the standings of the other terms (few: those with attributed reports)."""
    agreements = list(agreements)
    plain = tally(qs.exclude(attributed()), asof, agreements, ("agreement_id", "responsible__id"))
    result: PartyTally = {key: (Counter(c), Counter()) for key, c in plain.items()}
    rows = list(qs.filter(attributed()).select_related("agreement"))
    found = standings_for(rows, asof)
    slugs = {p for by_party in found.values() for p in by_party}
    ids = dict(Party.objects.filter(slug__in=slugs).values_list("slug", "pk"))
    for o in rows:
        for slug, standing in found[o.pk].items():
            if not standing.responsible and not standing.charged:
                continue  # a term that does not bind it, and no breach of it open
            counts, as_actor = result.setdefault(
                (o.agreement_id, ids[slug]), (Counter(), Counter())
            )
            counts[standing.status] += 1
            if not standing.responsible:
                as_actor[standing.status] += 1
    return result


def party_compliance_many(
    agreements: Sequence[Agreement], asof: AsOf
) -> dict[int, list[PartyCompliance]]:
    """Per agreement, per party: how many of its obligations are in each standing at
    `asof` (`party_tally`), in a constant number of queries."""
    qs = Obligation.objects.filter(agreement__in=[a.pk for a in agreements])
    counted = party_tally(qs, asof, agreements)
    parties = Party.objects.in_bulk({party for _, party in counted})
    result: dict[int, list[PartyCompliance]] = {a.pk: [] for a in agreements}
    for (agreement_id, party_id), (counts, as_actor) in counted.items():
        result[agreement_id].append(
            PartyCompliance(party=parties[party_id], total=sum(counts.values()),
                            counts=dict(counts), as_actor=dict(as_actor))
        )
    for entries in result.values():
        entries.sort(key=lambda e: (e.party.name, e.party.pk))
    return result


def events_until(queryset: QuerySet, asof: AsOf) -> QuerySet:
    """Status events (StatusEvent rows) that had taken effect by `asof` (a date: the end
    of that day in each obligation's agreement zone)."""
    if not asof.explicit:
        return queryset
    if not asof.date_only:
        return queryset.filter(effective_at__lte=asof.at(_UTC))
    zones = set(
        queryset.order_by().values_list("obligation__agreement__timezone", flat=True).distinct()
    )
    cond = Q(pk__in=[])
    for tz in sorted(zones):
        cond |= Q(
            obligation__agreement__timezone=tz,
            effective_at__lte=asof.at(ZoneInfo(tz)),
        )
    return queryset.filter(cond)


# ---------------------------------------------------------------- standings per party


def facts_for(queryset: QuerySet[Obligation]) -> list[tuple[Obligation, engine.Facts]]:
    """Every obligation of `queryset` with its facts, in a fixed number of queries: what
    per-party standings and scores are computed from, at one instant or many."""
    return [(o, facts_of(o)) for o in with_facts(queryset)]


def standings_for(
    obligations: Sequence[Obligation], asof: AsOf
) -> dict[int, dict[str, engine.Standing]]:
    """Each obligation's per-party standings at `asof` (party slug → Standing). Facts
    are read for the rows not fetched through `with_facts`, in a fixed number of
    queries."""
    rows = list(obligations)
    missing = [o.pk for o in rows if not hasattr(o, "fact_reports")]
    fetched = (
        {o.pk: o for o in with_facts(Obligation.objects.filter(pk__in=missing))}
        if missing else {}
    )
    result = {}
    for o in rows:
        source = fetched.get(o.pk, o)
        result[o.pk] = engine.standings(facts_of(source), asof.at(o.agreement.zone))
    return result
