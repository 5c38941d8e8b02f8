"""Statuses at an instant for a set of obligations: the one answer every read uses.

The API, the dashboard, the map, the feeds and the party tallies ask here, and get the
engine's own `deadlines.engine.Assessment` (or counts of its statuses). Two ways to
know a status, one answer:

* **Where the stored summary holds** (`summary_holds`): the columns the sweep wrote.
  Now (`AsOf` not explicit), the stored `status`/`status_since`, which the sweep keeps
  equal to `engine.assess(now)`; what moves with the clock (days left, term ends) is
  derived by the engine from the stored summary (`engine.describe`). At another
  instant, the engine's RULES in SQL (`deadlines.classify.status_at`) on those columns.
* **Where it does not** (facts dated after the instant): the same RULES in SQL over
  the row's summary span covering it (`tracker.models.SummarySpan`, written by the
  sweep from the engine's own summaries), so a wide read in the past needs no Python
  per row (docs/performance.md, "Past as fast as now").
* **Rows awaiting re-assessment** (facts changed since the sweep), reads with past
  knowledge (`known_at`), and single obligations at another instant: `engine.assess`
  over the facts that held then.

At a past `known_at`, rows the tracker had not yet published are left out, and the rows
read are shown and assessed as they then stood (`tracker.known_texts`): a row whose own
dates (or its agreement's) were edited since goes to the engine with the dates of then.

A date means "as it stood on that day": the last instant of that day in each
agreement's own time zone (`tracker.instants.AsOf.at`).
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from itertools import product
from types import SimpleNamespace
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    CharField,
    Count,
    DateField,
    DateTimeField,
    F,
    FilteredRelation,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)

from deadlines import classify, engine
from deadlines.facts import (
    ending_fact,
    ending_relations,
    endings_of,
    fact_changes,
    fact_reports,
    facts_of,
    learned_after,
    with_facts,
)
from tracker import count_timeline, known_texts
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, Obligation, Party, Report, StatusEvent, SummarySpan

_UTC = ZoneInfo("UTC")

# ---------------------------------------------------------------- one obligation at a time


# The summary columns the sweep stores, named as `engine.Summary`'s fields.
SUMMARY_COLUMNS = engine.SUMMARY_COLUMNS


def stored_assessment(
    obligation: Obligation, now: datetime, facts: engine.Facts | None = None
) -> engine.Assessment:
    """The assessment the sweep stored, with what moves with the clock derived at `now`.
    With the obligation's `facts`, also what the stored columns cannot hold: the
    accounts of a dispute and the relation that ended it."""
    summary = engine.Summary(**{c: getattr(obligation, c) for c in SUMMARY_COLUMNS})
    if facts is not None:
        live = engine.summarize(facts, now)
        summary = replace(summary, accounts=live.accounts, ending=live.ending)
    return engine.describe(
        facts or facts_of(obligation, dated=False), summary, obligation.status or V.PENDING,
        obligation.status_since, now,
    )


# Stored statuses whose explanation needs the facts (the accounts, the ending relation).
EXPLAINED_FROM_FACTS = (V.DISPUTED, *V.RELATION_ENDINGS.values())


def states_for(obligations: Sequence[Obligation], asof: AsOf) -> dict[int, engine.Assessment]:
    """The assessment of each obligation (already fetched, with `agreement` selected).

    At an explicit instant, facts are read for exactly these rows in a fixed number of
    queries (constant in the number of rows), unless they were fetched through
    `with_facts`; now, only for the rows a dispute or an ending needs them for. At a
    past `known_at` the rows (and their agreements) are set to what they were then, in
    place (`known_texts.terms_as_known`): what the caller shows, the engine reads."""
    if not asof.explicit:
        explained = [o.pk for o in obligations if o.status in EXPLAINED_FROM_FACTS]
        facts = (
            {o.pk: facts_of(o) for o in with_facts(Obligation.objects.filter(pk__in=explained))}
            if explained else {}
        )
        return {o.pk: stored_assessment(o, asof.now, facts.get(o.pk)) for o in obligations}
    rows = list(obligations)
    known_texts.terms_as_known(rows, asof.known)
    missing = [o.pk for o in rows if not hasattr(o, "fact_reports")]
    if missing:
        fetched = {
            o.pk: o
            for o in with_facts(Obligation.objects.filter(pk__in=missing), asof.known)
        }
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
    """Every obligation of `queryset` with its assessment at `asof` (as published by
    `asof.known`)."""
    queryset = queryset.filter(known_texts.terms_published(asof.known))
    rows = list(
        with_facts(queryset, asof.known) if asof.explicit
        else queryset.select_related("agreement")
    )
    states = states_for(rows, asof)
    return [(o, states[o.pk]) for o in rows]


def timeline(obligation: Obligation, asof: AsOf) -> list[engine.Transition]:
    """The obligation's status changes from entry into force up to `asof` (its dates as
    published by `asof.known`)."""
    known_texts.terms_as_known([obligation], asof.known)
    return engine.timeline(
        facts_of(obligation, known_at=asof.known), asof.at(obligation.agreement.zone)
    )


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
    rows = list(
        queryset.filter(known_texts.terms_published(asof.known), term_years__isnull=False)
        .select_related("agreement")
    )
    states: dict[int, engine.Assessment] = {}
    rest = []
    for o in rows:
        at = asof.at(o.agreement.zone)
        if not asof.explicit:
            states[o.pk] = stored_assessment(o, asof.now)
        elif asof.known is None and _stored_summary_holds(o, at):
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


def summary_holds(at: datetime, prefix: str = "") -> Q:
    """Rows whose stored summary columns are valid at `at`: assessed, and no fact dated
    between the summary's facts and `at` (see `engine.Summary.facts_from/_until`).
    `prefix`: the path to the obligation ("obligation__" from its spans)."""
    return (
        Q(**{f"{prefix}needs_assessment": False})
        & (Q(**{f"{prefix}facts_from__isnull": True}) | Q(**{f"{prefix}facts_from__lte": at}))
        & (Q(**{f"{prefix}facts_until__isnull": True}) | Q(**{f"{prefix}facts_until__gt": at}))
        & ~Q(**{f"{prefix}status": ""})
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


def _span_at(at: datetime) -> FilteredRelation:
    """The row's summary span covering `at` (at most one: spans are disjoint)."""
    return FilteredRelation(
        "summary_spans",
        condition=(
            (Q(summary_spans__valid_from__isnull=True) | Q(summary_spans__valid_from__lte=at))
            & (Q(summary_spans__valid_until__isnull=True)
               | Q(summary_spans__valid_until__gt=at))
        ),
    )


def _span_holds(alias: str) -> Q:
    """The span `alias` (an `_span_at`) was found and is current: the row is assessed
    since its facts last changed (the sweep writes spans as it clears the flag)."""
    return Q(needs_assessment=False) & ~Q(status="") & Q(**{f"{alias}__isnull": False})


def classified(
    qs: QuerySet[Obligation], asof: AsOf, zones: Zones
) -> QuerySet[Obligation]:
    """Every row of `qs` annotated as `split` annotates the rows SQL can tell, and
    `in_sql`: whether it can (else `st` means nothing and the engine must assess it).
    At an explicit instant only."""
    return _classify(qs, asof, zones)[0]


def split(
    qs: QuerySet[Obligation], asof: AsOf, zones: Zones
) -> tuple[QuerySet[Obligation], QuerySet[Obligation]]:
    """(rows whose status SQL can tell, annotated `st` and the deadline in force then,
    `st_due_at`/`st_due_date`; rows the engine must assess).

    Each agreement's rows are read at its zone's instant (`zones`, from
    `zone_instants` over the agreements `qs` may hold). Now: every row, stored. At
    another instant, RULES in SQL over the row's own summary columns where they hold,
    else over its summary span covering that instant (`SummarySpan`); the engine only
    for rows not assessed since their facts changed (or asked with past knowledge)."""
    if not asof.explicit:
        return (qs.annotate(st=F("status"), st_due_at=F("due_at"), st_due_date=F("due_date")),
                qs.none())
    annotated, rest = _classify(qs, asof, zones)
    # By the annotation, not by its condition again: a second filter() through the
    # spans' relation would join them a second time.
    return annotated.filter(Q(in_sql=True)), rest.filter(Q(in_sql=False))


def _classify(
    qs: QuerySet[Obligation], asof: AsOf, zones: Zones
) -> tuple[QuerySet[Obligation], QuerySet[Obligation]]:
    """(`qs` annotated as `classified` says, the rows whose own columns do not hold,
    annotated `in_sql`)."""
    instants = sorted({at for at, _ in zones.values()}) or [asof.at(_UTC)]
    aliases = {at: f"span_{i}" for i, at in enumerate(instants)}
    # What the tracker had not yet published at `known_at` is not counted at all.
    qs = qs.filter(known_texts.terms_published(asof.known))
    base = qs
    if aliases:
        qs = qs.alias(**{alias: _span_at(at) for at, alias in aliases.items()})
    known = Q(pk__in=[])
    holds = Q(pk__in=[])
    # (condition, prefix of the summary columns that hold under it, instant)
    sources: list[tuple[Q, str, datetime]] = []
    for at in instants:
        here = (
            Q(agreement_id__in=[pk for zone_at, ids in zones.values() if zone_at == at
                                for pk in ids])
            if len(instants) > 1 else Q()
        )
        sources.append((here & summary_holds(at), "", at))
        holds |= here & summary_holds(at)
        if at in aliases:
            sources.append((here & _span_holds(aliases[at]), f"{aliases[at]}__", at))
    for condition, _, _ in sources:
        known |= condition
    if asof.known is not None:
        # A row with a fact published or corrected since `known_at`, or whose own dates
        # (or its agreement's) were edited since: its stored summary and spans, built
        # from today's facts and dates, do not tell what was known then; the engine
        # reads those known then. The others' still do.
        learned = learned_after(asof.known) | known_texts.terms_edited_after(asof.known)
        known &= ~learned
        holds &= ~learned
    status = Case(
        *[When(c, then=classify.status_at(at, prefix=p)) for c, p, at in sources],
        default=Value(V.PENDING), output_field=CharField(),
    )

    def then(column: str, field) -> Case:
        """`column` of the summary that held (the deadline in force then, not now)."""
        return Case(*[When(c, then=F(p + column)) for c, p, _ in sources],
                    default=None, output_field=field)

    in_sql = Case(When(known, then=Value(True)), default=Value(False),
                  output_field=BooleanField())
    # The rows whose own columns hold (most) are left out before spans are joined.
    rest = base.exclude(holds)
    if aliases:
        rest = rest.alias(**{alias: _span_at(at) for at, alias in aliases.items()})
    annotated = qs.annotate(
        st=status,
        st_due_at=then("due_at", DateTimeField()),
        st_due_date=then("due_date", DateField()),
        in_sql=in_sql,
    )
    return annotated, rest.annotate(in_sql=in_sql)


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


def _report_facts(
    ids: QuerySet, known_at: datetime | None = None
) -> dict[int, list[engine.ReportFact]]:
    """The engine's report facts of the obligations `ids` (a subquery), per obligation,
    as plain tuples in two queries (the reports with their claimant, their actors)."""
    reported = fact_reports(known_at).filter(obligation__in=ids)
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


def _ending_facts(
    ids: QuerySet, agreement_ids: set[int], known_at: datetime | None = None
) -> dict[tuple, list[engine.EndingFact]]:
    """Ending relations keyed ("term", obligation id) or ("agreement", agreement id) for
    those that end a whole agreement; one query."""
    found: dict[tuple, list[engine.EndingFact]] = defaultdict(list)
    relations = ending_relations(known_at).filter(
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
    engine itself. Same facts: published, not superseded, not retracted; the rows and
    their `agreements` as they stood at `asof.known` (`known_texts`), overlaid in place."""
    if not asof.explicit:
        return []
    qs = qs.select_related(None).prefetch_related(None).order_by()
    rows = list(qs.only(*ENGINE_FIELDS))
    if not rows:
        return []
    ids = qs.order_by().values("pk")
    if asof.known is not None:
        values, _ = known_texts.stood(Obligation, ids, asof.known)
        for o in rows:
            for name, value in values.get(o.pk, {}).items():
                setattr(o, name, value)
        known_texts.overlay(agreements.values(), asof.known)
    changes: dict[int, list] = defaultdict(list)
    for oid, due, agreed, pk in fact_changes(asof.known).filter(
        obligation__in=ids
    ).values_list(
        "obligation_id", "due_date", "agreed_at", "id"
    ):
        changes[oid].append(SimpleNamespace(due_date=due, agreed_at=agreed, id=pk))
    reports = _report_facts(ids, asof.known)
    # The term's status does not depend on who is responsible (standings do), so the
    # parties are read only when asked for.
    who: dict[int, list] = defaultdict(list)
    if parties:
        responsible = Obligation.responsible.through.objects.filter(obligation__in=ids)
        for oid, *party in responsible.values_list(
            "obligation_id", "party_id", "party__slug", "party__name"
        ):
            who[oid].append(tuple(party))
    endings = _ending_facts(ids, {o.agreement_id for o in rows}, asof.known)
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


# Up to this many rows matching a status filter at another instant are passed on as
# ids rather than as a subquery (docs/performance.md, "Past as fast as now").
LISTED_MATCHES = 10_000


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
    zones = zone_instants(asof, agreements.values())
    # One pass classifies every row; the matching ones (and any the engine must
    # assess) come back as ids, so a list then counts its rows and reads its page
    # without classifying them again. Past LISTED_MATCHES of them, a subquery instead.
    rows = list(
        classified(queryset, asof, zones)
        .filter(Q(in_sql=False) | Q(st__in=statuses))
        .values_list("pk", "in_sql")[: LISTED_MATCHES + 1]  # type: ignore[misc]  # annotated
    )
    if len(rows) <= LISTED_MATCHES:
        rest = [pk for pk, in_sql in rows if not in_sql]
        assessed = engine_rows(queryset.filter(pk__in=rest), asof, agreements) if rest else []
        found = [pk for pk, in_sql in rows if in_sql]
        found += [r.obligation.pk for r in assessed if r.assessment.status in statuses]
        return queryset.filter(pk__in=found)
    sql_rows, engine_qs = split(queryset, asof, zones)
    python_ids = [
        r.obligation.pk for r in engine_rows(engine_qs, asof, agreements)
        if r.assessment.status in statuses
    ]
    return queryset.filter(
        Q(pk__in=sql_rows.filter(Q(st__in=statuses)).values("pk")) | Q(pk__in=python_ids)
    )


# ---------------------------------------------------------------- first deadlines


# (obligation id, status, due instant, due date) of a deadline at an instant.
DueRow = tuple[int, str, datetime | None, date | None]


def first_due(
    agreements: Sequence[Agreement], asof: AsOf, wanted: Sequence[str], limit: int,
    *, ahead: bool,
) -> list[DueRow]:
    """The first `limit` deadlines of `agreements` whose status at the explicit `asof`
    is one of `wanted`, by the due instant in force then (then by id), as
    `count_at`'s lists give them, without classifying every row: `ahead` (statuses
    that are only possible before the deadline in force, pending or due soon) walks
    the deadlines due after the instant, else (overdue) those due by it, in due order
    and only until `limit` match. Twice per zone: over the rows whose own summary
    columns hold then, and over the summary spans covering the instant of the others;
    the engine assesses the rows awaiting assessment. Read with what is known now."""
    found: list[DueRow] = []
    for at, ids in zone_instants(asof, agreements).values():
        side = Q(due_at__gt=at) if ahead else Q(due_at__lte=at)
        matching = (
            Obligation.objects.filter(agreement_id__in=ids, kind=V.DEADLINE)
            .filter(summary_holds(at)).annotate(st=classify.status_at(at))
            .filter(st__in=wanted)
        )
        own = matching.filter(side).order_by("due_at", "pk").values_list(
            "pk", "st", "due_at", "due_date")
        spans = (
            SummarySpan.objects.filter(
                obligation__agreement_id__in=ids, obligation__kind=V.DEADLINE,
                obligation__needs_assessment=False,
            )
            .exclude(obligation__status="").exclude(summary_holds(at, "obligation__"))
            .filter(Q(valid_from__isnull=True) | Q(valid_from__lte=at))
            .filter(Q(valid_until__isnull=True) | Q(valid_until__gt=at))
            .filter(side).annotate(st=classify.status_at(at)).filter(st__in=wanted)
            .order_by("due_at", "obligation_id")
            .values_list("obligation_id", "st", "due_at", "due_date")
        )
        found += [*own[:limit], *spans[:limit]]
        if ahead and len(found) < limit:
            # A deadline without a date is never overdue: after every dated one.
            found += matching.filter(due_at__isnull=True).order_by("pk").values_list(
                "pk", "st", "due_at", "due_date")[:limit]
    stale = Obligation.objects.filter(
        agreement__in=[a.pk for a in agreements], kind=V.DEADLINE
    ).filter(Q(needs_assessment=True) | Q(status=""))
    found += [
        (r.obligation.pk, r.assessment.status, r.assessment.due_at, r.assessment.due_date)
        for r in engine_rows(stale, asof, {a.pk: a for a in agreements})
        if r.assessment.status in wanted
    ]
    far = datetime.max.replace(tzinfo=_UTC)
    return sorted(found, key=lambda r: (r[2] or far, r[0]))[:limit]


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


@dataclass
class Counted:
    """What `count_at` reads over the rows SQL can classify at an instant."""

    by_agreement: dict[int, Counter] = field(default_factory=dict)
    # Per list name: (id, status, due instant, due date) in the order of the due instant.
    listed: dict[str, list[tuple[int, str, datetime, date]]] = field(default_factory=dict)


def count_at(
    qs: QuerySet[Obligation], asof: AsOf, agreements: Iterable[Agreement],
    lists: dict[str, tuple[list[str], int]],
) -> tuple[Counted, QuerySet[Obligation]]:
    """At an explicit `asof`, in one PostgreSQL statement: the rows of `qs` SQL can
    classify, counted by agreement and status (parties' standings are counted apart,
    `party_tally`: a breach is charged to its actor, which a count by row cannot do),
    and for each of `lists` (name: (statuses, limit)) the first deadlines in those
    statuses by the due instant in force then. Each row is classified once (a
    materialized CTE), not once per count. Also returns the rows the engine must
    assess (found in the same statement), which the caller counts with `engine_rows`."""
    columns = ("id", "agreement_id", "kind", "st", "st_due_at", "st_due_date", "in_sql")
    inner, params = (
        classified(qs, asof, zone_instants(asof, agreements)).order_by()
        .values_list(*columns)  # the last four: `classified`'s annotations
        .query.sql_with_params()
    )
    parts = [
        "SELECT 'a', agreement_id, st, COUNT(*), NULL::timestamptz, NULL::date "
        "FROM c WHERE in_sql GROUP BY agreement_id, st",
        "SELECT 'e', id, NULL, 0, NULL::timestamptz, NULL::date FROM c WHERE NOT in_sql",
    ]
    values: list = list(params)
    for i, (wanted, limit) in enumerate(lists.values()):
        # Only quoted names and fixed words are interpolated; every value is bound.
        parts.append(
            f"(SELECT '{i}', id, st, 0, due_at, due_date FROM c WHERE in_sql AND kind = %s "  # noqa: S608
            f"AND st IN ({', '.join(['%s'] * len(wanted))}) ORDER BY due_at, id LIMIT %s)"
        )
        values += [V.DEADLINE, *wanted, limit]
    sql = (
        f"WITH c AS MATERIALIZED (SELECT * FROM ({inner}) AS x"  # noqa: S608
        f"(id, agreement_id, kind, st, due_at, due_date, in_sql)) "
        + " UNION ALL ".join(parts)  # noqa: S608
    )
    counted = Counted(listed={name: [] for name in lists})
    names = list(lists)
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
        rows = cursor.fetchall()
    engine_ids = []
    for part, key, status, n, due_at, due_date in rows:
        if part == "e":
            engine_ids.append(key)
        elif part == "a":
            counted.by_agreement.setdefault(key, Counter())[status or V.PENDING] += n
        else:
            counted.listed[names[int(part)]].append((key, status, due_at, due_date))
    for found in counted.listed.values():
        found.sort(key=lambda r: (r[2], r[0]))
    return counted, qs.filter(pk__in=engine_ids) if engine_ids else qs.none()


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
    qs: QuerySet[Obligation], asof: AsOf, agreements: Iterable[Agreement],
    plain: dict[tuple[int, int], Counter] | None = None,
) -> PartyTally:
    """Per agreement and party: how many of its standings at `asof` are in each status.
    A breach is charged to the party whose act it was, never to the other parties a
    term binds; a party charged with a breach of a term that does not bind it is
    counted, and marked as such. Where no report names its actors, each responsible
    party's standing is the term's status, counted set-based by `tally`; the engine
    gives the standings of the other terms (few: those with attributed reports).
    `plain`: those set-based counts when already known (`tracker.count_timeline`)."""
    agreements = list(agreements)
    if plain is None:
        plain = tally(qs.exclude(attributed()), asof, agreements,
                      ("agreement_id", "responsible__id"))
    result: PartyTally = {key: (Counter(c), Counter()) for key, c in plain.items()}
    rows = list(
        qs.filter(attributed(), known_texts.terms_published(asof.known))
        .select_related("agreement")
    )
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
    timeline = count_timeline.counts_at(asof, agreements)
    counted = party_tally(qs, asof, agreements, timeline.by_party if timeline else None)
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


def facts_for(
    queryset: QuerySet[Obligation], known_at: datetime | None = None
) -> list[tuple[Obligation, engine.Facts]]:
    """Every obligation of `queryset` with its facts (as known at `known_at`), in a fixed
    number of queries: what per-party standings and scores are computed from, at one
    instant or many. Those not yet published at `known_at` are left out; the others
    stand as they were then (`known_texts`)."""
    rows = list(with_facts(queryset.filter(known_texts.terms_published(known_at)), known_at))
    known_texts.terms_as_known(rows, known_at)
    return [(o, facts_of(o)) for o in rows]


def standings_for(
    obligations: Sequence[Obligation], asof: AsOf
) -> dict[int, dict[str, engine.Standing]]:
    """Each obligation's per-party standings at `asof` (party slug → Standing). Facts
    are read for the rows not fetched through `with_facts`, in a fixed number of
    queries."""
    rows = list(obligations)
    missing = [o.pk for o in rows if not hasattr(o, "fact_reports")]
    fetched = (
        {o.pk: o for o in with_facts(Obligation.objects.filter(pk__in=missing), asof.known)}
        if missing else {}
    )
    known_texts.terms_as_known([*rows, *fetched.values()], asof.known)
    result = {}
    for o in rows:
        source = fetched.get(o.pk, o)
        result[o.pk] = engine.standings(facts_of(source), asof.at(o.agreement.zone))
    return result


# ---------------------------------------------------------------- what held at the instant


def signed_q(asof: AsOf, prefix: str = "") -> Q:
    """Agreements (through `prefix`, e.g. "agreement__") signed by `asof`: before its
    signing an agreement has no terms to show, pending or otherwise. Now: every one."""
    if asof.written is None:
        return Q()
    if not asof.date_only:
        return Q(**{f"{prefix}signed_at__lte": asof.at(_UTC)})
    cond = Q(pk__in=[]) if not prefix else Q(**{f"{prefix}pk__in": []})
    zones = Agreement.objects.order_by().values_list("timezone", flat=True).distinct()
    for tz in sorted(zones):
        cond |= Q(**{f"{prefix}timezone": tz, f"{prefix}signed_at__lte": asof.at(ZoneInfo(tz))})
    return cond


def signed_by(agreement: Agreement, asof: AsOf) -> bool:
    """Whether `agreement` had been signed at `asof` (in its own zone for a date)."""
    return asof.written is None or agreement.signed_at <= asof.at(agreement.zone)


def events_known(asof: AsOf) -> QuerySet[StatusEvent]:
    """Status events as the tracker had published them by `asof.known` (now: the current
    history). A transition a later correction took out of the history was still in it
    then; one resting on a report published later, or of a term published later, was
    not yet; nor was one recorded since on a term whose facts or dates changed since
    (the sweep recorded it from what was learned later)."""
    if asof.known is None:
        return StatusEvent.current.all()
    known = asof.known
    # Recorded once something about its term had been learned since `known_at` (from
    # then, not from what was known at `known_at`).
    detected = OuterRef("detected_at")
    learned_before_it = (
        learned_after(known, term="obligation_id", agreement="obligation__agreement_id",
                      until=detected)
        | known_texts.terms_edited_after(known, "obligation__", until=detected)
    )
    return StatusEvent.objects.filter(
        Q(superseded_at__isnull=True) | Q(superseded_at__gt=known),
        Q(report__isnull=True) | Q(report__published_at__lte=known),
        known_texts.published(Obligation, known, "obligation_id"),
    ).exclude(learned_before_it)
