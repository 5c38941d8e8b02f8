"""Read an obligation's facts from the database into the engine's plain values.

`known_at` (None: everything published so far) selects the facts the tracker had
published by that instant, as they then stood: a report published later is left out,
and a report superseded (corrected or retracted) later still counts, since the
correction had not yet been published. The engine itself never sees publication times.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from deadlines import engine
from tracker import vocabulary as V
from tracker.models import AgreementRelation, DeadlineChange, Obligation, Party, Report


def published_by(known_at: datetime | None) -> Q:
    """Facts published by `known_at` (a fact with no publication time counts as always
    published). None: no condition."""
    if known_at is None:
        return Q()
    return Q(published_at__isnull=True) | Q(published_at__lte=known_at)


def fact_reports(known_at: datetime | None = None) -> QuerySet[Report]:
    """Reports the engine counts: published (by `known_at`), not superseded (by then),
    not retractions."""
    if known_at is None:
        standing = Q(superseded_at__isnull=True)
    else:
        standing = Q(published_at__lte=known_at) & (
            Q(superseded_at__isnull=True) | Q(superseded_at__gt=known_at)
        )
    return Report.objects.filter(standing, review_state=V.PUBLISHED, retracts=False)


def fact_changes(known_at: datetime | None = None) -> QuerySet[DeadlineChange]:
    return DeadlineChange.objects.filter(published_by(known_at), review_state=V.PUBLISHED)


def ending_relations(known_at: datetime | None = None) -> QuerySet[AgreementRelation]:
    """Relations (published by `known_at`) that end the terms they point at (supersedes,
    terminates), with the replacement's slugs."""
    return AgreementRelation.objects.filter(
        published_by(known_at), kind__in=list(V.RELATION_ENDINGS)
    ).select_related(
        "replacement__agreement"
    ).only(
        "id", "kind", "at", "target_id", "target_agreement_id",
        "replacement__slug", "replacement__agreement__slug",
    )


def with_facts(
    queryset: QuerySet[Obligation], known_at: datetime | None = None
) -> QuerySet[Obligation]:
    """Prefetch what `facts_of` reads, in a fixed number of queries for any number of
    obligations: changes, reports (with their claimant) and their actors, responsible
    parties, and the relations ending a term or its whole agreement."""
    return queryset.select_related("agreement").prefetch_related(
        Prefetch(
            "deadline_changes",
            queryset=fact_changes(known_at).only("id", "obligation_id", "due_date", "agreed_at"),
            to_attr="fact_changes",
        ),
        Prefetch(
            "reports",
            queryset=fact_reports(known_at)
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
        Prefetch("ended_by", queryset=ending_relations(known_at), to_attr="fact_ended_by"),
        Prefetch(
            "agreement__followed_by",
            queryset=ending_relations(known_at).filter(target__isnull=True),
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


def endings_of(
    obligation: Obligation, known_at: datetime | None = None
) -> tuple[engine.EndingFact, ...]:
    """The relations ending this term: those naming it, and those ending its agreement
    as a whole (prefetched by `with_facts`, set as `fact_endings`, or queried)."""
    ready = getattr(obligation, "fact_endings", None)
    if ready is not None:
        return tuple(ready)
    targeted = getattr(obligation, "fact_ended_by", None)
    whole = getattr(obligation.agreement, "fact_ended_whole", None)
    if targeted is None or whole is None:
        relations: Iterable[AgreementRelation] = ending_relations(known_at).filter(
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


def facts_of(
    obligation: Obligation, *, dated: bool = True, known_at: datetime | None = None
) -> engine.Facts:
    """The engine's view of one obligation (prefetched by `with_facts`, or queried, as
    known at `known_at`).
    Without `dated`: its dates, term and text dispute only, no changes, reports or
    parties (no query), which is all a stored summary needs to be described at an
    instant (with the endings, when prefetched, to name the relation that ended it)."""
    changes = getattr(obligation, "fact_changes", None) if dated else ()
    if changes is None:
        changes = list(fact_changes(known_at).filter(obligation=obligation))
    reports = getattr(obligation, "fact_reports", None) if dated else ()
    if reports is None:
        reports = list(
            fact_reports(known_at).filter(obligation=obligation)
            .select_related("claimant").prefetch_related("actors")
        )
    if dated:
        responsible, endings = responsible_of(obligation), endings_of(obligation, known_at)
    else:
        responsible = frozenset()
        prefetched = hasattr(obligation, "fact_endings") or (
            hasattr(obligation, "fact_ended_by")
            and hasattr(obligation.agreement, "fact_ended_whole")
        )
        endings = endings_of(obligation, known_at) if prefetched else ()
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


def learned_after(
    known_at: datetime, *, term: str = "pk", agreement: str = "agreement_id",
    until: Any = None,
) -> Q:
    """Obligations with a fact published, corrected or retracted after `known_at`: their
    stored summary (built from today's facts) does not tell what was known then.

    `term` and `agreement` name the obligation's pk and its agreement's in the outer
    query (another model's rows, such as status events, may ask about their term);
    `until` (an expression of the outer query) bounds "after" to what was learned by
    then."""
    def window(field: str) -> Q:
        later = Q(**{f"{field}__gt": known_at})
        return later if until is None else later & Q(**{f"{field}__lte": until})

    reports = Report.objects.filter(review_state=V.PUBLISHED).filter(
        window("published_at") | window("superseded_at")
    )
    changes = DeadlineChange.objects.filter(window("published_at"), review_state=V.PUBLISHED)
    relations = AgreementRelation.objects.filter(window("published_at"))
    return (
        Q(Exists(reports.filter(obligation=OuterRef(term))))
        | Q(Exists(changes.filter(obligation=OuterRef(term))))
        | Q(Exists(relations.filter(target=OuterRef(term))))
        | Q(Exists(relations.filter(target__isnull=True,
                                    target_agreement=OuterRef(agreement))))
    )
