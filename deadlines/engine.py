"""Assess an obligation at any instant from its facts alone. Pure: no I/O, no clock.

Where a status comes from, in one place:

1. `judge(reports)` sorts the reports held at an instant into cases: a report that
   contests nothing and every report that contests it (directly or through another).
   A case holding an editorial finding is settled by its latest finding; a case whose
   reports disagree (more than one distinct claim; a denial differs from every claim)
   is in dispute from its first disagreeing contest, and none of its reports count;
   otherwise every report of the case counts.
2. `summarize(facts, known_at)` reduces the facts that held at `known_at` (deadline
   changes from their `agreed_at`, reports from their `occurred_at`, endings by
   relations from their `at`) to a handful of threshold instants: when it is due, when
   the warning window opens, when it became active, when a still-open violation began
   (violations are paired with their ends per actor), when a dispute began (or the
   entry into force, for a term only some versions of the text carry), and when and
   how it ended (the earliest of a completion, a reported termination or overtaking,
   an ending by a later agreement, or the term's natural end).
3. `classify(summary, at)` walks `RULES` in order: the first threshold that has passed
   gives the status; none gives `pending`. `deadlines.classify` builds the same rules
   as one SQL CASE, so the sweep can store statuses for a million rows in one statement.
4. `timeline(facts, until)` evaluates (2)+(3) at every instant where anything could
   change; `assess(facts, at)` reads the status at `at` off that timeline, so the
   stored status, the history and `as_of` answers can never disagree.
5. `standings(facts, at)` applies the same rules to each party's own reports: the
   responsible parties', and any other party's from its first reported violation on.
   A breach (V.BREACHES) is charged to the party whose standing it is, and to no other.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields, replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tracker import vocabulary as V

# ---------------------------------------------------------------- facts in


@dataclass(frozen=True)
class DeadlineChangeFact:
    due_date: date
    agreed_at: datetime
    id: int | None = None


@dataclass(frozen=True)
class ReportFact:
    claim: str
    occurred_at: datetime
    id: int | None = None
    unconfirmed: bool = False
    # Party slugs whose act it reports; empty: the term's responsible parties.
    actors: frozenset[str] = frozenset()
    claimant: str = ""  # the claimant's slug
    finding: bool = False  # the claimant is the tracker: an editorial finding
    contests: int | None = None  # id of the report it contests


@dataclass(frozen=True)
class EndingFact:
    """A later agreement ends this term from `at` (an AgreementRelation)."""

    status: str  # V.SUPERSEDED or V.TERMINATED
    at: datetime
    relation_id: int | None = None
    replacement: str = ""  # "agreement-slug/term-slug" of the term taking its place, or ""


@dataclass(frozen=True)
class Term:
    """A renewable term: `years`, then `renews_years` more at a time unless notice is given
    `notice_months` before the end. `renews_years` empty: the term simply ends."""

    years: int
    renews_years: int | None = None
    notice_months: int | None = None


@dataclass(frozen=True)
class Facts:
    kind: str
    zone: ZoneInfo
    effective_at: datetime
    warning_days: int = 3
    original_due_date: date | None = None
    starts_at: datetime | None = None
    ends_at: datetime | None = None
    term: Term | None = None
    changes: tuple[DeadlineChangeFact, ...] = ()
    reports: tuple[ReportFact, ...] = ()
    responsible: frozenset[str] = frozenset()  # party slugs
    # The term exists only in some versions of the text: disputed, never a breach.
    text_dispute: bool = False
    endings: tuple[EndingFact, ...] = ()


# ---------------------------------------------------------------- time helpers


def local_midnight(day: date, zone: ZoneInfo) -> datetime:
    """The first instant of `day` in `zone`, in UTC.

    fold=0 gives the earlier reading of an ambiguous midnight, and for a midnight that
    a DST jump skips it gives the instant of the jump: in both cases the day's start.
    """
    return datetime.combine(day, time(0), tzinfo=zone).astimezone(UTC)


def due_instant(due_date: date, zone: ZoneInfo) -> datetime:
    """"By 20 November" ends at 00:00 local on 21 November."""
    return local_midnight(due_date + timedelta(days=1), zone)


def local_date(at: datetime, zone: ZoneInfo) -> date:
    return at.astimezone(zone).date()


def add_months_local(at: datetime, months: int, zone: ZoneInfo) -> datetime:
    """Calendar arithmetic on the local wall clock (29 Feb + 1 year = 28 Feb)."""
    local = at.astimezone(zone)
    month_index = local.month - 1 + months
    year, month = local.year + month_index // 12, month_index % 12 + 1
    day = min(local.day, calendar.monthrange(year, month)[1])
    moved = datetime.combine(date(year, month, day), local.time(), tzinfo=zone)
    return moved.astimezone(UTC)


# ---------------------------------------------------------------- cases: who says what


def _order(r: ReportFact) -> tuple[datetime, int]:
    return (r.occurred_at, r.id or 0)


@dataclass(frozen=True)
class Case:
    """A report that contests nothing, with the held reports that contest it."""

    reports: tuple[ReportFact, ...]  # in (occurred_at, id) order
    counting: tuple[ReportFact, ...]  # those that feed the summaries
    disputed_from: datetime | None = None  # in dispute (unsettled) since
    disagreeing: ReportFact | None = None  # the first contest that disagreed
    finding: ReportFact | None = None  # the finding that settled it

    @property
    def root(self) -> ReportFact:
        return self.reports[0]


def _settle(reports: tuple[ReportFact, ...]) -> Case:
    findings = [r for r in reports if r.finding]
    if findings:
        # The latest finding decides. Its claim counts as the case's own reports made
        # it (their instants and actors), or as the finding made it when none did; a
        # denial finding leaves nothing to count.
        decider = max(findings, key=_order)
        if decider.claim == V.CLAIM_DENIAL:
            return Case(reports, (), finding=decider)
        upheld = tuple(r for r in reports if r.claim == decider.claim and not r.finding)
        return Case(reports, upheld or (decider,), finding=decider)
    claims: set[str] = set()
    for r in reports:
        claims.add(r.claim)
        if len(claims) > 1:
            return Case(reports, (), disputed_from=r.occurred_at, disagreeing=r)
    return Case(reports, reports)


def judge(reports: Iterable[ReportFact]) -> list[Case]:
    """The cases the given (held) reports form, each settled, disputed or agreed.

    A report contesting one that is not among them (not yet occurred, not published)
    stands as its own case: a lone denial then counts for nothing."""
    held = sorted(reports, key=_order)
    by_id = {r.id: r for r in held if r.id is not None}

    def root_of(r: ReportFact) -> ReportFact:
        seen = {id(r)}
        while r.contests is not None and r.contests in by_id:
            r = by_id[r.contests]
            if id(r) in seen:  # a cycle cannot come from the loader; stop rather than loop
                break
            seen.add(id(r))
        return r

    groups: dict[int, list[ReportFact]] = {}
    roots: dict[int, ReportFact] = {}
    for r in held:
        root = root_of(r)
        groups.setdefault(id(root), []).append(r)
        roots[id(root)] = root
    cases = []
    for key, members in groups.items():
        root = roots[key]
        # The root first, whatever the order the others occurred in.
        ordered = (root, *(m for m in members if m is not root))
        cases.append(_settle(ordered))
    return sorted(cases, key=lambda c: _order(c.root))


# ---------------------------------------------------------------- summary


@dataclass(frozen=True)
class Summary:
    """The facts held at one instant, reduced to thresholds (the columns the sweep uses)."""

    due_date: date | None = None
    due_at: datetime | None = None
    due_soon_at: datetime | None = None
    active_at: datetime | None = None
    active_status: str = ""
    violated_at: datetime | None = None
    disputed_at: datetime | None = None
    done_at: datetime | None = None
    done_status: str = ""
    # The facts it was built from: valid for instants in [facts_from, facts_until).
    facts_from: datetime | None = None
    facts_until: datetime | None = None
    # Which report decided each threshold, to explain a status.
    reports: dict[str, ReportFact] = field(default_factory=dict, compare=False)
    # The reports of the cases in dispute, and the relation that ended the term.
    accounts: tuple[ReportFact, ...] = field(default=(), compare=False)
    ending: EndingFact | None = field(default=None, compare=False)


# The fields of Summary the sweep stores as Obligation columns (the rest explain them).
SUMMARY_COLUMNS = tuple(
    f.name for f in fields(Summary) if f.name not in ("reports", "accounts", "ending")
)

# (threshold column, status it gives, or None to read the status from `<name>_status`)
RULES: tuple[tuple[str, str | None], ...] = (
    ("done_at", None),
    ("violated_at", V.VIOLATED),
    ("disputed_at", V.DISPUTED),
    ("due_at", V.OVERDUE),
    ("due_soon_at", V.DUE_SOON),
    ("active_at", None),
)
THRESHOLDS = tuple(column for column, _ in RULES)


def _fact_instants(facts: Facts) -> list[datetime]:
    return (
        [c.agreed_at for c in facts.changes]
        + [r.occurred_at for r in facts.reports]
        + [e.at for e in facts.endings]
    )


def deadline_in_force(facts: Facts, at: datetime) -> date | None:
    """The due date agreed last among the changes agreed by `at`."""
    held = [c for c in facts.changes if c.agreed_at <= at]
    if not held:
        return facts.original_due_date
    return max(held, key=lambda c: (c.agreed_at, c.id or 0)).due_date


def _first(reports: list[ReportFact], claim: str) -> ReportFact | None:
    matching = [r for r in reports if r.claim == claim]
    return min(matching, key=_order) if matching else None


def term_end(facts: Facts, at: datetime) -> datetime | None:
    """End of the term running at `at` (renewals rolled forward), or None without a term."""
    if facts.term is None:
        return None
    return _end_of(facts.term, facts, at)


def _end_of(term: Term, facts: Facts, at: datetime) -> datetime:
    start = facts.starts_at or facts.effective_at
    end = add_months_local(start, 12 * term.years, facts.zone)
    if term.renews_years:
        periods = 0
        while end <= at:
            periods += 1
            end = add_months_local(
                start, 12 * (term.years + periods * term.renews_years), facts.zone
            )
    return end


def notice_deadline(facts: Facts, at: datetime) -> datetime | None:
    end = term_end(facts, at)
    if end is None or not facts.term or not facts.term.notice_months:
        return None
    return add_months_local(end, -facts.term.notice_months, facts.zone)


# An end the term may come to: (instant, status, report that says so, relation that did).
_End = tuple[datetime, str, ReportFact | None, EndingFact | None]


@dataclass(frozen=True)
class _Scope:
    """Whose standing a summary is: the whole term (party None) or one party's."""

    party: str | None = None
    deadlines: bool = True  # the deadline's thresholds apply (a responsible party)


_TERM = _Scope()


def _summarize_deadline(
    facts: Facts, known_at: datetime, reports: list[ReportFact], scope: _Scope
) -> tuple[Summary, list[_End], dict[str, ReportFact]]:
    """Due at the deadline in force at `known_at`, warned before it, done by a report."""
    explain: dict[str, ReportFact] = {}
    due = deadline_in_force(facts, known_at)
    s = Summary(due_date=due)
    if scope.deadlines:
        due_at = due_instant(due, facts.zone) if due else None
        soon = (
            local_midnight(due + timedelta(days=1 - facts.warning_days), facts.zone)
            if due and facts.warning_days > 0
            else None
        )
        s = replace(s, due_at=due_at, due_soon_at=soon)
    ends: list[_End] = []
    done = _first(reports, V.CLAIM_COMPLETED)
    if done:
        # On time means before the due instant of the deadline in force when it happened;
        # a term only some texts carry binds no deadline, so it cannot be late.
        in_force = deadline_in_force(facts, done.occurred_at)
        late = (
            not facts.text_dispute
            and in_force is not None
            and done.occurred_at >= due_instant(in_force, facts.zone)
        )
        ends.append((done.occurred_at, V.COMPLETED_LATE if late else V.COMPLETED, done, None))
    progress = _first(reports, V.CLAIM_PROGRESS)
    if progress:
        explain["progress"] = progress
    return s, ends, explain


def _summarize_ongoing(
    facts: Facts, known_at: datetime, reports: list[ReportFact], scope: _Scope
) -> tuple[Summary, list[_End], dict[str, ReportFact]]:
    """In force from its start until its end or its term's end."""
    start = facts.starts_at or facts.effective_at
    s = Summary(active_at=start, active_status=V.IN_FORCE)
    ends: list[_End] = []
    if facts.ends_at:
        ends.append((facts.ends_at, V.TERMINATED, None, None))
    if facts.term and not facts.term.renews_years:
        ends.append((_end_of(facts.term, facts, start), V.TERMINATED, None, None))
    return s, ends, {}


def _summarize_open(
    facts: Facts, known_at: datetime, reports: list[ReportFact], scope: _Scope
) -> tuple[Summary, list[_End], dict[str, ReportFact]]:
    """In progress from the first progress report, completed at the first completion."""
    explain: dict[str, ReportFact] = {}
    s = Summary()
    progress = _first(reports, V.CLAIM_PROGRESS)
    if progress:
        s = replace(s, active_at=progress.occurred_at, active_status=V.IN_PROGRESS)
        explain["active_at"] = progress
    ends: list[_End] = []
    done = _first(reports, V.CLAIM_COMPLETED)
    if done:
        ends.append((done.occurred_at, V.COMPLETED, done, None))
    return s, ends, explain


_SUMMARIZE_BY_KIND: dict[
    str,
    Callable[
        [Facts, datetime, list[ReportFact], _Scope],
        tuple[Summary, list[_End], dict[str, ReportFact]],
    ],
] = {
    V.DEADLINE: _summarize_deadline,
    V.ONGOING: _summarize_ongoing,
    V.OPEN: _summarize_open,
}


def actors_of(report: ReportFact, facts: Facts) -> frozenset[str]:
    """Whose act a report is: its actors, else the term's responsible parties."""
    return report.actors or facts.responsible


def open_violations(facts: Facts, reports: list[ReportFact]) -> dict[str, ReportFact]:
    """Per actor, its violation still open after `reports` (in order): the first one
    after its last end. An end naming actors ends only theirs; one naming none ends all.
    A violation of a term with no responsible party and no actor is kept under ''."""
    open_by_actor: dict[str, ReportFact] = {}
    for r in reports:
        if r.claim == V.CLAIM_VIOLATION:
            for actor in actors_of(r, facts) or {""}:
                open_by_actor.setdefault(actor, r)
        elif r.claim == V.CLAIM_VIOLATION_ENDED:
            if r.actors:
                for actor in r.actors:
                    open_by_actor.pop(actor, None)
            else:
                open_by_actor.clear()
    return open_by_actor


def _concerns(report: ReportFact, facts: Facts, party: str | None) -> bool:
    """The report is the party's own (any report is the whole term's)."""
    return party is None or party in actors_of(report, facts)


def _case_concerns(case: Case, facts: Facts, party: str | None) -> bool:
    """A dispute is about the acts its accounts report: a denial, naming no actor of its
    own, is about the act it denies."""
    accounts = [r for r in case.reports if r.claim != V.CLAIM_DENIAL] or list(case.reports)
    return any(_concerns(r, facts, party) for r in accounts)


def _summarize(
    facts: Facts, known_at: datetime, cases: list[Case], scope: _Scope
) -> Summary:
    by_kind = _SUMMARIZE_BY_KIND.get(facts.kind)
    if by_kind is None:
        raise ValueError(f"unknown obligation kind {facts.kind!r}")
    counting = sorted((r for c in cases for r in c.counting), key=_order)
    own = [r for r in counting if _concerns(r, facts, scope.party)]
    s, ends, explain = by_kind(facts, known_at, own, scope)

    # Endings every kind has: a reported termination or overtaking (a term-wide fact,
    # whoever's report it is), or a later agreement's relation.
    for claim, status in ((V.CLAIM_TERMINATED, V.TERMINATED), (V.CLAIM_OVERTAKEN, V.OVERTAKEN)):
        report = _first(counting, claim)
        if report:
            ends.append((report.occurred_at, status, report, None))
    ends += [(e.at, e.status, None, e) for e in facts.endings if e.at <= known_at]
    ending: EndingFact | None = None
    if ends:
        done_at, done_status, done_report, ending = min(ends, key=lambda e: e[0])
        s = replace(s, done_at=done_at, done_status=done_status)
        if done_report:
            explain["done_at"] = done_report

    # Violations (paired per actor), never for a term only some texts carry.
    if facts.kind == V.ONGOING and not facts.text_dispute:
        open_by_actor = open_violations(facts, counting)
        if scope.party is not None:
            open_by_actor = {a: r for a, r in open_by_actor.items() if a == scope.party}
        if open_by_actor:
            first = min(open_by_actor.values(), key=_order)
            s = replace(s, violated_at=first.occurred_at)
            explain["violated_at"] = first

    # Disputes: the contested text from the entry into force, else the earliest open case.
    disputed = [
        c for c in cases
        if c.disputed_from is not None and _case_concerns(c, facts, scope.party)
    ]
    accounts = tuple(r for c in disputed for r in c.reports)
    if facts.text_dispute:
        s = replace(s, disputed_at=facts.effective_at)
    elif disputed:
        first_case = min(disputed, key=lambda c: (c.disputed_from, _order(c.root)))
        s = replace(s, disputed_at=first_case.disputed_from)
        if first_case.disagreeing:
            explain["disputed_at"] = first_case.disagreeing
    return replace(s, reports=explain, accounts=accounts, ending=ending)


def _held(facts: Facts, known_at: datetime) -> list[ReportFact]:
    return [r for r in facts.reports if r.occurred_at <= known_at]


def summarize(facts: Facts, known_at: datetime) -> Summary:
    """The facts held at `known_at` reduced to thresholds, by the rules of its kind."""
    instants = _fact_instants(facts)
    held_from = max((i for i in instants if i <= known_at), default=None)
    held_until = min((i for i in instants if i > known_at), default=None)
    s = _summarize(facts, known_at, judge(_held(facts, known_at)), _TERM)
    return replace(s, facts_from=held_from, facts_until=held_until)


def classify(summary: Summary, at: datetime) -> tuple[str, str | None]:
    """(status, name of the threshold that decided it) at `at`; see RULES."""
    for column, status in RULES:
        threshold = getattr(summary, column)
        if threshold is not None and threshold <= at:
            return status or getattr(summary, column.replace("_at", "_status")), column
    return V.PENDING, None


def next_change(summary: Summary, after: datetime) -> datetime | None:
    """The next instant the classification may change with no new fact."""
    later = [getattr(summary, c) for c in THRESHOLDS] + [summary.facts_until]
    later = [t for t in later if t is not None and t > after]
    return min(later, default=None)


# ---------------------------------------------------------------- standings per party


@dataclass(frozen=True)
class Standing:
    """One party's standing on a term at an instant."""

    party: str
    status: str
    responsible: bool  # the term binds it; else a party whose act was reported on it
    charged: bool  # its standing is a breach (V.BREACHES), charged to it
    report: ReportFact | None = None  # the report that decided its status
    ended_at: datetime | None = None  # when its standing ended (completed, superseded ...)


# Where each status stands in RULES (the term's status is the first any standing has).
_RULE_RANK = {V.VIOLATED: 1, V.DISPUTED: 2, V.OVERDUE: 3, V.DUE_SOON: 4,
              V.IN_FORCE: 5, V.IN_PROGRESS: 5, V.PENDING: 6}


def term_status(parties: Iterable[Standing]) -> str:
    """The term's status from its parties' standings (docs/method.md, section 3): the
    standing that comes first in RULES order, and among ended standings the earliest
    ending. Equal to `assess` whenever every party a counting report names has a
    standing (tests/engine/test_claims.py checks it on random facts)."""
    ranked = [
        (_RULE_RANK.get(p.status, 0), p.ended_at or datetime.max.replace(tzinfo=UTC), p.status)
        for p in parties
    ]
    return min(ranked)[2] if ranked else V.PENDING


def standings(facts: Facts, at: datetime) -> dict[str, Standing]:
    """Each party's standing at `at`: the term's responsible parties, and any other
    party from its first reported violation of the term on.

    A party's standing is RULES over its own counting reports (those whose actors
    include it; with no actors, the responsible parties'), its own open violations,
    the disputes about its own reports, the text dispute and the term's endings; the
    deadline binds only the responsible parties."""
    cases = judge(_held(facts, at))
    parties = set(facts.responsible)
    for c in cases:
        parties.update(
            a for r in c.reports if r.claim == V.CLAIM_VIOLATION for a in r.actors
        )
    result: dict[str, Standing] = {}
    for party in sorted(parties):
        responsible = party in facts.responsible
        s = _summarize(facts, at, cases, _Scope(party=party, deadlines=responsible))
        status, column = classify(s, at)
        result[party] = Standing(
            party=party,
            status=status,
            responsible=responsible,
            charged=status in V.BREACHES,
            report=s.reports.get(column) if column else None,
            ended_at=s.done_at if column == "done_at" else None,
        )
    return result


def party_timeline(facts: Facts, party: str, until: datetime) -> list[Transition]:
    """Every change of one party's standing up to `until` ('' while it has none: a party
    the term does not bind, before its first reported violation)."""
    transitions: list[Transition] = []
    current = ""
    for instant in _candidate_instants(facts, until):
        if instant < facts.effective_at:
            continue
        standing = standings(facts, instant).get(party)
        status = standing.status if standing else ""
        if status != current:
            report = standing.report if standing else None
            if report is None or report.occurred_at != instant:
                report = _reported_at(facts, instant) or report
            transitions.append(Transition(instant, current, status, report))
            current = status
    return transitions


# ---------------------------------------------------------------- timeline


@dataclass(frozen=True)
class Transition:
    at: datetime
    from_status: str
    to_status: str
    report: ReportFact | None = None


def _candidate_instants(facts: Facts, until: datetime) -> list[datetime]:
    """Every instant at which the status might change, up to `until`."""
    instants = {facts.effective_at}
    instants.update(_fact_instants(facts))
    due_dates = {facts.original_due_date, *(c.due_date for c in facts.changes)}
    for due in filter(None, due_dates):
        instants.add(due_instant(due, facts.zone))
        if facts.warning_days > 0:
            instants.add(local_midnight(due + timedelta(days=1 - facts.warning_days), facts.zone))
    for optional in (facts.starts_at, facts.ends_at):
        if optional:
            instants.add(optional)
    if facts.term and not facts.term.renews_years:
        instants.add(_end_of(facts.term, facts, facts.starts_at or facts.effective_at))
    return sorted(i for i in instants if i <= until)


def _status_at(facts: Facts, at: datetime) -> tuple[str, ReportFact | None]:
    summary = summarize(facts, at)
    status, column = classify(summary, at)
    return status, summary.reports.get(column) if column else None


def timeline(facts: Facts, until: datetime) -> list[Transition]:
    """Every change of status from the agreement's entry into force to `until`.

    The first entry is the status the obligation took at `effective_at` (from '').
    """
    transitions: list[Transition] = []
    current = ""
    for instant in _candidate_instants(facts, until):
        if instant < facts.effective_at:
            continue
        status, report = _status_at(facts, instant)
        if status != current:
            if report is None or report.occurred_at != instant:
                # A change at a report's instant is that report's doing even when an
                # older one decides the new status (a finding upholding a violation).
                report = _reported_at(facts, instant) or report
            transitions.append(Transition(instant, current, status, report))
            current = status
    return transitions


def _reported_at(facts: Facts, instant: datetime) -> ReportFact | None:
    """The report that occurred at `instant`, when a status changed then without one
    deciding the new status: a violation ended returns a term to `in_force`, which
    rests on no report, yet the ending report caused the change and is named."""
    return max((r for r in facts.reports if r.occurred_at == instant),
               key=lambda r: r.id or 0, default=None)


# ---------------------------------------------------------------- assessment

DISPUTED_BY_CLAIMS = "claims"
DISPUTED_TEXT = "text"


@dataclass(frozen=True)
class Assessment:
    at: datetime
    status: str
    status_since: datetime | None
    summary: Summary
    due_date: date | None = None
    due_at: datetime | None = None
    days_remaining: int | None = None
    days_overdue: int | None = None
    report: ReportFact | None = None
    term_ends_at: datetime | None = None
    notice_deadline: datetime | None = None
    next_change_at: datetime | None = None
    # When disputed: "text" (only some versions carry the term) or "claims"; else "".
    disputed_reason: str = ""
    # When disputed by claims: the reports of the cases in dispute (every account).
    accounts: tuple[ReportFact, ...] = ()
    # When a later agreement's relation ended the term (superseded or terminated).
    ending: EndingFact | None = None

    @property
    def unconfirmed(self) -> bool:
        """The status rests on a report marked unconfirmed."""
        return bool(self.report and self.report.unconfirmed)

    @property
    def report_id(self) -> int | None:
        """The id of the report that decided the status, when one did."""
        return self.report.id if self.report else None


def assess(
    facts: Facts,
    at: datetime,
    history: list[Transition] | None = None,
    *,
    with_history: bool = True,
) -> Assessment:
    """The status at `at` and what explains it. `history` may be passed in when the
    caller already has `timeline(facts, at)`, to avoid replaying twice. Without
    `with_history` the timeline is not replayed and `status_since` is None: counts and
    map markers need no more, and the replay costs several times the rest."""
    if history is None and with_history:
        history = timeline(facts, at)
    summary = summarize(facts, at)
    status, column = classify(summary, at)
    since = history[-1].at if history else None
    if history:
        # The timeline and the classification are the same rules; guard the invariant.
        assert history[-1].to_status == status, (history[-1], status)
    report = summary.reports.get(column) if column else None
    return describe(facts, summary, status, since, at, report)


def days_left(
    status: str, due_date: date | None, at: datetime, zone: ZoneInfo
) -> tuple[int | None, int | None]:
    """(days_remaining, days_overdue) at `at`, counted in local days; None when the
    status has no open deadline."""
    if not due_date or status not in (V.PENDING, V.DUE_SOON, V.OVERDUE):
        return None, None
    delta = (due_date - local_date(at, zone)).days
    if status == V.OVERDUE:
        return None, max(0, -delta)
    return max(0, delta), None


def _ending_of(facts: Facts, summary: Summary, status: str) -> EndingFact | None:
    """The relation that ended the term, when its ending is the status."""
    if status != summary.done_status or summary.done_at is None:
        return None
    if summary.ending is not None:
        return summary.ending
    # A stored summary keeps only the instant and the status: find the relation again.
    return next(
        (e for e in facts.endings if e.at == summary.done_at and e.status == status), None
    )


def describe(
    facts: Facts,
    summary: Summary,
    status: str,
    since: datetime | None,
    at: datetime,
    report: ReportFact | None = None,
) -> Assessment:
    """The assessment of `status` (held since `since`) at `at`, with what moves with
    the clock (days left, the running term's end) derived from `summary` and `facts`.
    `assess` builds it from the facts; a stored summary from the sweep gives the same
    (with no accounts of a dispute: those come from the facts)."""
    days_remaining, days_overdue = days_left(status, summary.due_date, at, facts.zone)
    ends = notice = None
    if facts.term and status not in (V.TERMINATED, *V.EVERY_KIND):
        ends, notice = term_end(facts, at), notice_deadline(facts, at)
    reason = ""
    if status == V.DISPUTED:
        reason = DISPUTED_TEXT if facts.text_dispute else DISPUTED_BY_CLAIMS
    return Assessment(
        at=at,
        status=status,
        status_since=since,
        summary=summary,
        due_date=summary.due_date,
        due_at=summary.due_at,
        days_remaining=days_remaining,
        days_overdue=days_overdue,
        report=report,
        term_ends_at=ends,
        notice_deadline=notice,
        next_change_at=next_change(summary, at),
        disputed_reason=reason,
        accounts=summary.accounts if reason == DISPUTED_BY_CLAIMS else (),
        ending=_ending_of(facts, summary, status),
    )
