"""A renewable term's notice deadline and end are deadlines wherever deadlines appear:
the overview's next deadlines, the agreement page, the calendar and the timeline.

The peacekeepers' term (10 November 2020, five years, renewed for five unless notice is
given six months before the end) stood in force on 1 May 2024: notice was due by
10 May 2025 and the term ended on 10 November 2025."""

from __future__ import annotations

from datetime import date

import pytest
from icalendar import Calendar

from deadlines import sweep
from tests.web.test_views import AGREEMENT, text
from tracker import vocabulary as V
from tracker.models import Obligation, Report

pytestmark = pytest.mark.django_db


def term_rows(response) -> list[tuple[str, date]]:
    return [
        (d["what"], d["due_date"]) for d in response.context["upcoming"]
        if d["obligation"].slug == "peacekeeping-term"
    ]


def test_overview_lists_notice_deadline_and_term_end_at_a_past_instant(client, world):
    r = client.get("/", {"as_of": "2024-05-01"})
    assert term_rows(r) == [("notice", date(2025, 5, 10)), ("term_end", date(2025, 11, 10))]
    page = text(r)
    assert "No deadline ahead" not in page
    assert "notice to end the term by 10 May 2025" in page
    assert "term ends 10 Nov 2025" in page
    # Once the term has ended (12 June 2024), neither.
    assert term_rows(client.get("/", {"as_of": "2024-07-01"})) == []


def test_overview_now_lists_the_renewed_terms_dates(client, world):
    # Without its early end the term renews in November 2025: the next dates are 2030's.
    Report.objects.filter(obligation=world.term, claim=V.CLAIM_TERMINATED).delete()
    Obligation.objects.filter(pk=world.term.pk).update(needs_assessment=True)
    sweep.run()
    assert term_rows(client.get("/")) == [
        ("notice", date(2030, 5, 10)), ("term_end", date(2030, 11, 10))
    ]
    # Once the notice deadline has passed, only the end is ahead.
    assert term_rows(client.get("/", {"as_of": "2025-06-01"})) == [
        ("term_end", date(2025, 11, 10))
    ]


def test_agreement_page_shows_the_terms_dates(client, world):
    page = text(client.get(AGREEMENT, {"as_of": "2024-05-01"}))
    assert "notice to end the term by 10 May 2025" in page
    assert "term ends 10 Nov 2025" in page
    assert "notice to end the term by" not in text(client.get(AGREEMENT))  # ended in 2024


def test_calendar_has_one_event_per_term_date(client, world):
    r = client.get("/api/v1/calendar.ics", {"as_of": "2024-05-01"})
    assert r.status_code == 200
    events = {str(e["UID"]): e for e in Calendar.from_ical(r.content).walk("VEVENT")}
    pk = world.term.pk
    notice = events[f"obligation-{pk}-notice-2025-05-10@ceasefire-tracker"]
    end = events[f"obligation-{pk}-term-end-2025-11-10@ceasefire-tracker"]
    assert notice.decoded("DTSTART") == date(2025, 5, 10)
    assert end.decoded("DTSTART") == date(2025, 11, 10)
    assert str(notice["SUMMARY"]).startswith("Last day to give notice ending the term: ")
    assert str(end["SUMMARY"]).startswith("Term ends: ")
    assert "[In force]" in str(end["SUMMARY"])
    # Now the term has ended: no event for it.
    now = Calendar.from_ical(client.get("/api/v1/calendar.ics").content)
    assert not [e for e in now.walk("VEVENT") if str(e["UID"]).startswith(f"obligation-{pk}-")]


def test_timeline_marks_the_terms_dates(client, world):
    html = client.get(AGREEMENT, {"as_of": "2024-05-01", "window": "deadlines"}).content.decode()
    assert html.count('class="tl-term-date"') == 2
    assert "notice by 10 May 2025" in html and "term ends 10 Nov 2025" in html
