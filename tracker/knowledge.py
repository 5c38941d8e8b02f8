"""What the tracker knew when: the public correction log, and whether a view pinned to
an earlier `known_at` has been overtaken by what was published since.

A published fact is never edited: a correction is a new report that supersedes the old
one (`Report.supersedes`, `superseded_at`, `correction_reason`), a retraction is one
that withdraws it, and every other write leaves a simple_history record. `changes`
reads both into one list of `Change`s between two `known_at` instants; the API and the
dashboard show the same list.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.db.models import Max, Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from tracker import vocabulary as V
from tracker.credits import credits
from tracker.models import Agreement, AgreementRelation, DeadlineChange, Obligation, Report

# What happened to the published record (the API's `kind`).
PUBLISHED = "published"  # a new report
CORRECTED = "corrected"  # a report superseded by a corrected version
RETRACTED = "retracted"  # a report withdrawn
DEADLINE_MOVED = "deadline_moved"  # a deadline change published
RELATION = "relation"  # a later agreement's effect on this one published
EDITED = "edited"  # the term's own text or dates edited (simple_history)

KINDS = {
    PUBLISHED: gettext_noop("Report published"),
    CORRECTED: gettext_noop("Report corrected"),
    RETRACTED: gettext_noop("Report retracted"),
    DEADLINE_MOVED: gettext_noop("Deadline change published"),
    RELATION: gettext_noop("Later agreement recorded"),
    EDITED: gettext_noop("Term edited"),
}

# The term's fields whose edits are part of the public record.
EDITED_FIELDS = (
    "title", "description", "titles", "descriptions", "kind", "category",
    "original_due_date", "starts_at", "ends_at", "term_years", "renews_years",
    "notice_months", "text_dispute",
)


@dataclass(frozen=True)
class Change:
    """One change to the published record, as the tracker made it at `at`."""

    at: datetime
    kind: str
    obligation: Obligation | None
    old: dict[str, Any] | None
    new: dict[str, Any] | None
    reason: str
    reviewed_by: str | None
    report_id: int | None = None

    @property
    def label(self) -> str:
        return _(KINDS[self.kind])


def _report_value(r: Report) -> dict[str, Any]:
    return {"id": r.pk, "claim": r.claim, "occurred_at": r.occurred_at, "summary": r.summary,
            "unconfirmed": r.unconfirmed}


def _reviewer(obj: Any) -> str | None:
    if isinstance(obj, Report):
        return credits(obj).reviewed_by
    if getattr(obj, "origin", "") == "file":
        return _("the agreement file")
    reviewer = getattr(obj, "reviewer", None)
    return str(reviewer) if reviewer is not None else None


def _window(field: str, since: datetime | None, until: datetime | None) -> Q:
    q = Q()
    if since is not None:
        q &= Q(**{f"{field}__gt": since})
    if until is not None:
        q &= Q(**{f"{field}__lte": until})
    return q


def changes(
    obligations: QuerySet[Obligation],
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[Change]:
    """Every change to the published facts of `obligations` made after `since` and by
    `until` (None: unbounded), newest first."""
    found: list[Change] = []
    reports = (
        Report.objects.filter(
            _window("published_at", since, until), obligation__in=obligations,
            review_state=V.PUBLISHED,
        )
        .select_related("obligation__agreement", "supersedes", "reviewer", "author")
    )
    for r in reports:
        old = r.supersedes
        kind = PUBLISHED if old is None else (RETRACTED if r.retracts else CORRECTED)
        found.append(Change(
            at=r.published_at,  # type: ignore[arg-type]
            kind=kind,
            obligation=r.obligation,
            old=_report_value(old) if old is not None else None,
            new=None if r.retracts else _report_value(r),
            reason=r.correction_reason,
            reviewed_by=_reviewer(r),
            report_id=r.pk,
        ))
    moves = DeadlineChange.objects.filter(
        _window("published_at", since, until), obligation__in=obligations,
        review_state=V.PUBLISHED,
    ).select_related("obligation__agreement", "reviewer")
    for c in moves:
        found.append(Change(
            at=c.published_at,  # type: ignore[arg-type]
            kind=DEADLINE_MOVED,
            obligation=c.obligation,
            old=None,
            new={"due_date": c.due_date, "agreed_at": c.agreed_at},
            reason=c.reason,
            reviewed_by=_reviewer(c),
        ))
    relations = AgreementRelation.objects.filter(
        _window("published_at", since, until),
        Q(target__in=obligations)
        | Q(target__isnull=True, target_agreement__obligations__in=obligations),
    ).select_related("agreement", "target").distinct()
    for rel in relations:
        found.append(Change(
            at=rel.published_at,  # type: ignore[arg-type]
            kind=RELATION,
            obligation=rel.target,
            old=None,
            new={"kind": rel.kind, "agreement": rel.agreement.slug, "at": rel.at},
            reason=rel.note,
            reviewed_by=None,
        ))
    found += _edits(obligations, since, until)
    return sorted(found, key=lambda c: (c.at, c.report_id or 0), reverse=True)


def _edits(
    obligations: QuerySet[Obligation], since: datetime | None, until: datetime | None
) -> list[Change]:
    """Edits of the terms themselves, from their simple_history trail: each record
    against the one before it, the fields that changed (old and new)."""
    history = Obligation.history.model.objects.filter(
        id__in=obligations.values("pk"), history_type="~"
    ).filter(_window("history_date", since, until)).select_related("history_user")
    result = []
    for record in history.order_by("history_date", "history_id"):
        before = record.prev_record
        if before is None:
            continue
        diff = record.diff_against(before, included_fields=list(EDITED_FIELDS))
        if not diff.changes:
            continue
        result.append(Change(
            at=record.history_date,
            kind=EDITED,
            obligation=record.instance,
            old={d.field: d.old for d in diff.changes},
            new={d.field: d.new for d in diff.changes},
            reason=record.history_change_reason or "",
            reviewed_by=str(record.history_user) if record.history_user else None,
        ))
    return result


def learned_since(
    known_at: datetime | None,
    obligations: QuerySet[Obligation] | None = None,
) -> datetime | None:
    """The latest instant after `known_at` at which a fact about `obligations` (None:
    any) was published, corrected or retracted, or a term among them or its agreement
    was created or edited; None when nothing was (or `known_at` is None: the view is
    today's)."""
    if known_at is None:
        return None
    reports = Report.objects.filter(review_state=V.PUBLISHED)
    changes_ = DeadlineChange.objects.filter(review_state=V.PUBLISHED)
    relations = AgreementRelation.objects.all()
    terms = Obligation.history.model.objects.all()
    agreements = Agreement.history.model.objects.all()
    if obligations is not None:
        terms = terms.filter(id__in=obligations.values("pk"))
        agreements = agreements.filter(id__in=obligations.values("agreement_id"))
        reports = reports.filter(obligation__in=obligations)
        changes_ = changes_.filter(obligation__in=obligations)
        relations = relations.filter(
            Q(target__in=obligations)
            | Q(target__isnull=True, target_agreement__obligations__in=obligations)
        )
    latest = [
        reports.filter(published_at__gt=known_at).aggregate(m=Max("published_at"))["m"],
        reports.filter(superseded_at__gt=known_at).aggregate(m=Max("superseded_at"))["m"],
        changes_.filter(published_at__gt=known_at).aggregate(m=Max("published_at"))["m"],
        relations.filter(published_at__gt=known_at).aggregate(m=Max("published_at"))["m"],
        terms.filter(history_date__gt=known_at).aggregate(m=Max("history_date"))["m"],
        agreements.filter(history_date__gt=known_at).aggregate(m=Max("history_date"))["m"],
    ]
    return max((t for t in latest if t is not None), default=None)


def of_agreement(agreement: Agreement) -> QuerySet[Obligation]:
    return Obligation.objects.filter(agreement=agreement)


def plain(value: Any) -> Any:
    """A change's old/new value as JSON and templates want it."""
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value
