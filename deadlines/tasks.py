"""Celery tasks: thin wrappers over deadlines.sweep and deadlines.notify."""

from __future__ import annotations

import logging

from celery import shared_task

from deadlines import sweep as sweep_module

log = logging.getLogger(__name__)


@shared_task(
    name="deadlines.tasks.sweep",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def sweep() -> dict:
    """Store every status the clock has changed. Idempotent: a repeat finds nothing to do."""
    result = sweep_module.run()
    return {"changed": result.changed_rows, "events": result.events, "failed": result.failed}


@shared_task(
    name="deadlines.tasks.reassess",
    autoretry_for=(Exception,),
    retry_backoff=True,
    retry_backoff_max=300,
    retry_jitter=True,
    max_retries=5,
)
def reassess(obligation_ids: list[int]) -> dict:
    """Re-assess obligations whose facts changed (enqueued on commit by tracker.services)."""
    result = sweep_module.run(ids=list(obligation_ids))
    return {"changed": result.changed_rows, "events": result.events, "failed": result.failed}
