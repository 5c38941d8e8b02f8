"""Transitions that corrected facts withdrew stay stored but leave every public view."""

from __future__ import annotations

from datetime import UTC, date, datetime

import feedparser
import pytest
from django.core.cache import cache

from deadlines import sweep
from tests.factories import ObligationFactory, ReportFactory
from tracker import services
from tracker import vocabulary as V
from tracker.models import Report, StatusEvent


@pytest.fixture
def corrected(db):
    cache.clear()
    o = ObligationFactory(due_date=date(2020, 11, 20), title="Return of the district")
    report = ReportFactory(obligation=o, occurred_at=datetime(2021, 2, 1, tzinfo=UTC))
    sweep.run()
    Report.objects.filter(pk=report.pk).update(superseded_at=datetime.now(UTC))
    services.facts_changed([o.pk])
    sweep.run()
    withdrawn = StatusEvent.objects.get(obligation=o, to_status=V.COMPLETED_LATE)
    assert withdrawn.superseded_at is not None
    correction = StatusEvent.current.get(obligation=o, cause=V.CAUSE_CORRECTION)
    return withdrawn, correction


def test_api_events_leave_out_superseded_transitions(client, corrected):
    withdrawn, correction = corrected
    body = client.get("/api/v1/events/").json()
    ids = {e["id"] for e in body["results"]}
    assert correction.pk in ids and withdrawn.pk not in ids


def test_atom_feed_leaves_out_superseded_transitions(client, corrected):
    withdrawn, correction = corrected
    feed = feedparser.parse(client.get("/feeds/events.atom").content)
    ids = {entry.id.rsplit(":", 1)[-1] for entry in feed.entries}
    assert str(correction.pk) in ids and str(withdrawn.pk) not in ids
