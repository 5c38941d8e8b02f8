"""Read an obligation's facts from the database into the engine's plain values.

`known_at` (None: everything published so far) selects the facts the tracker had
published by that instant, as they then stood: a report published later is left out,
and a report superseded (corrected or retracted) later still counts, since the
correction had not yet been published. The engine itself never sees publication times.
"""

from __future__ import annotations

from datetime import datetime

from django.db.models import Exists, OuterRef, Prefetch, Q, QuerySet

from deadlines import engine
from tracker import vocabulary as V
from tracker.models import AgreementRelation, DeadlineChange, Obligation, Report


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


def with_facts(
    queryset: QuerySet[Obligation], known_at: datetime | None = None
) -> QuerySet[Obligation]:
    """Prefetch what `facts_of` reads: two queries for any number of obligations."""
    return queryset.select_related("agreement").prefetch_related(
        Prefetch(
            "deadline_changes",
            queryset=fact_changes(known_at).only("id", "obligation_id", "due_date", "agreed_at"),
            to_attr="fact_changes",
        ),
        Prefetch(
            "reports",
            queryset=fact_reports(known_at).only(
                "id", "obligation_id", "claim", "occurred_at", "unconfirmed"
            ),
            to_attr="fact_reports",
        ),
    )


def facts_of(
    obligation: Obligation, *, dated: bool = True, known_at: datetime | None = None
) -> engine.Facts:
    """The engine's view of one obligation (prefetched by `with_facts`, or queried, as
    known at `known_at`). Without `dated`: its dates and term only, no changes or
    reports (no query), which is all a stored summary needs to be described at an
    instant."""
    changes = getattr(obligation, "fact_changes", None) if dated else ()
    if changes is None:
        changes = list(fact_changes(known_at).filter(obligation=obligation))
    reports = getattr(obligation, "fact_reports", None) if dated else ()
    if reports is None:
        reports = list(fact_reports(known_at).filter(obligation=obligation))
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
            engine.DeadlineChangeFact(due_date=c.due_date, agreed_at=c.agreed_at, id=c.id)
            for c in changes
        ),
        reports=tuple(
            engine.ReportFact(
                claim=r.claim, occurred_at=r.occurred_at, id=r.id, unconfirmed=r.unconfirmed
            )
            for r in reports
        ),
    )


def learned_after(known_at: datetime) -> Q:
    """Obligations with a fact published, corrected or retracted after `known_at`: their
    stored summary (built from today's facts) does not tell what was known then."""
    reports = Report.objects.filter(review_state=V.PUBLISHED).filter(
        Q(published_at__gt=known_at) | Q(superseded_at__gt=known_at)
    )
    changes = DeadlineChange.objects.filter(review_state=V.PUBLISHED, published_at__gt=known_at)
    relations = AgreementRelation.objects.filter(published_at__gt=known_at)
    return (
        Q(Exists(reports.filter(obligation=OuterRef("pk"))))
        | Q(Exists(changes.filter(obligation=OuterRef("pk"))))
        | Q(Exists(relations.filter(target=OuterRef("pk"))))
        | Q(Exists(relations.filter(target__isnull=True,
                                    target_agreement=OuterRef("agreement_id"))))
    )
