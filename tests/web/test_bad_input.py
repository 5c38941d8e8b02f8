"""Input the dashboard must refuse with its 400 page (never a 500), and dates read in
each agreement's own time zone when the overview and the map show several zones."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.cache import cache

from deadlines import sweep
from deadlines.engine import due_instant
from tests.web.test_views import AGREEMENT, text
from tracker import vocabulary as V
from tracker.instants import AsOf, as_of
from tracker.models import Agreement, Clause, Location, Obligation, Report, StatusEvent

pytestmark = pytest.mark.django_db
PAGES = ["/", AGREEMENT, f"{AGREEMENT}kalbajar-return/", "/map/", "/places/"]


# ---------------------------------------------------------------- as_of at datetime's limits


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+01:00",  # converting to UTC overflowed: a 500
        "0001-01-01T00:00",  # naive, local to Baku (east of UTC): same
        "9999-12-31T23:59:59-01:00",
        "9999-12-31",
        "0001-01-01",
        "1899-12-31T23:00:00Z",
        "3000-01-01T00:00:00+05:00",
    ],
)
def test_as_of_out_of_range_is_a_400_on_every_page(client, world, value):
    for url in PAGES:
        r = client.get(url, {"as_of": value})
        assert r.status_code == 400, (url, value)
        assert "as_of=" in text(r) and "between 1900 and 2999" in text(r)


@pytest.mark.parametrize(
    "value", ["1900-01-01T00:00:00+01:00", "2999-12-31T23:59:59-01:00", "2999-12-31"]
)
def test_as_of_at_the_range_edges_answers(client, world, value):
    # The same years as the API (`tracker.api.params`), checked before converting.
    for url in PAGES:
        assert client.get(url, {"as_of": value}).status_code == 200, (url, value)
    assert client.get("/api/v1/obligations/", {"as_of": value}).status_code == 200


def test_web_and_api_read_as_of_alike():
    baku = ZoneInfo("Asia/Baku")
    asof = as_of("2020-11-15T12:00:00+04:00", local_zone=baku)
    assert asof.at(baku) == datetime(2020, 11, 15, 8, tzinfo=UTC)
    assert asof == as_of("2020-11-15T12:00:00+04:00")  # the API's reading
    # A naive time (the page's own extension) is local to the page's zone.
    assert as_of("2020-11-15T12:00", local_zone=baku).at(baku) == asof.at(baku)
    # "+" lost in a URL
    assert as_of("2020-11-15 12:00:00 04:00", local_zone=baku).at(baku) == asof.at(baku)
    day = as_of("2020-11-15", local_zone=baku)
    assert day.date_only and day.at(baku) == AsOf(date(2020, 11, 15)).at(baku)
    assert day.at(baku) == datetime(2020, 11, 15, 19, 59, 59, 999999, tzinfo=UTC)


# ---------------------------------------------------------------- text reaching the database


def test_places_search_with_nul_is_a_400(client, world):
    r = client.get("/places/", {"q": "Lach\x00in"})
    assert r.status_code == 400
    assert "NUL" in text(r)
    assert client.get("/places/", {"q": "Lachin"}).status_code == 200


@pytest.mark.parametrize("param", ["status", "party", "category", "place", "window"])
def test_agreement_filters_with_nul_are_a_400(client, world, param):
    r = client.get(AGREEMENT, {param: "a\x00b"})
    assert r.status_code == 400
    assert f"{param}=" in text(r)


@pytest.mark.parametrize("url", PAGES)
def test_as_of_with_nul_is_a_400(client, world, url):
    assert client.get(url, {"as_of": "2020-11-15\x00"}).status_code == 400


def test_map_agreement_with_nul_is_a_400(client, world):
    assert client.get("/map/", {"agreement": "nov\x002020"}).status_code == 400


# ---------------------------------------------------------------- a date in each zone


@pytest.fixture
def two_zones(db) -> dict[str, Agreement]:
    """Two agreements, each with one deadline "by 20 November 2020": Baku (UTC+4) and
    New York (UTC-5). The New York one is met at 21:00 local on the 20th (02:00 UTC on
    the 21st): the end of the 20th in UTC is before that, in New York after it."""
    agreements = {}
    for slug, tz, place in [("east", "Asia/Baku", "aghdam"), ("west", "America/New_York",
                                                                 "lachin")]:
        a = Agreement.objects.create(
            slug=slug, title=f"Agreement {slug}", timezone=tz,
            signed_at=datetime(2020, 11, 1, tzinfo=UTC),
            effective_at=datetime(2020, 11, 1, tzinfo=UTC),
        )
        clause = Clause.objects.create(agreement=a, number="1", text="Withdraw.", position=1)
        o = Obligation.objects.create(
            agreement=a, clause=clause, slug="withdrawal", title=f"Withdrawal {slug}",
            kind=V.DEADLINE, category="withdrawal", due_date=date(2020, 11, 20),
            original_due_date=date(2020, 11, 20), due_at=due_instant(date(2020, 11, 20),
                                                                     a.zone),
            position=1,
        )
        o.locations.set([Location.objects.create(
            slug=place, names={"en": place.title()}, latitude=40.0, longitude=46.5)])
        agreements[slug] = a
    Report.objects.create(
        obligation=Obligation.objects.get(agreement__slug="west"), claim=V.CLAIM_COMPLETED,
        occurred_at=datetime(2020, 11, 21, 2, tzinfo=UTC), summary="Withdrawn.",
        review_state=V.PUBLISHED, published_at=datetime(2020, 12, 1, tzinfo=UTC),
        origin="file",
    )
    sweep.run()
    return agreements


@pytest.fixture
def fresh_api_cache():
    # API bodies are cached by data version; another test's must not answer here.
    from tracker.api import conditional, fastcache

    cache.clear()
    fastcache.forget_local()
    conditional.forget()
    yield
    cache.clear()
    fastcache.forget_local()


def api_counts(client, as_of: str) -> dict[str, Counter]:
    r = client.get("/api/v1/obligations/", {"as_of": as_of, "page_size": 500})
    assert r.status_code == 200
    counts: dict[str, Counter] = {}
    for row in r.json()["results"]:
        counts.setdefault(row["agreement"], Counter())[row["status"]] += 1
    return counts


@pytest.mark.parametrize("as_of", ["2020-11-19", "2020-11-20", "2020-11-21"])
def test_overview_reads_a_date_in_each_agreements_zone(client, two_zones, fresh_api_cache,
                                                        as_of):
    expected = api_counts(client, as_of)
    r = client.get("/", {"as_of": as_of})
    assert r.status_code == 200
    shown = {
        c["agreement"].slug: Counter({n["status"]["key"]: n["n"] for n in c["counts"]})
        for c in r.context["agreements"]
    }
    assert shown == expected
    if as_of == "2020-11-20":
        # Due today in Baku (not yet overdue), met in New York by the end of its day.
        assert shown == {"east": {V.DUE_SOON: 1}, "west": {V.COMPLETED: 1}}
        assert "each agreement's own time zone" in text(r)
        # No overdue row, no countdown or "days overdue" counted from UTC midnight.
        assert r.context["overdue_total"] == 0
        # The latest changes stop at each agreement's own end of the day.
        for e in r.context["events"]:
            zone = ZoneInfo(e["event"].timezone)
            assert e["event"].effective_at <= AsOf(date(2020, 11, 20)).at(zone)
        assert StatusEvent.objects.filter(
            obligation__agreement__slug="east", to_status=V.OVERDUE
        ).exists()
        assert V.OVERDUE not in {e["event"].to_status for e in r.context["events"]}


@pytest.mark.parametrize("as_of", ["2020-11-20", "2020-11-21"])
def test_map_reads_a_date_in_each_agreements_zone(client, two_zones, fresh_api_cache, as_of):
    expected = api_counts(client, as_of)
    legend = client.get("/map/", {"as_of": as_of}).context["legend"]
    shown = {e["m"].label: Counter({s["key"]: n for s, n in e["counts"]}) for e in legend}
    assert shown == {"Aghdam": expected["east"], "Lachin": expected["west"]}
    # One agreement chosen: its own zone, as before.
    legend = client.get("/map/", {"as_of": as_of, "agreement": "east"}).context["legend"]
    assert [Counter({s["key"]: n for s, n in e["counts"]}) for e in legend] == [
        expected["east"]
    ]


def test_places_reads_a_date_in_each_agreements_zone(client, two_zones):
    r = client.get("/places/", {"as_of": "2020-11-20"})
    statuses = {
        item["o"].agreement.slug: item["status"]["key"]
        for result in r.context["results"] for item in result["obligations"]
    }
    assert statuses == {"east": V.DUE_SOON, "west": V.COMPLETED}
