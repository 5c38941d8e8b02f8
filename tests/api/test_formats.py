"""CSV exports, the iCalendar feed (parsed back) and the Atom feed (parsed back)."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime

import feedparser
import pytest
from icalendar import Calendar

from deadlines import sweep
from tracker import vocabulary as V
from tracker.models import DeadlineChange

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, getattr(response, "content", b"")
    assert response["Content-Type"].startswith("text/csv")
    # Streamed when rendered, whole when served from the cache.
    body = (b"".join(response.streaming_content) if response.streaming
            else response.content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.mark.parametrize(
    "path",
    ["/api/v1/obligations/", "/api/v1/agreements/", "/api/v1/events/", "/api/v1/reports/",
     "/api/v1/locations/", "/api/v1/parties/", "/api/v1/sources/"],
)
def test_every_list_exports_csv(client, world, path):
    rows = read_csv(client.get(path, {"format": "csv"}))
    as_json = client.get(path, {"page_size": 500}).json()
    assert len(rows) == as_json["count"]


def test_obligations_csv_same_filters_and_order(client, world):
    params = {"kind": "deadline", "ordering": "-due_date"}
    rows = read_csv(client.get("/api/v1/obligations/", {**params, "format": "csv"}))
    assert [r["slug"] for r in rows] == ["lachin-return", "kalbajar-return", "aghdam-return"]
    kalbajar = rows[1]
    assert kalbajar["due_date"] == "2020-11-25"
    assert kalbajar["original_due_date"] == "2020-11-15"
    assert kalbajar["responsible"] == "armenia"
    assert kalbajar["locations"] == "kalbajar"
    assert kalbajar["status"] == V.COMPLETED
    assert kalbajar["sources"] == "https://example.org/statement"
    # Accept header works too.
    rows = read_csv(client.get("/api/v1/obligations/", params, HTTP_ACCEPT="text/csv"))
    assert len(rows) == 3


def test_csv_as_of(client, world):
    rows = read_csv(client.get("/api/v1/obligations/", {"format": "csv", "as_of": "2020-11-14",
                                                        "status": "due_soon"}))
    assert [(r["slug"], r["due_date"]) for r in rows] == [("kalbajar-return", "2020-11-15")]
    assert rows[0]["as_of"] == "2020-11-14T19:59:59.999999Z"


def test_csv_is_spreadsheet_safe(client, world):
    world.prisoners.title = "=HYPERLINK(\"http://evil\")"
    world.prisoners.save()
    rows = read_csv(client.get("/api/v1/obligations/", {"format": "csv", "kind": "open"}))
    assert rows[0]["title"].startswith("'=")


def test_csv_errors_are_json(client, world):
    r = client.get("/api/v1/obligations/", {"format": "csv", "status": "bogus"})
    assert r.status_code == 400 and r["Content-Type"].startswith("application/json")


def test_csv_streams_many_rows_in_batches(client, world, django_assert_max_num_queries):
    from tests.factories import ObligationFactory

    for i in range(30):
        ObligationFactory(agreement=world.agreement, slug=f"extra-{i}")
    from tracker.api import views

    old, views.CSV_BATCH = views.CSV_BATCH, 10
    try:
        rows = read_csv(client.get("/api/v1/obligations/", {"format": "csv"}))
    finally:
        views.CSV_BATCH = old
    assert len(rows) == 36 and len({r["id"] for r in rows}) == 36


# ---------------------------------------------------------------- calendar


def parse_ics(response) -> Calendar:
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/calendar")
    cal = Calendar.from_ical(response.content)
    for component in cal.walk():
        assert not component.errors, (component.name, component.errors)
    return cal


def test_calendar_one_event_per_deadline(client, world):
    cal = parse_ics(client.get("/api/v1/calendar.ics"))
    assert cal["VERSION"] == "2.0" and "PRODID" in cal
    events = {str(e["UID"]): e for e in cal.walk("VEVENT")}
    # Three deadlines, and the renewable term's notice deadline and end (2030's: it
    # renewed in 2025), each its own event.
    assert len(events) == 5
    term = [uid for uid in events if uid.startswith(f"obligation-{world.peacekeeping_term.pk}-")]
    assert sorted(term) == [
        f"obligation-{world.peacekeeping_term.pk}-notice-2030-05-10@ceasefire-tracker",
        f"obligation-{world.peacekeeping_term.pk}-term-end-2030-11-10@ceasefire-tracker",
    ]
    kalbajar = events[f"obligation-{world.kalbajar_return.pk}@ceasefire-tracker"]
    assert kalbajar.decoded("DTSTART") == date(2020, 11, 25)  # all-day, local due date
    assert kalbajar.decoded("DTEND") == date(2020, 11, 26)
    assert int(kalbajar["SEQUENCE"]) == 1  # one deadline change in force
    assert "Kalbajar" in str(kalbajar["SUMMARY"])
    assert "Originally due: 2020-11-15" in str(kalbajar["DESCRIPTION"])
    aghdam = events[f"obligation-{world.aghdam_return.pk}@ceasefire-tracker"]
    assert int(aghdam["SEQUENCE"]) == 0
    for e in events.values():
        assert "DTSTAMP" in e and str(e["URL"]).startswith("http")


def test_calendar_amended_deadline_keeps_uid_and_raises_sequence(client, world):
    before = {str(e["UID"]): e for e in parse_ics(client.get("/api/v1/calendar.ics"))
              .walk("VEVENT")}
    uid = f"obligation-{world.lachin_return.pk}@ceasefire-tracker"
    change = DeadlineChange.objects.create(
        obligation=world.lachin_return, due_date=date(2020, 12, 5),
        agreed_at=datetime(2020, 11, 28, tzinfo=UTC), reason="moved",
        review_state=V.PUBLISHED, published_at=datetime(2020, 12, 1, tzinfo=UTC),
    )
    world.lachin_return.due_date = change.due_date
    world.lachin_return.save()
    after = {str(e["UID"]): e for e in parse_ics(client.get("/api/v1/calendar.ics"))
             .walk("VEVENT")}
    assert set(after) == set(before)
    assert int(after[uid]["SEQUENCE"]) == int(before[uid]["SEQUENCE"]) + 1
    assert after[uid].decoded("DTSTART") == date(2020, 12, 5)


def test_calendar_filters(client, world):
    def uids(params):
        return [str(e["UID"]) for e in parse_ics(client.get("/api/v1/calendar.ics", params))
                .walk("VEVENT")]

    assert len(uids({"agreement": "nov-2020"})) == 5  # 3 deadlines, 2 term dates
    assert len(uids({"responsible": "armenia"})) == 3
    assert len(uids({"responsible": "russia"})) == 2  # the term's notice and end
    assert len(uids({"status": "completed"})) == 3
    assert uids({"status": "overdue"}) == []
    r = client.get("/api/v1/calendar.ics", {"status": "bogus"})
    assert r.status_code == 400 and r.json()["errors"]["status"]
    assert client.get("/api/v1/calendar.ics", {"responsible": "nobody"}).status_code == 400


# ---------------------------------------------------------------- Atom


def test_atom_feed(client, world):
    r = client.get("/feeds/events.atom")
    assert r.status_code == 200 and "atom" in r["Content-Type"]
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    assert feed.version == "atom10"
    entries = feed.entries
    assert entries
    # Newest first, one per status event, each with a stable id.
    published = [e.published_parsed for e in entries]
    assert published == sorted(published, reverse=True)
    assert len({e.id for e in entries}) == len(entries)
    assert any("Kalbajar" in e.title and "Completed" in e.title for e in entries)
    assert all(e.link.startswith("http") for e in entries)


def test_atom_filter_by_agreement(client, world):
    from tests.factories import AgreementFactory, ObligationFactory

    other = AgreementFactory(slug="other")
    ObligationFactory(agreement=other, slug="x", title="Other obligation")
    sweep.run()
    everything = feedparser.parse(client.get("/feeds/events.atom").content).entries
    mine = feedparser.parse(client.get("/feeds/events.atom?agreement=nov-2020").content)
    assert "Trilateral" in mine.feed.title
    assert len(mine.entries) < len(everything)
    assert not any("Other obligation" in e.title for e in mine.entries)
    assert client.get("/feeds/events.atom?agreement=nope").status_code == 404


def test_csv_export_is_cached_for_the_next_reader(client, world):
    url = "/api/v1/obligations/?format=csv&kind=deadline"
    first = client.get(url)
    assert first.streaming
    rows = read_csv(first)
    assert len(rows) >= 3
    etag = first["ETag"]
    again = client.get(url)
    assert not again.streaming and again["ETag"] == etag
    assert read_csv(again) == rows
    assert again["Content-Disposition"] == first["Content-Disposition"]
    assert client.get(url, HTTP_IF_NONE_MATCH=etag).status_code == 304
    # A change of data is a new version: a fresh export, not the kept one.
    world.kalbajar_return.title = "Kalbajar district returned (edited)"
    world.kalbajar_return.save()
    fresh = client.get(url)
    assert fresh.streaming and fresh["ETag"] != etag
    assert any("(edited)" in r["title"] for r in read_csv(fresh))


def test_atom_text_is_text_not_markup(client, world):
    # A published summary is plain text an editor typed; a feed reader must show it as
    # typed, never run it. Atom's type="html" would have readers parse it as markup.
    from tracker.models import Obligation, Report

    hostile = '<script>alert("x")</script> <img src=x onerror=alert(1)> & co'
    Report.objects.filter(pk=world.kalbajar_done.pk).update(summary=hostile)
    Obligation.objects.filter(pk=world.kalbajar_return.pk).update(title="Kalbajar <b>now</b>")
    r = client.get("/feeds/events.atom")
    assert r.status_code == 200
    raw = r.content.decode()
    assert "<script>" not in raw and 'type="html"' not in raw
    feed = feedparser.parse(r.content)
    assert not feed.bozo, feed.bozo_exception
    [entry] = [e for e in feed.entries if "onerror" in e.get("summary", "")]
    assert entry.summary_detail.type == "text/plain"
    assert hostile in entry.summary  # shown as typed, all of it, not sanitized away
    assert entry.title_detail.type == "text/plain"
    assert entry.title.startswith("Kalbajar <b>now</b>")
