"""Issue 17: at a past `known_at`, rows stand as the tracker had published them.

A term's own title and dates edited today, and an agreement created today: with
`known_at` = yesterday every read (the API's detail, list, CSV and status filter, the
dashboard's pages) shows the term as it stood yesterday and assesses it from its dates
of then, and leaves out what was not yet published; without `known_at`, today's.

The edits are made up for the test (an editor changing the Aghdam term's wording and
date); the world itself follows tests/api/conftest.py, published from its signing.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from deadlines import sweep
from deadlines.engine import due_instant
from tracker import known_texts
from tracker import vocabulary as V
from tracker.loader import bulk
from tracker.models import Agreement, Clause, Obligation

from .conftest import EFFECTIVE

pytestmark = pytest.mark.django_db

OLD_TITLE = "Return of the Aghdam district"
NEW_TITLE = "Return of the Aghdam district and its villages"
# At the end of 19 November 2020 in Baku: due soon under the date published first
# (20 November), overdue under the edited one (18 November; the army entered on the
# 20th, 00:00 local).
AS_OF = "2020-11-19"


def _yesterday() -> str:
    return (timezone.now() - timedelta(days=1)).date().isoformat()


def _edit_term(o: Obligation, **values) -> None:
    """Edit a term through the model (simple_history records it now), then let the
    sweep store what follows from its new dates, as a staff edit does."""
    for name, value in values.items():
        setattr(o, name, value)
    o.version += 1
    o.save()
    Obligation.objects.filter(pk=o.pk).update(needs_assessment=True)
    sweep.run()


@pytest.fixture
def edited_today(world) -> Obligation:
    o = world.aghdam_return
    new_due = date(2020, 11, 18)
    _edit_term(o, title=NEW_TITLE, original_due_date=new_due, due_date=new_due,
               due_at=due_instant(new_due, world.agreement.zone))
    return o


def _get(client, url: str, **params) -> dict:
    answer = client.get(url, params)
    assert answer.status_code == 200, answer.content
    return answer.json()


def test_api_detail_shows_the_term_and_its_status_as_published_then(client, world, edited_today):
    url = f"/api/v1/obligations/{edited_today.pk}/"
    then = _get(client, url, as_of=AS_OF, known_at=_yesterday())
    now = _get(client, url, as_of=AS_OF)
    assert (then["title"], then["original_due_date"], then["due_date"]) == (
        OLD_TITLE, "2020-11-20", "2020-11-20")
    assert then["status"] == V.DUE_SOON
    assert (now["title"], now["original_due_date"], now["due_date"]) == (
        NEW_TITLE, "2020-11-18", "2020-11-18")
    assert now["status"] == V.OVERDUE
    # Today, as known yesterday: the date of then decides (completed on time then).
    assert _get(client, url, known_at=_yesterday())["status"] == V.COMPLETED
    assert _get(client, url)["status"] == V.COMPLETED_LATE
    # The same term by its slug, and its history, read the dates of then too.
    by_slug = _get(client, f"/api/v1/agreements/{world.agreement.slug}/obligations/"
                           f"{edited_today.slug}/", as_of=AS_OF, known_at=_yesterday())
    assert by_slug["title"] == OLD_TITLE
    history = _get(client, f"{url}history/", known_at=_yesterday())
    assert V.OVERDUE not in [t["to_status"] for t in history["transitions"]]
    assert V.OVERDUE in [t["to_status"] for t in _get(client, f"{url}history/")["transitions"]]


def test_api_list_filter_and_csv_follow_known_at(client, world, edited_today):
    params = {"agreement": world.agreement.slug, "as_of": AS_OF}
    listed = _get(client, "/api/v1/obligations/", **params, known_at=_yesterday())
    row = next(o for o in listed["results"] if o["id"] == edited_today.pk)
    assert (row["title"], row["status"], row["due_date"]) == (
        OLD_TITLE, V.DUE_SOON, "2020-11-20")
    row = next(o for o in _get(client, "/api/v1/obligations/", **params)["results"]
               if o["id"] == edited_today.pk)
    assert (row["title"], row["status"]) == (NEW_TITLE, V.OVERDUE)
    overdue = {**params, "status": V.OVERDUE}
    assert edited_today.pk not in [
        o["id"] for o in _get(client, "/api/v1/obligations/", **overdue,
                              known_at=_yesterday())["results"]]
    assert edited_today.pk in [
        o["id"] for o in _get(client, "/api/v1/obligations/", **overdue)["results"]]

    def csv_row(**extra) -> dict:
        answer = client.get("/api/v1/obligations/", {**params, "format": "csv", **extra})
        assert answer.status_code == 200
        text = b"".join(answer.streaming_content).decode()
        return next(r for r in csv.DictReader(io.StringIO(text))
                    if r["id"] == str(edited_today.pk))

    then, now = csv_row(known_at=_yesterday()), csv_row()
    assert (then["title"], then["status"], then["original_due_date"]) == (
        OLD_TITLE, V.DUE_SOON, "2020-11-20")
    assert (now["title"], now["status"], now["original_due_date"]) == (
        NEW_TITLE, V.OVERDUE, "2020-11-18")
    # The agreement's counts, and the calendar, are those of the dates of then.
    counts = _get(client, f"/api/v1/agreements/{world.agreement.slug}/", as_of=AS_OF,
                  known_at=_yesterday())["status_counts"]
    assert counts.get(V.DUE_SOON) == 1 and V.OVERDUE not in counts
    cal = client.get("/api/v1/calendar.ics", {"as_of": AS_OF, "known_at": _yesterday()})
    body = cal.content.decode().replace("\r\n ", "")
    assert OLD_TITLE + " [" in body and NEW_TITLE not in body


def test_events_and_feed_name_the_term_as_published_then(client, world, edited_today):
    params = {"obligation": edited_today.pk}
    then = _get(client, "/api/v1/events/", **params, known_at=_yesterday())["results"]
    assert then and {e["obligation_title"] for e in then} == {OLD_TITLE}
    # Its history as known yesterday: completed on time, never overdue.
    assert V.OVERDUE not in {e["to_status"] for e in then}
    now = _get(client, "/api/v1/events/", **params)["results"]
    assert {e["obligation_title"] for e in now} == {NEW_TITLE}
    feed = Client().get("/feeds/events.atom", {"known_at": _yesterday()}).text
    assert f"{OLD_TITLE}: Completed" in feed and NEW_TITLE not in feed
    assert f"{NEW_TITLE}: Completed late" in Client().get("/feeds/events.atom").text


def test_what_changed_lists_the_edit_and_learned_since_says_so(client, world, edited_today):
    log = _get(client, f"/api/v1/obligations/{edited_today.pk}/changes/", since=_yesterday())
    [edit] = log["changes"]
    assert edit["kind"] == "edited"
    assert edit["old"]["title"] == OLD_TITLE and edit["new"]["title"] == NEW_TITLE
    assert edit["old"]["original_due_date"] == "2020-11-20"
    old = client.get(f"/api/v1/obligations/{edited_today.pk}/", {"known_at": _yesterday()})
    assert 'rel="latest-version"' in old["Link"] and "X-Learned-Since" in old


def test_dashboard_pages_as_known_yesterday(world, edited_today):
    page = reverse("web:obligation", args=[world.agreement.slug, edited_today.slug])
    then = Client().get(page, {"as_of": AS_OF, "known_at": _yesterday()})
    now = Client().get(page, {"as_of": AS_OF})
    assert then.status_code == now.status_code == 200
    assert NEW_TITLE not in then.text and OLD_TITLE in then.text
    assert then.context["status"]["key"] == V.DUE_SOON
    assert NEW_TITLE in now.text and now.context["status"]["key"] == V.OVERDUE
    agreement = reverse("web:agreement", args=[world.agreement.slug])
    listed = Client().get(agreement, {"as_of": AS_OF, "known_at": _yesterday()})
    assert NEW_TITLE not in listed.text and OLD_TITLE in listed.text
    overview = Client().get(reverse("web:overview"), {"as_of": AS_OF, "known_at": _yesterday()})
    assert NEW_TITLE not in overview.text and OLD_TITLE in overview.text
    assert NEW_TITLE in Client().get(reverse("web:overview"), {"as_of": AS_OF}).text


def test_agreement_and_clause_texts_as_published_then(client, world):
    agreement = world.agreement
    agreement.title = "Statement of 10 November 2020 (retitled)"
    agreement.save()
    clause = Clause.objects.get(agreement=agreement, number="2")
    clause.text = "Aghdam district by 20 November 2020 (reworded)."
    clause.save()
    url = f"/api/v1/agreements/{agreement.slug}/"
    assert _get(client, url, known_at=_yesterday())["title"] == (
        "Trilateral statement of 10 November 2020")
    assert _get(client, url)["title"] == "Statement of 10 November 2020 (retitled)"
    listed = _get(client, "/api/v1/agreements/", known_at=_yesterday())["results"]
    assert [a["title"] for a in listed] == ["Trilateral statement of 10 November 2020"]
    term = f"/api/v1/obligations/{world.aghdam_return.pk}/"
    assert _get(client, term, known_at=_yesterday())["clause_text"]["text"] == (
        "Aghdam by 20 Nov.")
    assert "(reworded)" in _get(client, term)["clause_text"]["text"]
    page = Client().get(reverse("web:obligation", args=[agreement.slug,
                                                        world.aghdam_return.slug]),
                        {"known_at": _yesterday()})
    assert "(reworded)" not in page.text and "(retitled)" not in page.text


@pytest.fixture
def created_today(world) -> Agreement:
    """An agreement and its one term entered today (made up for the test)."""
    later = Agreement.objects.create(
        slug="later-statement", title="A later statement", signed_at=EFFECTIVE,
        effective_at=EFFECTIVE, timezone="Asia/Baku",
    )
    Obligation.objects.create(agreement=later, slug="later-term", title="A later term",
                              kind=V.OPEN, category="humanitarian")
    sweep.run()
    return later


def test_an_agreement_created_today_is_absent_as_known_yesterday(client, world, created_today):
    yesterday = _yesterday()
    slugs = [a["slug"] for a in _get(client, "/api/v1/agreements/", known_at=yesterday)["results"]]
    assert slugs == [world.agreement.slug]
    assert "later-statement" in [a["slug"] for a in
                                 _get(client, "/api/v1/agreements/")["results"]]
    terms = _get(client, "/api/v1/obligations/", known_at=yesterday, page_size=100)
    assert "later-term" not in [o["slug"] for o in terms["results"]]
    assert terms["count"] == Obligation.objects.filter(agreement=world.agreement).count()
    detail = _get(client, "/api/v1/agreements/later-statement/", known_at=yesterday)
    assert detail["not_yet_published"] is True and "status_counts" not in detail
    assert "had not yet published later-statement" in detail["detail"]
    term = Obligation.objects.get(slug="later-term")
    answer = _get(client, f"/api/v1/obligations/{term.pk}/", known_at=yesterday)
    assert answer["not_yet_published"] is True and "status" not in answer
    assert _get(client, f"/api/v1/obligations/{term.pk}/")["title"] == "A later term"
    page = Client().get(reverse("web:agreement", args=["later-statement"]),
                        {"known_at": yesterday})
    assert page.status_code == 200
    assert "Not yet published." in page.text and "A later term" not in page.text
    assert "The tracker has learned more since" in page.text
    overview = Client().get(reverse("web:overview"), {"known_at": yesterday})
    assert "A later statement" not in overview.text
    assert "A later statement" in Client().get(reverse("web:overview")).text


def _many_terms(agreement: Agreement, n: int, start: int) -> None:
    """`n` deadlines published at the signing (as a file records them), each edited
    today: a new due date, and a new title."""
    due = date(2020, 12, 1)
    rows = Obligation.objects.bulk_create([
        Obligation(agreement=agreement, slug=f"bulk-{i}", title=f"Term {i}", kind=V.DEADLINE,
                   category="withdrawal", position=100 + i, due_date=due,
                   original_due_date=due, due_at=due_instant(due, agreement.zone))
        for i in range(start, start + n)
    ])
    bulk.record_history(Obligation, rows, update=False, published=agreement.signed_at)
    for o in rows:
        _edit_term_quietly(o)
    sweep.run()


def _edit_term_quietly(o: Obligation) -> None:
    o.title = f"{o.title} (edited)"
    o.original_due_date = o.due_date = date(2020, 11, 11)
    o.due_at = due_instant(o.due_date, o.agreement.zone)
    o.needs_assessment = True
    o.save()


def _queries(client, url: str, **params) -> tuple[int, object]:
    with CaptureQueriesContext(connection) as ctx:
        answer = client.get(url, params)
    assert answer.status_code == 200, answer.content
    return len(ctx.captured_queries), answer


def test_query_counts_do_not_grow_with_the_rows_edited_since(client, world):
    params = {"as_of": "2020-11-20", "known_at": _yesterday(), "page_size": 100}
    _many_terms(world.agreement, 5, 0)
    small, answer = _queries(client, "/api/v1/obligations/", **params)
    titles = {o["title"] for o in answer.json()["results"]}
    assert "Term 0" in titles and "Term 0 (edited)" not in titles
    page_small, _ = _queries(Client(), "/", as_of="2020-11-20", known_at=_yesterday())
    agreement = reverse("web:agreement", args=[world.agreement.slug])
    agreement_small, _ = _queries(Client(), agreement, as_of="2020-11-20",
                                  known_at=_yesterday())
    _many_terms(world.agreement, 40, 5)
    large, answer = _queries(client, "/api/v1/obligations/", **params)
    statuses = {o["status"] for o in answer.json()["results"] if o["slug"].startswith("bulk-")}
    assert statuses == {V.PENDING}  # due on 1 December as published then, not overdue
    assert small == large, (small, large)
    page_large, page = _queries(Client(), "/", as_of="2020-11-20", known_at=_yesterday())
    assert page_small == page_large, (page_small, page_large)
    assert "(edited)" not in page.text
    agreement_large, _ = _queries(Client(), agreement, as_of="2020-11-20",
                                  known_at=_yesterday())
    assert agreement_small == agreement_large, (agreement_small, agreement_large)


def test_overlay_reads_the_records_once_and_leaves_unpublished_rows_out(world, created_today):
    later = datetime.now(UTC) - timedelta(days=1)
    rows = list(Obligation.objects.select_related("agreement").order_by("pk"))
    with CaptureQueriesContext(connection) as ctx:
        kept = known_texts.as_known(rows, later)
    assert len(ctx.captured_queries) == 1
    assert "later-term" not in [o.slug for o in kept]
    assert len(kept) == len(rows) - 1
    with CaptureQueriesContext(connection) as ctx:
        assert known_texts.as_known(rows, later) == kept  # already overlaid: no query
    assert len(ctx.captured_queries) == 0
