"""Through the real queue: a worker process on Redis and PostgreSQL runs the sweep."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.db import transaction

from deadlines import tasks
from tests.conftest import wait_until
from tests.factories import ObligationFactory, ReportFactory
from tracker import services
from tracker import vocabulary as V
from tracker.models import Obligation, StatusEvent

pytestmark = pytest.mark.worker


def status_of(pk: int) -> str:
    return Obligation.objects.get(pk=pk).status


def test_sweep_sent_through_the_broker_stores_transitions(celery_worker_process):
    proc, log = celery_worker_process
    o = ObligationFactory(due_date=date(2020, 11, 20))  # long overdue
    tasks.sweep.delay()
    wait_until(lambda: status_of(o.pk) == V.OVERDUE,
               describe=lambda: f"worker exit={proc.poll()} log:\n{log.read_text()[-3000:]}")
    assert list(StatusEvent.objects.filter(obligation=o).order_by("effective_at")
                .values_list("to_status", flat=True)) == [V.PENDING, V.DUE_SOON, V.OVERDUE]


def test_publishing_a_fact_enqueues_reassessment_on_commit(celery_worker_process):
    proc, log = celery_worker_process
    o = ObligationFactory(due_date=date(2020, 11, 20))
    tasks.sweep.delay()
    wait_until(lambda: status_of(o.pk) == V.OVERDUE,
               describe=lambda: log.read_text()[-3000:])
    with transaction.atomic():
        ReportFactory(obligation=o, occurred_at=datetime(2020, 11, 19, 20, tzinfo=UTC))
        services.facts_changed([o.pk])  # enqueues only after this block commits
    wait_until(lambda: status_of(o.pk) == V.COMPLETED,
               describe=lambda: log.read_text()[-3000:])
    # The report says it was done before the deadline: the history is rewritten to say
    # so, and the "overdue" the tracker had stated is kept but superseded.
    event = StatusEvent.current.get(obligation=o, to_status=V.COMPLETED)
    assert (event.from_status, event.cause) == (V.DUE_SOON, V.CAUSE_FACTS)
    overdue = StatusEvent.objects.get(obligation=o, to_status=V.OVERDUE)
    assert overdue.superseded_at is not None
