"""Read an obligation's facts from the database into the engine's plain values."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db.models import Prefetch, Q, QuerySet

from deadlines import engine
from tracker import vocabulary as V
from tracker.models import AgreementRelation, DeadlineChange, Obligation, Party, Report


def fact_reports() -> QuerySet[Report]:
    """Reports the engine counts: published, not superseded, not retractions."""
    return Report.objects.filter(
        review_state=V.PUBLISHED, superseded_at__isnull=True, retracts=False
    )


def fact_changes() -> QuerySet[DeadlineChange]:
    return DeadlineChange.objects.filter(review_state=V.PUBLISHED)


def ending_relations() -> QuerySet[AgreementRelation]:
    """Relations that end the terms they point at (supersedes, terminates), with the
    replacement's slugs."""
    return AgreementRelation.objects.filter(kind__in=list(V.RELATION_ENDINGS)).select_related(
        "replacement__agreement"
    ).only(
        "id", "kind", "at", "target_id", "target_agreement_id",
        "replacement__slug", "replacement__agreement__slug",
    )


def with_facts(queryset: QuerySet[Obligation]) -> QuerySet[Obligation]:
    """Prefetch what `facts_of` reads, in a fixed number of queries for any number of
    obligations: changes, reports (with their claimant) and their actors, responsible
    parties, and the relations ending a term or its whole agreement."""
    return queryset.select_related("agreement").prefetch_related(
        Prefetch(
            "deadline_changes",
            queryset=fact_changes().only("id", "obligation_id", "due_date", "agreed_at"),
            to_attr="fact_changes",
        ),
        Prefetch(
            "reports",
            queryset=fact_reports()
            .select_related("claimant")
            .only(
                "id", "obligation_id", "claim", "occurred_at", "unconfirmed", "contests_id",
                "claimant__slug", "claimant__kind",
            )
            .prefetch_related(
                Prefetch("actors", queryset=Party.objects.only("id", "slug"), to_attr="fact_actors")
            ),
            to_attr="fact_reports",
        ),
        Prefetch(
            "responsible", queryset=Party.objects.only("id", "slug"), to_attr="fact_responsible"
        ),
        Prefetch("ended_by", queryset=ending_relations(), to_attr="fact_ended_by"),
        Prefetch(
            "agreement__followed_by",
            queryset=ending_relations().filter(target__isnull=True),
            to_attr="fact_ended_whole",
        ),
    )


def report_fact(r: Any) -> engine.ReportFact:
    """A Report (from `with_facts` or queried) as the engine's fact; an engine fact as is."""
    if isinstance(r, engine.ReportFact):
        return r
    actors = getattr(r, "fact_actors", None)
    if actors is None:
        actors = list(r.actors.all())
    claimant = r.claimant
    return engine.ReportFact(
        claim=r.claim,
        occurred_at=r.occurred_at,
        id=r.id,
        unconfirmed=r.unconfirmed,
        actors=frozenset(p.slug for p in actors),
        claimant=claimant.slug if claimant else "",
        finding=bool(claimant and claimant.kind == V.CLAIMANT_TRACKER),
        contests=r.contests_id,
    )


def ending_fact(relation: AgreementRelation) -> engine.EndingFact:
    replacement = relation.replacement
    return engine.EndingFact(
        status=V.RELATION_ENDINGS[relation.kind],
        at=relation.at,
        relation_id=relation.pk,
        replacement=f"{replacement.agreement.slug}/{replacement.slug}" if replacement else "",
    )


def endings_of(obligation: Obligation) -> tuple[engine.EndingFact, ...]:
    """The relations ending this term: those naming it, and those ending its agreement
    as a whole (prefetched by `with_facts`, set as `fact_endings`, or queried)."""
    ready = getattr(obligation, "fact_endings", None)
    if ready is not None:
        return tuple(ready)
    targeted = getattr(obligation, "fact_ended_by", None)
    whole = getattr(obligation.agreement, "fact_ended_whole", None)
    if targeted is None or whole is None:
        relations: Iterable[AgreementRelation] = ending_relations().filter(
            Q(target=obligation)
            | Q(target__isnull=True, target_agreement_id=obligation.agreement_id)
        )
    else:
        relations = [*targeted, *whole]
    return tuple(
        sorted((ending_fact(r) for r in relations), key=lambda e: (e.at, e.relation_id or 0))
    )


def responsible_of(obligation: Obligation) -> frozenset[str]:
    parties = getattr(obligation, "fact_responsible", None)
    if parties is None:
        parties = list(obligation.responsible.all())
    return frozenset(p.slug for p in parties)


def facts_of(obligation: Obligation, *, dated: bool = True) -> engine.Facts:
    """The engine's view of one obligation (prefetched by `with_facts`, or queried).
    Without `dated`: its dates, term and text dispute only, no changes, reports or
    parties (no query), which is all a stored summary needs to be described at an
    instant (with the endings, when prefetched, to name the relation that ended it)."""
    changes = getattr(obligation, "fact_changes", None) if dated else ()
    if changes is None:
        changes = list(fact_changes().filter(obligation=obligation))
    reports = getattr(obligation, "fact_reports", None) if dated else ()
    if reports is None:
        reports = list(
            fact_reports().filter(obligation=obligation)
            .select_related("claimant").prefetch_related("actors")
        )
    if dated:
        responsible, endings = responsible_of(obligation), endings_of(obligation)
    else:
        responsible = frozenset()
        prefetched = hasattr(obligation, "fact_endings") or (
            hasattr(obligation, "fact_ended_by")
            and hasattr(obligation.agreement, "fact_ended_whole")
        )
        endings = endings_of(obligation) if prefetched else ()
    agreement = obligation.agreement
    term = None
    if obligation.term_years:
        term = engine.Term(
            years=obligation.term_years,
            renews_years=obligation.renews_years,
            notice_months=obligation.notice_months,
        )
    return engine.Facts(
        kind=obligation.kind,
        zone=agreement.zone,
        effective_at=agreement.effective_at,
        warning_days=agreement.warning_days,
        original_due_date=obligation.original_due_date or obligation.due_date,
        starts_at=obligation.starts_at,
        ends_at=obligation.ends_at,
        term=term,
        changes=tuple(
            c if isinstance(c, engine.DeadlineChangeFact)
            else engine.DeadlineChangeFact(due_date=c.due_date, agreed_at=c.agreed_at, id=c.id)
            for c in changes
        ),
        reports=tuple(report_fact(r) for r in reports),
        responsible=responsible,
        text_dispute=bool(getattr(obligation, "text_dispute", "")),
        endings=endings,
    )
