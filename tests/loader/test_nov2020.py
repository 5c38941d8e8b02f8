"""The November 2020 statement's file, through the real loader."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.conftest import NOV_2020
from tests.loader.conftest import dump_database
from tracker.loader import check_file, load
from tracker.models import Obligation

pytestmark = pytest.mark.skipif(not NOV_2020.exists(), reason="fixture not written yet")


def test_it_checks_clean():
    spec = check_file(NOV_2020)
    assert spec.zone.key == "Asia/Baku"


def test_every_obligation_has_a_source(nov2020):
    obligations = Obligation.objects.filter(agreement=nov2020)
    assert obligations.count() >= 15
    for o in obligations:
        assert o.sources.exists(), f"{o.slug} has no source"
        for report in o.reports.all():
            assert report.sources.exists(), f"a report on {o.slug} has no source"


def test_kalbajar_is_due_at_the_moved_deadline(nov2020):
    kalbajar = Obligation.objects.get(agreement=nov2020, slug="kalbajar-return")
    assert kalbajar.original_due_date.isoformat() == "2020-11-15"
    assert kalbajar.due_date.isoformat() == "2020-11-25"
    # "By 25 November" in Asia/Baku ends at 2020-11-26T00:00+04:00.
    assert kalbajar.due_at == datetime(2020, 11, 25, 20, tzinfo=UTC)


def test_reloading_it_changes_nothing(nov2020):
    Obligation.objects.update(needs_assessment=False)
    before = dump_database()
    assert not load(NOV_2020).changed
    assert dump_database() == before
