"""Party scores: how each party's standing on each term becomes a figure (docs/method.md).

Nobody types a score. At an instant, each party's standing on each term
(`deadlines.engine.standings`) earns points by `POINTS`, on a 0-3 scale like the Peace
Accords Matrix's implementation scale; standings that say nothing of a party's
compliance (not yet due, disputed, superseded, overtaken, ended early) are not scored
and carry the reason. A party's score is the mean of its scored terms.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from django.utils.translation import gettext_lazy as _

from deadlines import engine
from tracker import naming
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, Obligation, Party
from tracker.statuses import facts_for

# The method's table (docs/method.md): a responsible party's standing → points.
POINTS: dict[str, int] = {
    V.COMPLETED: 3,
    V.IN_FORCE: 3,
    V.COMPLETED_LATE: 2,
    V.IN_PROGRESS: 2,
    V.OVERDUE: 0,
    V.VIOLATED: 0,
}

# Why a term is scored as it is, or not scored (the `reason` of a TermScore).
SCORED = "scored"
ACTOR_BREACH = "actor_breach"  # a breach by a party the term does not bind: 0, marked
NOT_RESPONSIBLE = "not_responsible"  # such a party with no breach open: not scored
NOT_DUE = "not_due"  # pending or due soon: nothing to judge yet
DISPUTED_CLAIMS = "disputed_claims"
DISPUTED_TEXT = "disputed_text"
REASON_LABELS = {
    SCORED: _("Scored by its status"),
    ACTOR_BREACH: _("Breach by a party the term does not bind"),
    NOT_RESPONSIBLE: _("Not bound by the term and no breach open"),
    NOT_DUE: _("Not yet due"),
    DISPUTED_CLAIMS: _("Published claims conflict"),
    DISPUTED_TEXT: _("Only some versions of the text carry it"),
    V.SUPERSEDED: _("Superseded by a later instrument"),
    V.OVERTAKEN: _("Overtaken by events"),
    V.TERMINATED: _("Ended"),
}


@dataclass(frozen=True)
class TermScore:
    obligation_id: int
    agreement_slug: str
    obligation_slug: str
    party: str
    status: str
    points: int | None
    responsible: bool
    reason: str
    report_id: int | None


@dataclass(frozen=True)
class PartyScore:
    party: str
    name: str
    score: float | None
    terms: tuple[TermScore, ...]


def term_score(
    obligation: Obligation, facts: engine.Facts, standing: engine.Standing
) -> TermScore:
    """One party's points on one term, by the method's table."""
    status = standing.status
    if not standing.responsible:
        points, reason = (0, ACTOR_BREACH) if standing.charged else (None, NOT_RESPONSIBLE)
    elif status in POINTS:
        points, reason = POINTS[status], SCORED
    elif status == V.DISPUTED:
        points, reason = None, DISPUTED_TEXT if facts.text_dispute else DISPUTED_CLAIMS
    elif status in (V.SUPERSEDED, V.OVERTAKEN, V.TERMINATED):
        points, reason = None, status
    else:  # pending, due_soon
        points, reason = None, NOT_DUE
    return TermScore(
        obligation_id=obligation.pk,
        agreement_slug=obligation.agreement.slug,
        obligation_slug=obligation.slug,
        party=standing.party,
        status=status,
        points=points,
        responsible=standing.responsible,
        reason=reason,
        report_id=standing.report.id if standing.report else None,
    )


def mean_score(terms: Iterable[TermScore]) -> float | None:
    """The mean of the scored terms' points; None when none is scored."""
    points = [t.points for t in terms if t.points is not None]
    return sum(points) / len(points) if points else None


def _obligations(agreement: Agreement | None):
    qs = Obligation.objects.all()
    if agreement is not None:
        qs = qs.filter(agreement=agreement)
    return qs.order_by("agreement__signed_at", "agreement_id", "position", "id")


def _terms_at(
    rows: list[tuple[Obligation, engine.Facts]], at_of: dict[int, datetime]
) -> dict[str, list[TermScore]]:
    by_party: dict[str, list[TermScore]] = defaultdict(list)
    for o, facts in rows:
        if at_of[o.agreement_id] < facts.effective_at:
            continue  # not yet in force: nobody's term
        for standing in engine.standings(facts, at_of[o.agreement_id]).values():
            by_party[standing.party].append(term_score(o, facts, standing))
    return by_party


def party_scores(at: AsOf, agreement: Agreement | None = None,
                 zone: ZoneInfo | None = None) -> list[PartyScore]:
    """Every party's score at `at`, with its terms (per agreement when given), by name:
    the name at `at` (`tracker.naming`; a date read in `zone`, by default the
    agreement's, or UTC across agreements). A fixed number of queries, whatever the
    number of terms."""
    rows = facts_for(_obligations(agreement), at.known)
    at_of = {o.agreement_id: at.at(o.agreement.zone) for o, _ in rows}
    by_party = _terms_at(rows, at_of)
    names_at = naming.instant(at, zone or (agreement.zone if agreement else ZoneInfo("UTC")))
    names = {p.slug: naming.name_at(p, names_at)
             for p in Party.objects.filter(slug__in=by_party)}
    scores = [
        PartyScore(slug, names.get(slug, slug), mean_score(terms), tuple(terms))
        for slug, terms in by_party.items()
    ]
    return sorted(scores, key=lambda s: (s.name, s.party))


def _month_starts(start: datetime, end: datetime, zone: ZoneInfo) -> list[datetime]:
    """The first instant of every month (local to `zone`) in [start, end]."""
    local = start.astimezone(zone)
    day = date(local.year, local.month, 1)
    found = []
    while True:
        at = engine.local_midnight(day, zone)
        if at > end:
            return found
        if at >= start:
            found.append(at)
        day = date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _concerning(
    rows: list[tuple[Obligation, engine.Facts]], party: str
) -> list[tuple[Obligation, engine.Facts]]:
    """The terms a party can have a standing on: it is responsible, or a report names it."""
    return [
        (o, f) for o, f in rows
        if party in f.responsible or any(party in r.actors for r in f.reports)
    ]


def score_series(
    party_slug: str, start: datetime, end: datetime, agreement: Agreement | None = None,
    *, known_at: datetime | None = None,
) -> list[tuple[datetime, float | None]]:
    """The party's score on the first of every month from `start` to `end` (00:00 in
    the agreement's zone; UTC across agreements), from the facts known at `known_at`."""
    rows = _concerning(facts_for(_obligations(agreement), known_at), party_slug)
    zone = agreement.zone if agreement is not None else ZoneInfo("UTC")
    series = []
    for at in _month_starts(start, end, zone):
        terms = _terms_at(rows, defaultdict(lambda at=at: at)).get(party_slug, [])
        series.append((at, mean_score(terms)))
    return series


def score_moves(
    party_slug: str, start: datetime, end: datetime, agreement: Agreement | None = None,
    *, known_at: datetime | None = None,
) -> list[tuple[datetime, str, int]]:
    """(instant, status, obligation id) for each time in [start, end] the party's
    standing on a term became a breach or `disputed`: the markers on its score chart."""
    moves = []
    for o, facts in _concerning(facts_for(_obligations(agreement), known_at), party_slug):
        for t in engine.party_timeline(facts, party_slug, end):
            if start <= t.at and t.to_status in (*V.BREACHES, V.DISPUTED):
                moves.append((t.at.astimezone(UTC), t.to_status, o.pk))
    return sorted(moves)
