"""Writes that change facts. Every one marks the obligation for re-assessment and,
once the transaction commits, asks the worker to re-assess it."""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction

from tracker.models import AgreementRelation, Obligation


def facts_changed(obligation_ids: Iterable[int]) -> None:
    """Flag obligations whose facts changed; re-assess them after commit.

    The flag is the source of truth (the next sweep picks it up even if the broker is
    down); the task only makes it prompt. Updating the row also waits for a sweep that
    holds its lock, so a sweep can never clear a flag set after it read the facts.
    """
    ids = sorted(set(obligation_ids))
    if not ids:
        return
    Obligation.objects.filter(pk__in=ids).update(needs_assessment=True)

    def enqueue() -> None:
        from deadlines.tasks import reassess

        try:
            reassess.delay(ids)
        except Exception:  # broker down: the periodic sweep will do it
            import logging

            logging.getLogger(__name__).warning("could not enqueue reassess for %s", ids)

    transaction.on_commit(enqueue)


def relations_changed(relations: Iterable[AgreementRelation]) -> None:
    """Flag the terms relations reach (one term, or every term of the agreement as a
    whole): a relation that supersedes or terminates is a fact of their status."""
    ids: set[int] = set()
    whole: set[int] = set()
    for r in relations:
        if r.target_id is not None:
            ids.add(r.target_id)
        else:
            whole.add(r.target_agreement_id)
    if whole:
        ids.update(
            Obligation.objects.filter(agreement_id__in=whole).values_list("pk", flat=True)
        )
    facts_changed(ids)


SCHEDULE_FIELDS = frozenset({"timezone", "warning_days", "effective_at"})


def agreement_schedule_changed(agreement) -> None:
    """The agreement's zone, warning window or entry into force changed: every due
    instant moves with the zone, and every obligation must be re-assessed."""
    from deadlines.engine import due_instant

    zone = agreement.zone
    obligations = list(agreement.obligations.all())
    for obligation in obligations:
        if obligation.due_date is not None:
            moved = due_instant(obligation.due_date, zone)
            if moved != obligation.due_at:
                Obligation.objects.filter(pk=obligation.pk).update(due_at=moved)
    facts_changed(o.pk for o in obligations)
