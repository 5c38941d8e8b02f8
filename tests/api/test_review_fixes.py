"""Regressions from the security/robustness review: far-off years are a 400 not a 500,
the date-only flag follows `occurred_at`, publish/reject need the reviewed version,
and a forged X-Forwarded-For does not escape the anonymous throttle."""

from __future__ import annotations

import pytest
from django.core.cache import cache

from tests.api.conftest import token_client
from tests.api.test_writes import REPORTS, body
from tracker import vocabulary as V
from tracker.models import Report

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "occurred_at", ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+04:00", "1899-12-31"]
)
def test_occurred_at_far_outside_any_agreement_is_400(world, editor, occurred_at):
    before = Report.objects.count()
    r = token_client(editor).post(REPORTS, body(world, occurred_at=occurred_at), format="json")
    assert r.status_code == 400, r.content
    assert "year between" in " ".join(r.json()["errors"]["occurred_at"])
    assert Report.objects.count() == before


def test_date_only_flag_follows_occurred_at_and_is_not_an_input(world, editor):
    c = token_client(editor)
    timed = c.post(
        REPORTS,
        body(world, occurred_at="2022-09-14T10:37:00+04:00", occurred_date_only=True),
        format="json",
    )
    assert timed.status_code == 201, timed.content
    assert timed.json()["occurred_date_only"] is False
    assert Report.objects.get(pk=timed.json()["id"]).occurred_date_only is False
    day = c.post(REPORTS, body(world, occurred_at="2022-09-14", occurred_date_only=False),
                 format="json")
    assert day.status_code == 201 and day.json()["occurred_date_only"] is True


@pytest.mark.parametrize("action", ["publish", "reject"])
def test_publish_and_reject_need_the_version(world, editor, reviewer, action):
    pk = token_client(editor).post(REPORTS, body(world), format="json").json()["id"]
    r = token_client(reviewer).post(
        f"{REPORTS}{pk}/{action}/", {"reason": "Unsourced."}, format="json"
    )
    assert r.status_code == 400 and "version" in r.json()["errors"]
    assert Report.objects.get(pk=pk).review_state == V.DRAFT
    ok = token_client(reviewer).post(
        f"{REPORTS}{pk}/{action}/", {"reason": "Unsourced.", "version": 1}, format="json"
    )
    assert ok.status_code == 200, ok.content


def test_forged_forwarded_for_does_not_escape_the_anonymous_throttle(client, world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "1000/minute"},
    }  # NUM_PROXIES as configured (0 unless the environment says otherwise)
    cache.clear()
    codes = [
        client.get("/api/v1/parties/", HTTP_X_FORWARDED_FOR=f"203.0.113.{i}").status_code
        for i in range(5)
    ]
    assert codes == [200, 200, 200, 429, 429]

