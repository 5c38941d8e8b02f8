"""What an obligation's representation says of its claims at the answered instant: each
party's standing, the accounts of a dispute, and how the term ended. All three come
from the engine (`deadlines.engine.standings`, `Assessment.accounts/ending`); this
module reads what they need for a page of obligations in a fixed number of queries and
puts them in their JSON shape (the addresses are the serializer's).

Now (no `as_of`), a status is the sweep's stored one, which carries no accounts and no
report: the terms whose stored status is a dispute or an ending are assessed again from
their facts at the same instant (the sweep stores `assess(now)`, so both agree).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from django.utils.translation import gettext_lazy as _

from deadlines import engine
from deadlines.facts import facts_of, with_facts
from tracker import vocabulary as V
from tracker.api.relations import date_text, instant_text
from tracker.instants import AsOf
from tracker.models import AgreementRelation, Obligation, Report

# The statuses that end a term without completing it: `ending` says how and why.
ENDINGS = (V.SUPERSEDED, V.OVERTAKEN, V.TERMINATED)
DISPUTE_REASONS = {
    engine.DISPUTED_BY_CLAIMS: _("Published claims conflict and no editorial finding "
                                 "settles them"),
    engine.DISPUTED_TEXT: _("The term exists only in some versions of the text"),
}
ENDING_CAUSES = {
    "relation": _("A later agreement ended it"),
    "report": _("A reported fact ended it"),
    "term": _("Its term ran out"),
}


@dataclass
class Claims:
    """One obligation's engine-derived fields, in their JSON shape (addresses aside)."""

    standings: list[dict] = field(default_factory=list)
    dispute: dict | None = None
    ending: dict | None = None


def _label(status: str) -> str:
    return str(V.STATUS_LABELS.get(status, status))


def _facts_of(rows: Sequence[Obligation], asof: AsOf) -> dict[int, engine.Facts]:
    """Each row's facts (as known at `asof.known`): those `with_facts` or
    `statuses.states_for` already read onto the rows, else read for all at once."""
    missing = [o.pk for o in rows if not hasattr(o, "fact_reports")]
    fetched = (
        {o.pk: o for o in with_facts(Obligation.objects.filter(pk__in=missing), asof.known)}
        if missing else {}
    )
    return {o.pk: facts_of(fetched.get(o.pk, o)) for o in rows}


def claims_for(
    rows: Sequence[Obligation], states: dict[int, engine.Assessment], asof: AsOf
) -> dict[int, Claims]:
    """The standings, dispute and ending of each obligation of `rows` at `asof`, whose
    statuses are `states` (from `tracker.statuses.states_for`)."""
    out = {o.pk: Claims() for o in rows}
    if not rows:
        return out
    facts = _facts_of(rows, asof)
    explained: dict[int, engine.Assessment] = {}
    for o in rows:
        state = states[o.pk]
        at = state.at
        out[o.pk].standings = [
            {"party": s.party, "status": s.status, "status_label": _label(s.status),
             "responsible": s.responsible, "charged": s.charged,
             "report": s.report.id if s.report else None}
            for s in engine.standings(facts[o.pk], at).values()
        ]
        if state.status == V.DISPUTED or state.status in ENDINGS:
            # The stored status carries no accounts or report: ask the engine again.
            explained[o.pk] = state if asof.explicit else engine.assess(
                facts[o.pk], at, with_history=False)
    report_ids = {r.id for a in explained.values() for r in a.accounts if r.id}
    report_ids |= {a.report.id for a in explained.values() if a.report and a.report.id}
    reports = _reports(report_ids)
    relation_ids = {a.ending.relation_id for a in explained.values()
                    if a.ending and a.ending.relation_id}
    relations = AgreementRelation.objects.select_related(
        "replacement__agreement").in_bulk(relation_ids) if relation_ids else {}
    for o in rows:
        assessment = explained.get(o.pk)
        if assessment is None:
            continue
        if assessment.status == V.DISPUTED:
            out[o.pk].dispute = _dispute(o, assessment, reports)
        else:
            out[o.pk].ending = _ending(assessment, reports, relations)
    return out


def _reports(ids: set[int]) -> dict[int, dict]:
    """Reports as an account shows them: claim, when, whose act, who says so, sources."""
    if not ids:
        return {}
    found = Report.objects.filter(pk__in=ids).select_related("claimant").prefetch_related(
        "actors", "sources")
    return {r.pk: account(r) for r in found}


def account(r: Report) -> dict:
    claimant = r.claimant
    return {
        "id": r.pk,
        "claim": r.claim,
        "claim_label": str(dict(V.CLAIMS).get(r.claim, r.claim)),
        "occurred_at": instant_text(r.occurred_at),
        "summary": r.summary,
        "actors": sorted(p.slug for p in r.actors.all()),
        "claimant": None if claimant is None
        else {"slug": claimant.slug, "name": claimant.name, "kind": claimant.kind},
        "finding": claimant is not None and claimant.kind == V.CLAIMANT_TRACKER,
        "contests": r.contests_id,
        "unconfirmed": r.unconfirmed,
        "sources": [
            {"id": s.pk, "key": s.key, "url": s.url, "publisher": s.publisher,
             "title": s.title, "published_at": date_text(s.published_at),
             "language": s.language}
            for s in sorted(r.sources.all(), key=_source_order)
        ],
    }


def _source_order(s) -> tuple:
    # As Source's own ordering (publisher, date, key); an undated one last.
    return (s.publisher, s.published_at is None, s.published_at or date.min, s.key)


def _dispute(o: Obligation, a: engine.Assessment, reports: dict[int, dict]) -> dict:
    reason = a.disputed_reason
    return {
        "reason": reason,
        "reason_label": str(DISPUTE_REASONS.get(reason, reason)),
        "since": instant_text(a.summary.disputed_at),
        "text": o.text_dispute if reason == engine.DISPUTED_TEXT else "",
        "accounts": [reports[r.id] for r in a.accounts if r.id in reports],
    }


def _ending(a: engine.Assessment, reports: dict[int, dict],
            relations: dict[int, AgreementRelation]) -> dict:
    relation = (
        relations.get(a.ending.relation_id) if a.ending and a.ending.relation_id else None
    )
    report = reports.get(a.report.id) if a.report and a.report.id and not a.ending else None
    by = "relation" if a.ending else "report" if report else "term"
    replacement = relation.replacement if relation is not None else None
    return {
        "status": a.status,
        "status_label": _label(a.status),
        "at": instant_text(a.summary.done_at),
        "by": by,
        "by_label": str(ENDING_CAUSES[by]),
        "cause": (relation.note if relation is not None else report["summary"] if report
                  else ""),
        "report": report["id"] if report else None,
        "relation": relation.pk if relation is not None else None,
        "replacement": None if replacement is None else {
            "id": replacement.pk, "agreement": replacement.agreement.slug,
            "slug": replacement.slug, "title": replacement.title,
        },
    }
