"""The overview costs a fixed number of SQL queries, whatever the number of obligations."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deadlines import sweep
from deadlines.engine import due_instant
from tracker import vocabulary as V
from tracker.models import Agreement, Location, Obligation, OverviewSnapshot, Party, Report

pytestmark = pytest.mark.django_db
EFFECTIVE = datetime(2020, 11, 9, 21, tzinfo=UTC)


def populate(n: int) -> None:
    """`n` obligations of every kind, with parties, places and reports, then a sweep."""
    agreement, _ = Agreement.objects.get_or_create(
        slug="bulk", defaults={"title": "Bulk", "signed_at": EFFECTIVE,
                               "effective_at": EFFECTIVE, "timezone": "Asia/Baku"},
    )
    parties = [Party.objects.get_or_create(slug=f"p{i}", defaults={"name": f"P{i}"})[0]
               for i in range(3)]
    place, _ = Location.objects.get_or_create(
        slug="lachin", defaults={"names": {"en": "Lachin"}, "latitude": 39.64,
                                 "longitude": 46.55},
    )
    start = Obligation.objects.count()
    rows = []
    for i in range(start, start + n):
        kind = (V.DEADLINE, V.ONGOING, V.OPEN)[i % 3]
        due = date(2020, 11, 10) + timedelta(days=i % 2000) if kind == V.DEADLINE else None
        rows.append(Obligation(
            agreement=agreement, slug=f"o{i}", title=f"Obligation {i}", kind=kind,
            category=("withdrawal", "ceasefire", "humanitarian")[i % 3], position=i,
            due_date=due, original_due_date=due,
            due_at=due_instant(due, agreement.zone) if due else None,
            starts_at=EFFECTIVE if kind == V.ONGOING else None,
        ))
    created = Obligation.objects.bulk_create(rows)
    Through = Obligation.responsible.through
    Through.objects.bulk_create(
        [Through(obligation_id=o.pk, party_id=parties[o.pk % 3].pk) for o in created]
    )
    Places = Obligation.locations.through
    Places.objects.bulk_create([Places(obligation_id=o.pk, location_id=place.pk)
                                for o in created[::5]])
    Report.objects.bulk_create([
        Report(obligation=o, claim=V.CLAIM_COMPLETED if o.kind != V.ONGOING else
               V.CLAIM_VIOLATION, occurred_at=EFFECTIVE + timedelta(days=2 + 3 * j),
               summary="bulk", review_state=V.PUBLISHED, published_at=EFFECTIVE)
        for j, o in enumerate(created[::4])
    ])
    sweep.run()


def overview_queries(client, **params) -> int:
    with CaptureQueriesContext(connection) as ctx:
        r = client.get("/", params)
    assert r.status_code == 200
    return len(ctx.captured_queries)


def test_overview_query_count_is_fixed(client):
    populate(10)
    overview_queries(client)  # the first request ever also makes the snapshot's row
    OverviewSnapshot.objects.update(version="")  # out of date: the next one counts
    small = overview_queries(client)
    held = overview_queries(client)  # the counts just stored hold
    populate(190)
    assert Obligation.objects.count() == 200
    large = overview_queries(client)  # new rows: counted again
    assert small == large, (small, large)
    assert large <= 13
    # agreements, the snapshot with the version (which holds the parties' counts by
    # status), the listed rows, the renewable terms (their notice deadlines and ends),
    # the terms whose reports name actors (none here) and the party names, the latest
    # events and the relations between agreements (the chain); counting adds the count
    # and the store.
    assert held == overview_queries(client) == 8
    assert large == held + 2


def test_overview_cache_follows_the_sweep(client):
    from tests.web.conftest import build_world

    world = build_world()
    assert client.get("/").context["overdue_total"] == 1
    report = Report.objects.create(
        obligation=world.gazakh, claim=V.CLAIM_COMPLETED, occurred_at=EFFECTIVE +
        timedelta(days=1500), summary="Four villages transferred.", review_state=V.PUBLISHED,
        published_at=EFFECTIVE + timedelta(days=1500),
    )
    Obligation.objects.filter(pk=report.obligation_id).update(needs_assessment=True)
    sweep.run()
    r = client.get("/")
    assert r.context["overdue_total"] == 0
    counts = {c["status"]["key"]: c["n"] for c in r.context["agreements"][0]["counts"]}
    assert counts[V.COMPLETED_LATE] == 1


@pytest.mark.parametrize("as_of", ["2020-11-12", "2025-06-01"])
def test_overview_as_of_query_count_does_not_grow(client, as_of):
    populate(10)
    small = overview_queries(client, as_of=as_of)
    populate(190)
    large = overview_queries(client, as_of=as_of)
    assert small == large, (small, large)
    # 12 in SQL (one of them the renewable terms, one the chain of agreements, four the
    # parties' standings), plus twice 5 to read the facts of rows whose stored summary
    # does not hold then (a report dated after it: their deadline changes, reports, the
    # reports' actors, responsible parties and the relations that end terms) and assess
    # them with the engine: once for the statuses, once for the parties' standings.
    assert large <= (22 if as_of == "2020-11-12" else 12)


def test_places_page_is_bounded_whatever_the_number_of_obligations(client):
    from tracker.web.views import PLACE_OBLIGATIONS_SHOWN

    def visit():
        with CaptureQueriesContext(connection) as queries:
            r = client.get("/places/")
        assert r.status_code == 200
        [lachin] = r.context["results"]
        return lachin, len(queries)

    populate(20)  # 4 of them name Lachin
    few, few_queries = visit()
    assert few["total"] == 4 and len(few["obligations"]) == 4
    populate(200)  # 40 more
    many, many_queries = visit()
    assert many_queries == few_queries
    assert many["total"] == 44 and len(many["obligations"]) == PLACE_OBLIGATIONS_SHOWN
    # The first ones by id, and a link to every one of them on the agreement page.
    ids = [x["o"].pk for x in many["obligations"]]
    assert ids == sorted(ids) and ids[:4] == [x["o"].pk for x in few["obligations"]]
    [link] = many["agreements"]
    assert link["count"] == 44 and link["url"].endswith("/agreements/bulk/?place=lachin")
    body = client.get("/places/").content.decode()
    assert f"The first {PLACE_OBLIGATIONS_SHOWN} of 44 obligations" in body
    assert "All 44 in Bulk" in body
