"""Celery tasks: thin wrappers over deadlines.sweep and deadlines.notify."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.utils.module_loading import import_string

from deadlines import sweep as sweep_module

log = logging.getLogger(__name__)


def _sweep_task(name: str):
    """A task that runs the sweep: one that failed (database restarting, a lock timeout)
    is retried with backoff and jitter; it is idempotent, and the next periodic sweep
    would catch up anyway."""
    return shared_task(
        name=name,
        autoretry_for=(Exception,),
        retry_backoff=True,
        retry_backoff_max=300,
        retry_jitter=True,
        max_retries=5,
    )


@_sweep_task("deadlines.tasks.sweep")
def sweep() -> dict:
    """Store every status the clock has changed. Idempotent: a repeat finds nothing to do."""
    return _stored(sweep_module.run())


@_sweep_task("deadlines.tasks.reassess")
def reassess(obligation_ids: list[int]) -> dict:
    """Re-assess obligations whose facts changed (enqueued on commit by tracker.services)."""
    return _stored(sweep_module.run(ids=list(obligation_ids)))


def _stored(result: sweep_module.SweepResult) -> dict:
    """Run the hooks once statuses are stored; the task's result says what changed."""
    after_statuses_stored()
    return {"changed": result.changed_rows, "events": result.events, "failed": result.failed}


def after_statuses_stored() -> None:
    """Run the hooks `settings.STATUSES_STORED_HOOKS` names, now that statuses are
    stored (config wires the dashboard overview's recount there, so the next page view
    reads counts instead of counting every obligation; deadlines imports no dashboard
    code). Every sweep runs them, changed or not: that also picks up edits no version
    sees within one period. A failing hook costs only speed, so it never fails the
    sweep."""
    for path in settings.STATUSES_STORED_HOOKS:
        try:
            import_string(path)()
        except Exception:
            log.exception("hook %s failed after the sweep", path)


# ---------------------------------------------------------------- webhooks (deadlines.notify)


@shared_task(name="deadlines.tasks.deliver_pending")
def deliver_pending() -> dict:
    """Beat: turn new status events into deliveries and send those that are due."""
    from deadlines import notify

    created = notify.fan_out()
    due = notify.due_deliveries()
    for delivery_id in due:
        deliver_webhook.delay(delivery_id)
    return {"created": created, "enqueued": len(due)}


@shared_task(bind=True, name="deadlines.tasks.deliver_webhook", max_retries=None)
def deliver_webhook(self, delivery_id: int) -> str:
    """Send one delivery; on failure Celery retries it with the backoff (and jitter) the
    delivery recorded. The claim in notify.deliver makes duplicate messages harmless."""
    from deadlines import notify

    outcome = notify.deliver(delivery_id)
    if outcome.retry_in is not None:
        raise self.retry(countdown=outcome.retry_in)
    return outcome.state
