"""Read-side queries shared by the API, the feeds and the dashboard.

Two ways to know an obligation's status, one answer:

* **Now** (`at=None`): the stored `status`/`status_since` columns, which the sweep
  keeps equal to `engine.assess(now)`. Cheap: no facts are read. Due dates, days
  left and term ends are derived from stored columns with the engine's helpers.
* **At another instant** (`at` a datetime, or a date): `engine.assess` over the facts
  that held then (`deadlines.facts.with_facts`), never the stored column.

A date means "as it stood on that day": the last instant of that day in the
agreement's own time zone (each agreement's zone when several are involved). So
"as of 20 November" shows a "by 20 November" deadline still open, and "as of
21 November" shows it overdue, whichever zone the agreement keeps time in.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db.models import Case, CharField, Count, Q, QuerySet, Value, When
from django.utils import timezone

from deadlines import classify, engine
from deadlines.facts import facts_of, with_facts
from tracker import vocabulary as V
from tracker.models import Agreement, Obligation, Party

# A point in time to answer for: None = now (stored statuses), a datetime = that
# instant, a date = the end of that day in each agreement's zone.
At = datetime | date | None


def instant_for(at: datetime | date, zone: ZoneInfo) -> datetime:
    """The instant `at` stands for in `zone` (a date: its last microsecond there)."""
    if isinstance(at, datetime):
        return at
    return engine.local_midnight(at + timedelta(days=1), zone) - timedelta(microseconds=1)


@dataclass(frozen=True)
class ObligationState:
    """An obligation's status and dates at one instant, however they were obtained."""

    at: datetime
    status: str
    status_since: datetime | None
    due_date: date | None = None
    due_at: datetime | None = None
    days_remaining: int | None = None
    days_overdue: int | None = None
    term_ends_at: datetime | None = None
    notice_deadline: datetime | None = None
    # The report that decided the status, when known (only the engine path knows it).
    report_id: int | None = None
    unconfirmed: bool = False
    # True when read from the stored columns, False when assessed from facts.
    stored: bool = True


def _days(status: str, due_date: date | None, at: datetime, zone: ZoneInfo):
    """(days_remaining, days_overdue) as the engine counts them, in local days."""
    if not due_date or status not in (V.PENDING, V.DUE_SOON, V.OVERDUE):
        return None, None
    delta = (due_date - engine.local_date(at, zone)).days
    if status == V.OVERDUE:
        return None, max(0, -delta)
    return max(0, delta), None


def _term_facts(obligation: Obligation) -> engine.Facts | None:
    """Just enough of the facts for the term helpers (they read no reports or changes)."""
    if not obligation.term_years:
        return None
    agreement = obligation.agreement
    return engine.Facts(
        kind=obligation.kind,
        zone=agreement.zone,
        effective_at=agreement.effective_at,
        starts_at=obligation.starts_at,
        ends_at=obligation.ends_at,
        term=engine.Term(
            years=obligation.term_years,
            renews_years=obligation.renews_years,
            notice_months=obligation.notice_months,
        ),
    )


def stored_state(obligation: Obligation, now: datetime | None = None) -> ObligationState:
    """The stored assessment (what the sweep wrote), with derived dates at `now`."""
    now = now or timezone.now()
    zone = obligation.agreement.zone
    status = obligation.status or V.PENDING
    remaining, overdue = _days(status, obligation.due_date, now, zone)
    ends = notice = None
    term = _term_facts(obligation)
    if term is not None and status != V.TERMINATED:
        ends, notice = engine.term_end(term, now), engine.notice_deadline(term, now)
    return ObligationState(
        at=now,
        status=status,
        status_since=obligation.status_since,
        due_date=obligation.due_date,
        due_at=obligation.due_at,
        days_remaining=remaining,
        days_overdue=overdue,
        term_ends_at=ends,
        notice_deadline=notice,
        stored=True,
    )


def assessed_state(a: engine.Assessment) -> ObligationState:
    return ObligationState(
        at=a.at,
        status=a.status,
        status_since=a.status_since,
        due_date=a.due_date,
        due_at=a.due_at,
        days_remaining=a.days_remaining,
        days_overdue=a.days_overdue,
        term_ends_at=a.term_ends_at,
        notice_deadline=a.notice_deadline,
        report_id=a.report.id if a.report else None,
        unconfirmed=a.unconfirmed,
        stored=False,
    )


def states_for(obligations: Sequence[Obligation], at: At) -> dict[int, ObligationState]:
    """State of each obligation (already fetched, with `agreement` selected) at `at`.

    With `at`, facts are read for exactly these rows in two queries (constant in the
    number of rows), unless they were fetched through `with_facts` already.
    """
    if at is None:
        now = timezone.now()
        return {o.pk: stored_state(o, now) for o in obligations}
    rows = list(obligations)
    missing = [o.pk for o in rows if not hasattr(o, "fact_reports")]
    if missing:
        fetched = {o.pk: o for o in with_facts(Obligation.objects.filter(pk__in=missing))}
        for o in rows:
            if o.pk in fetched:
                o.fact_changes = fetched[o.pk].fact_changes
                o.fact_reports = fetched[o.pk].fact_reports
    return {
        o.pk: assessed_state(engine.assess(facts_of(o), instant_for(at, o.agreement.zone)))
        for o in rows
    }


def obligations_at(
    queryset: QuerySet[Obligation], at: At = None
) -> list[tuple[Obligation, ObligationState]]:
    """Every obligation of `queryset` with its state at `at` (None: stored, now)."""
    rows = list(queryset.select_related("agreement") if at is None else with_facts(queryset))
    states = states_for(rows, at)
    return [(o, states[o.pk]) for o in rows]


def obligation_timeline(obligation: Obligation, at: At = None) -> list[engine.Transition]:
    """The obligation's status changes from entry into force up to `at` (None: now)."""
    until = instant_for(at, obligation.agreement.zone) if at is not None else timezone.now()
    return engine.timeline(facts_of(obligation), until)


def filter_status(
    queryset: QuerySet[Obligation], statuses: Iterable[str], at: At = None
) -> QuerySet[Obligation]:
    """Rows whose status at `at` is one of `statuses`.

    Now: the stored column. At another instant: the engine's rules in SQL
    (`deadlines.classify.status_at`) for rows whose stored summary holds at that
    instant, and the Python engine for the rest (facts dated after it, rows awaiting
    re-assessment), so the filter and the statuses shown always agree.
    """
    statuses = list(statuses)
    if at is None:
        return queryset.filter(status__in=statuses)
    zones = sorted(set(queryset.values_list("agreement__timezone", flat=True).distinct()))
    matching_sql = Q(pk__in=[])
    python_ids: list[int] = []
    for tz in zones:
        instant = instant_for(at, ZoneInfo(tz))
        holds = (
            Q(needs_assessment=False)
            & (Q(facts_from__isnull=True) | Q(facts_from__lte=instant))
            & (Q(facts_until__isnull=True) | Q(facts_until__gt=instant))
            & ~Q(status="")
        )
        in_zone = queryset.filter(agreement__timezone=tz)
        sql_ids = (
            in_zone.filter(holds)
            .annotate(status_then=classify.status_at(instant))
            .filter(status_then__in=statuses)
            .values("pk")
        )
        matching_sql |= Q(pk__in=sql_ids)
        rest = Obligation.objects.filter(pk__in=in_zone.exclude(holds).values("pk"))
        for o in with_facts(rest.order_by()):
            if engine.assess(facts_of(o), instant).status in statuses:
                python_ids.append(o.pk)
    return queryset.filter(matching_sql | Q(pk__in=python_ids))


def status_counts(agreement: Agreement, at: At = None) -> dict[str, int]:
    """How many of the agreement's obligations are in each status at `at`."""
    if at is None:
        rows = (
            agreement.obligations.order_by()
            .annotate(s=Case(When(status="", then=Value(V.PENDING)), default="status",
                             output_field=CharField()))
            .values("s")
            .annotate(n=Count("pk"))
        )
        return {r["s"]: r["n"] for r in rows}
    counts = Counter(
        state.status for _, state in obligations_at(agreement.obligations.all(), at)
    )
    return dict(counts)


def status_counts_many(agreements: Sequence[Agreement], at: At = None) -> dict[int, dict[str, int]]:
    """`status_counts` for several agreements in a constant number of queries."""
    result: dict[int, dict[str, int]] = {a.pk: {} for a in agreements}
    qs = Obligation.objects.filter(agreement__in=[a.pk for a in agreements])
    if at is None:
        rows = qs.order_by().values("agreement_id", "status").annotate(n=Count("pk"))
        for r in rows:
            status = r["status"] or V.PENDING
            bucket = result[r["agreement_id"]]
            bucket[status] = bucket.get(status, 0) + r["n"]
        return result
    for o, state in obligations_at(qs, at):
        bucket = result[o.agreement_id]
        bucket[state.status] = bucket.get(state.status, 0) + 1
    return result


@dataclass(frozen=True)
class PartyCompliance:
    """One responsible party's obligations under an agreement, counted by status."""

    party: Party
    total: int
    counts: dict[str, int] = field(default_factory=dict)


def party_compliance_many(
    agreements: Sequence[Agreement], at: At = None
) -> dict[int, list[PartyCompliance]]:
    """`party_compliance` for several agreements in a constant number of queries."""
    qs = Obligation.objects.filter(agreement__in=[a.pk for a in agreements]).prefetch_related(
        "responsible"
    )
    per: dict[int, dict[int, Counter]] = defaultdict(lambda: defaultdict(Counter))
    parties: dict[int, Party] = {}
    for o, state in obligations_at(qs, at):
        for p in o.responsible.all():
            parties[p.pk] = p
            per[o.agreement_id][p.pk][state.status] += 1
    result: dict[int, list[PartyCompliance]] = {}
    for a in agreements:
        entries = [
            PartyCompliance(party=parties[pid], total=sum(c.values()), counts=dict(c))
            for pid, c in per[a.pk].items()
        ]
        result[a.pk] = sorted(entries, key=lambda e: (e.party.name, e.party.pk))
    return result


def party_compliance(agreement: Agreement, at: At = None) -> list[PartyCompliance]:
    """Per responsible party: how many of its obligations are in each status at `at`."""
    return party_compliance_many([agreement], at)[agreement.pk]


def events_until(queryset: QuerySet, at: At) -> QuerySet:
    """Status events (StatusEvent rows) that had taken effect by `at` (a date: the end of
    that day in each obligation's agreement zone)."""
    if at is None:
        return queryset
    if isinstance(at, datetime):
        return queryset.filter(effective_at__lte=at)
    zones = set(
        queryset.order_by().values_list("obligation__agreement__timezone", flat=True).distinct()
    )
    cond = Q(pk__in=[])
    for tz in sorted(zones):
        cond |= Q(
            obligation__agreement__timezone=tz, effective_at__lte=instant_for(at, ZoneInfo(tz))
        )
    return queryset.filter(cond)
