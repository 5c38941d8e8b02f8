"""Assess an obligation at any instant from its facts alone. Pure: no I/O, no clock.

Where a status comes from, in one place:

1. `summarize(facts, known_at)` reduces the facts that held at `known_at` (deadline
   changes from their `agreed_at`, reports from their `occurred_at`) to a handful of
   threshold instants: when it is due, when the warning window opens, when it became
   active, when a still-open violation began, when it was done and how.
2. `classify(summary, at)` walks `RULES` in order: the first threshold that has passed
   gives the status; none gives `pending`. `deadlines.classify` builds the same rules
   as one SQL CASE, so the sweep can store statuses for a million rows in one statement.
3. `timeline(facts, until)` evaluates (1)+(2) at every instant where anything could
   change; `assess(facts, at)` reads the status at `at` off that timeline, so the
   stored status, the history and `as_of` answers can never disagree.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass, field, replace
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
    done_at: datetime | None = None
    done_status: str = ""
    # The facts it was built from: valid for instants in [facts_from, facts_until).
    facts_from: datetime | None = None
    facts_until: datetime | None = None
    # Which report decided each threshold, to explain a status.
    reports: dict[str, ReportFact] = field(default_factory=dict, compare=False)


# (threshold column, status it gives, or None to read the status from `<name>_status`)
RULES: tuple[tuple[str, str | None], ...] = (
    ("done_at", None),
    ("violated_at", V.VIOLATED),
    ("due_at", V.OVERDUE),
    ("due_soon_at", V.DUE_SOON),
    ("active_at", None),
)
THRESHOLDS = tuple(column for column, _ in RULES)


def _fact_instants(facts: Facts) -> list[datetime]:
    return [c.agreed_at for c in facts.changes] + [r.occurred_at for r in facts.reports]


def deadline_in_force(facts: Facts, at: datetime) -> date | None:
    """The due date agreed last among the changes agreed by `at`."""
    held = [c for c in facts.changes if c.agreed_at <= at]
    if not held:
        return facts.original_due_date
    return max(held, key=lambda c: (c.agreed_at, c.id or 0)).due_date


def _first(reports: list[ReportFact], claim: str) -> ReportFact | None:
    matching = [r for r in reports if r.claim == claim]
    return min(matching, key=lambda r: (r.occurred_at, r.id or 0)) if matching else None


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


def _summarize_deadline(
    facts: Facts, known_at: datetime, reports: list[ReportFact], s: Summary
) -> Summary:
    """Due at the deadline in force at `known_at`, warned before it, done by a report."""
    explain: dict[str, ReportFact] = {}
    due = deadline_in_force(facts, known_at)
    due_at = due_instant(due, facts.zone) if due else None
    soon = (
        local_midnight(due + timedelta(days=1 - facts.warning_days), facts.zone)
        if due and facts.warning_days > 0
        else None
    )
    s = replace(s, due_date=due, due_at=due_at, due_soon_at=soon)
    done = _first(reports, V.CLAIM_COMPLETED)
    if done:
        # On time means before the due instant of the deadline in force when it happened.
        in_force = deadline_in_force(facts, done.occurred_at)
        late = in_force is not None and done.occurred_at >= due_instant(in_force, facts.zone)
        s = replace(
            s,
            done_at=done.occurred_at,
            done_status=V.COMPLETED_LATE if late else V.COMPLETED,
        )
        explain["done_at"] = done
    progress = _first(reports, V.CLAIM_PROGRESS)
    if progress:
        explain["progress"] = progress
    return replace(s, reports=explain)


def _open_violation(reports: list[ReportFact]) -> ReportFact | None:
    """The violation still open after `reports`: the first one after the last end."""
    open_violation: ReportFact | None = None
    for r in reports:
        if r.claim == V.CLAIM_VIOLATION and open_violation is None:
            open_violation = r
        elif r.claim == V.CLAIM_VIOLATION_ENDED:
            open_violation = None
    return open_violation


def _summarize_ongoing(
    facts: Facts, known_at: datetime, reports: list[ReportFact], s: Summary
) -> Summary:
    """In force from its start until the first of its end, its term's end or a reported
    termination; violated while a reported violation is open."""
    explain: dict[str, ReportFact] = {}
    start = facts.starts_at or facts.effective_at
    s = replace(s, active_at=start, active_status=V.IN_FORCE)
    ends: list[tuple[datetime, ReportFact | None]] = []
    if facts.ends_at:
        ends.append((facts.ends_at, None))
    if facts.term and not facts.term.renews_years:
        ends.append((_end_of(facts.term, facts, start), None))
    termination = _first(reports, V.CLAIM_TERMINATED)
    if termination:
        ends.append((termination.occurred_at, termination))
    if ends:
        end_at, end_report = min(ends, key=lambda e: e[0])
        s = replace(s, done_at=end_at, done_status=V.TERMINATED)
        if end_report:
            explain["done_at"] = end_report
    violation = _open_violation(reports)
    if violation:
        s = replace(s, violated_at=violation.occurred_at)
        explain["violated_at"] = violation
    return replace(s, reports=explain)


def _summarize_open(
    facts: Facts, known_at: datetime, reports: list[ReportFact], s: Summary
) -> Summary:
    """In progress from the first progress report, completed at the first completion."""
    explain: dict[str, ReportFact] = {}
    progress = _first(reports, V.CLAIM_PROGRESS)
    if progress:
        s = replace(s, active_at=progress.occurred_at, active_status=V.IN_PROGRESS)
        explain["active_at"] = progress
    done = _first(reports, V.CLAIM_COMPLETED)
    if done:
        s = replace(s, done_at=done.occurred_at, done_status=V.COMPLETED)
        explain["done_at"] = done
    return replace(s, reports=explain)


_SUMMARIZE_BY_KIND: dict[
    str, Callable[[Facts, datetime, list[ReportFact], Summary], Summary]
] = {
    V.DEADLINE: _summarize_deadline,
    V.ONGOING: _summarize_ongoing,
    V.OPEN: _summarize_open,
}


def summarize(facts: Facts, known_at: datetime) -> Summary:
    """The facts held at `known_at` reduced to thresholds, by the rules of its kind."""
    by_kind = _SUMMARIZE_BY_KIND.get(facts.kind)
    if by_kind is None:
        raise ValueError(f"unknown obligation kind {facts.kind!r}")
    instants = _fact_instants(facts)
    held_from = max((i for i in instants if i <= known_at), default=None)
    held_until = min((i for i in instants if i > known_at), default=None)
    reports = sorted(
        (r for r in facts.reports if r.occurred_at <= known_at),
        key=lambda r: (r.occurred_at, r.id or 0),
    )
    return by_kind(facts, known_at, reports, Summary(facts_from=held_from, facts_until=held_until))


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
            transitions.append(
                Transition(instant, current, status, report or _reported_at(facts, instant))
            )
            current = status
    return transitions


def _reported_at(facts: Facts, instant: datetime) -> ReportFact | None:
    """The report that occurred at `instant`, when a status changed then without one
    deciding the new status: a violation ended returns a term to `in_force`, which
    rests on no report, yet the ending report caused the change and is named."""
    return max((r for r in facts.reports if r.occurred_at == instant),
               key=lambda r: r.id or 0, default=None)


# ---------------------------------------------------------------- assessment


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
    `assess` builds it from the facts; a stored summary from the sweep gives the same."""
    days_remaining, days_overdue = days_left(status, summary.due_date, at, facts.zone)
    ends = notice = None
    if facts.term and status != V.TERMINATED:
        ends, notice = term_end(facts, at), notice_deadline(facts, at)
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
    )
