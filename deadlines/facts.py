"""Read an obligation's facts from the database into the engine's plain values."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from deadlines import engine
from tracker import vocabulary as V
from tracker.models import DeadlineChange, Obligation, Report


def fact_reports() -> QuerySet[Report]:
    """Reports the engine counts: published, not superseded, not retractions."""
    return Report.objects.filter(
        review_state=V.PUBLISHED, superseded_at__isnull=True, retracts=False
    )


def fact_changes() -> QuerySet[DeadlineChange]:
    return DeadlineChange.objects.filter(review_state=V.PUBLISHED)


def with_facts(queryset: QuerySet[Obligation]) -> QuerySet[Obligation]:
    """Prefetch what `facts_of` reads: two queries for any number of obligations."""
    return queryset.select_related("agreement").prefetch_related(
        Prefetch(
            "deadline_changes",
            queryset=fact_changes().only("id", "obligation_id", "due_date", "agreed_at"),
            to_attr="fact_changes",
        ),
        Prefetch(
            "reports",
            queryset=fact_reports().only(
                "id", "obligation_id", "claim", "occurred_at", "unconfirmed"
            ),
            to_attr="fact_reports",
        ),
    )


def facts_of(obligation: Obligation, *, dated: bool = True) -> engine.Facts:
    """The engine's view of one obligation (prefetched by `with_facts`, or queried).
    Without `dated`: its dates and term only, no changes or reports (no query), which
    is all a stored summary needs to be described at an instant."""
    changes = getattr(obligation, "fact_changes", None) if dated else ()
    if changes is None:
        changes = list(fact_changes().filter(obligation=obligation))
    reports = getattr(obligation, "fact_reports", None) if dated else ()
    if reports is None:
        reports = list(fact_reports().filter(obligation=obligation))
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
