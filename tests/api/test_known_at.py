"""Issue 17: two times on every read (`as_of`, `known_at`), no hindsight, citable views.

The world is built with the ORM (tests/api/conftest.py): the November 2020 statement,
its reports published on 31 December 2020. Each test adds what the tracker learns
"today" and reads as the tracker knew things "yesterday" and now.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deadlines import sweep
from tracker import editorial
from tracker import vocabulary as V
from tracker.models import DeadlineChange, Obligation, Report

from .conftest import _report

pytestmark = pytest.mark.django_db


def _yesterday() -> str:
    return (timezone.now() - timedelta(days=1)).date().isoformat()


def _obligation(client, o: Obligation, **params) -> dict:
    response = client.get(f"/api/v1/obligations/{o.pk}/", params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.fixture
def learned_today(world) -> Report:
    """A report published today about an event of 2022: the exchange completed."""
    report = _report(world.prisoners, V.CLAIM_COMPLETED, datetime(2022, 6, 1, 8, tzinfo=UTC),
                     "Last prisoners returned.", world.source, published_at=timezone.now())
    Obligation.objects.filter(pk=world.prisoners.pk).update(needs_assessment=True)
    sweep.run()
    return report


def test_known_at_yesterday_leaves_out_a_report_published_today(client, world, learned_today):
    before = _obligation(client, world.prisoners, as_of="2023-01-01", known_at=_yesterday())
    after = _obligation(client, world.prisoners, as_of="2023-01-01")
    assert before["status"] == V.IN_PROGRESS
    assert after["status"] == V.COMPLETED
    # Now, as known yesterday: the stored status (completed) is not what was known then.
    assert _obligation(client, world.prisoners, known_at=_yesterday())["status"] == V.IN_PROGRESS
    assert _obligation(client, world.prisoners)["status"] == V.COMPLETED


def test_status_filter_and_counts_follow_known_at(client, world, learned_today):
    params = {"agreement": world.agreement.slug, "status": V.COMPLETED, "as_of": "2023-01-01"}
    now = client.get("/api/v1/obligations/", params).json()
    then = client.get("/api/v1/obligations/", {**params, "known_at": _yesterday()}).json()
    assert world.prisoners.pk in [o["id"] for o in now["results"]]
    assert world.prisoners.pk not in [o["id"] for o in then["results"]]
    assert then["count"] == now["count"] - 1
    counts_then = client.get(f"/api/v1/agreements/{world.agreement.slug}/",
                             {"as_of": "2023-01-01", "known_at": _yesterday()}).json()
    counts_now = client.get(f"/api/v1/agreements/{world.agreement.slug}/",
                            {"as_of": "2023-01-01"}).json()
    assert counts_then["status_counts"].get(V.IN_PROGRESS) == 1
    assert counts_now["status_counts"].get(V.IN_PROGRESS, 0) == 0


def test_known_at_now_equals_the_stored_statuses(client, world, learned_today):
    stored = {o.pk: o.status for o in Obligation.objects.all()}
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    listed = client.get("/api/v1/obligations/", {"known_at": later}).json()["results"]
    assert {o["id"]: o["status"] for o in listed} == stored


def test_dashboard_page_as_known_yesterday(world, learned_today):
    page = reverse("web:obligation", args=[world.agreement.slug, world.prisoners.slug])
    then = Client().get(page, {"as_of": "2023-01-01", "known_at": _yesterday()})
    now = Client().get(page, {"as_of": "2023-01-01"})
    assert then.status_code == now.status_code == 200
    assert "Last prisoners returned." not in then.text
    assert "Last prisoners returned." in now.text
    # Pinned to yesterday, the page says the tracker has learned more since.
    assert "The tracker has learned more since" in then.text
    assert "The tracker has learned more since" not in now.text
    assert 'rel="bookmark"' in then.text and "known_at=" in now.text
    # Its data links (the API's JSON and CSV) answer from the same knowledge.
    api = f"/api/v1/obligations/{world.prisoners.pk}/?as_of=2023-01-01&amp;known_at="
    assert api + _yesterday() in then.text


@pytest.fixture
def corrected_today(world, editor, reviewer) -> Report:
    """Kalbajar's completion, published on 31 December 2020, corrected today: the army
    entered a day after the deadline."""
    draft = editorial.correct(world.kalbajar_done, author=editor,
                              reason="The army entered on 26 November, not the 25th.",
                              occurred_at=datetime(2020, 11, 26, 8, tzinfo=UTC))
    new = editorial.publish(draft, reviewer=reviewer)
    sweep.run()
    return new


def test_a_correction_today_leaves_yesterday_with_the_old_version(
    client, world, corrected_today
):
    then = _obligation(client, world.kalbajar_return, as_of="2020-12-01", known_at=_yesterday())
    now = _obligation(client, world.kalbajar_return, as_of="2020-12-01")
    assert then["status"] == V.COMPLETED
    assert now["status"] == V.COMPLETED_LATE
    page = reverse("web:obligation", args=[world.agreement.slug, world.kalbajar_return.slug])
    old_page = Client().get(page, {"known_at": _yesterday()}).text
    assert "The army entered on 26 November" not in old_page  # the correction's reason
    assert "The army entered on 26 November" in Client().get(page).text


def test_what_changed_between_yesterday_and_now(client, world, corrected_today):
    answer = client.get(f"/api/v1/obligations/{world.kalbajar_return.pk}/changes/",
                        {"since": _yesterday()})
    assert answer.status_code == 200, answer.content
    # (The world's own set-up edited the term today too: an "edited" entry.)
    [change] = [c for c in answer.json()["changes"] if c["kind"] != "edited"]
    assert change["kind"] == "corrected"
    assert change["reason"] == "The army entered on 26 November, not the 25th."
    assert change["old"]["occurred_at"].startswith("2020-11-24T20:00")
    assert change["new"]["occurred_at"].startswith("2020-11-26T08:00")
    assert change["reviewed_by"] == "a reviewer"
    assert change["report"] == corrected_today.pk
    # The agreement's log holds it too; before yesterday, nothing changed.
    log = client.get(f"/api/v1/agreements/{world.agreement.slug}/changes/",
                     {"since": _yesterday()}).json()
    assert [c["report"] for c in log["changes"] if c["kind"] != "edited"] == [
        corrected_today.pk
    ]
    empty = client.get(f"/api/v1/agreements/{world.agreement.slug}/changes/",
                       {"since": "2021-01-01", "until": _yesterday()}).json()
    assert empty["changes"] == []
    page = Client().get(reverse("web:obligation-changes",
                                args=[world.agreement.slug, world.kalbajar_return.slug]),
                        {"since": _yesterday()})
    assert page.status_code == 200
    assert "The army entered on 26 November, not the 25th." in page.text
    assert "Report corrected" in page.text


def test_permalink_and_newer_knowledge_headers(client, world, corrected_today):
    url = f"/api/v1/obligations/{world.kalbajar_return.pk}/"
    old = client.get(url, {"as_of": "2020-12-01", "known_at": _yesterday()})
    assert 'rel="canonical"' in old["Link"]
    assert f"known_at={_yesterday()}" in old["Link"] and "as_of=2020-12-01" in old["Link"]
    assert 'rel="latest-version"' in old["Link"]
    assert old["X-Learned-Since"].startswith(timezone.now().date().isoformat())
    now = client.get(url)
    assert 'rel="canonical"' in now["Link"] and "known_at=" in now["Link"]
    assert client.get(url)["Link"] == now["Link"]  # a body served from the cache too
    assert "latest-version" not in now["Link"] and "X-Learned-Since" not in now
    # Another term, about which nothing was learned since yesterday, says nothing more.
    other = client.get(f"/api/v1/obligations/{world.aghdam_return.pk}/",
                       {"known_at": _yesterday()})
    assert "latest-version" not in other["Link"]


@pytest.mark.parametrize("value", [
    "yesterday", "1899-12-31", "2020-11-21T12:00:00+25:00", "2020-11-21T12:00:00",
    "2020-11-21T12:00:00 Mars/Olympus",
])
def test_bad_known_at_is_a_400_naming_it(client, world, value):
    for url in ("/api/v1/obligations/", f"/api/v1/agreements/{world.agreement.slug}/",
                "/api/v1/calendar.ics", "/api/v1/events/"):
        answer = client.get(url, {"known_at": value})
        assert answer.status_code == 400, (url, answer.content)
        assert "known_at" in answer.json()["errors"], (url, answer.json())
    feed = Client().get("/feeds/events.atom", {"known_at": value})
    assert feed.status_code == 400 and "known_at" in feed.text
    if value != "2020-11-21T12:00:00":  # the dashboard reads a naive time as local
        page = Client().get(reverse("web:overview"), {"known_at": value})
        assert page.status_code == 400 and "known_at" in page.text


def test_calendar_and_atom_take_as_of_and_known_at(client, world, learned_today):
    cal = client.get("/api/v1/calendar.ics", {"as_of": "2020-11-14", "known_at": _yesterday()})
    assert cal.status_code == 200
    body = cal.content.decode()
    assert "DTSTART;VALUE=DATE:20201115" in body  # Kalbajar: the deadline in force then
    assert "20201125" not in body
    feed = Client().get("/feeds/events.atom", {"as_of": "2020-11-21"})
    assert feed.status_code == 200
    assert "Return of the Aghdam district" in feed.text
    assert "Return of the Lachin district: Completed" not in feed.text  # 1 December
    # The completion published today is not in the feed as known yesterday.
    assert "Exchange of prisoners: Completed" in Client().get("/feeds/events.atom").text
    assert "Exchange of prisoners: Completed" not in Client().get(
        "/feeds/events.atom", {"known_at": _yesterday()}).text


def test_a_deadline_moved_today_leaves_the_transitions_known_yesterday(client, world):
    """A deadline change published today rewrites transitions no report causes: the
    events list and the feed as known yesterday show the old ones, not the new."""
    o = world.aghdam_return

    def transitions(**params) -> set[tuple[str, str]]:
        listed = client.get("/api/v1/events/", {"obligation": o.pk, **params}).json()
        return {(e["to_status"], e["effective_at"][:10]) for e in listed["results"]}

    before = transitions()
    DeadlineChange.objects.create(
        obligation=o, due_date=date(2020, 11, 12), agreed_at=datetime(2020, 11, 11, tzinfo=UTC),
        review_state=V.PUBLISHED, published_at=timezone.now())
    Obligation.objects.filter(pk=o.pk).update(needs_assessment=True)
    sweep.run()
    now = transitions()
    assert (V.OVERDUE, "2020-11-12") in now and now != before
    assert transitions(known_at=_yesterday()) == before
    assert transitions(known_at=(timezone.now() + timedelta(minutes=1)).isoformat()) == now
    feed = Client().get("/feeds/events.atom", {"agreement": world.agreement.slug,
                                                "known_at": _yesterday()}).text
    assert "Return of the Aghdam district: Overdue" not in feed
    assert "Return of the Aghdam district: Overdue" in Client().get(
        "/feeds/events.atom", {"agreement": world.agreement.slug}).text


def test_before_signing_nothing_is_shown(client, world):
    slug = world.agreement.slug
    detail = client.get(f"/api/v1/agreements/{slug}/", {"as_of": "2019-01-01"})
    assert detail.status_code == 200
    assert detail.json()["not_yet_signed"] is True
    assert "not yet signed" in detail.json()["detail"]
    listed = client.get("/api/v1/obligations/", {"as_of": "2019-01-01"}).json()
    assert listed["count"] == 0
    agreements = client.get("/api/v1/agreements/", {"as_of": "2019-01-01"}).json()
    assert agreements["count"] == 0
    term = client.get(f"/api/v1/obligations/{world.kalbajar_return.pk}/",
                      {"as_of": "2019-01-01"}).json()
    assert term["not_yet_signed"] is True and "status" not in term
    page = Client().get(reverse("web:agreement", args=[slug]), {"as_of": "2019-01-01"})
    assert page.status_code == 200
    assert "Not yet signed." in page.text
    assert "Pending" not in page.text and "due in" not in page.text
    overview = Client().get(reverse("web:overview"), {"as_of": "2019-01-01"})
    assert "No agreement had been signed yet" in overview.text
    assert "Pending" not in overview.text
    cal = client.get("/api/v1/calendar.ics", {"as_of": "2019-01-01"})
    assert "BEGIN:VEVENT" not in cal.content.decode()


def test_kalbajar_on_14_november_never_mentions_25_november(client, world):
    o = world.kalbajar_return
    texts = [
        client.get(f"/api/v1/obligations/{o.pk}/", {"as_of": "2020-11-14"}).content.decode(),
        client.get(f"/api/v1/obligations/{o.pk}/history/", {"as_of": "2020-11-14"})
        .content.decode(),
        client.get("/api/v1/obligations/", {"as_of": "2020-11-14"}).content.decode(),
        client.get("/api/v1/calendar.ics", {"as_of": "2020-11-14"}).content.decode(),
        Client().get(reverse("web:obligation", args=[world.agreement.slug, o.slug]),
                     {"as_of": "2020-11-14"}).text,
    ]
    for text in texts:
        for form in ("2020-11-25", "25 Nov", "20201125", "Nov. 25", "November 25"):
            assert form not in text, form
    assert '"due_date":"2020-11-15"' in texts[0]
