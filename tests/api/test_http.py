"""HTTP behaviour: ETag/304, caching headers, throttling, CORS, constant queries, schema."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deadlines import sweep
from tests.factories import ObligationFactory, PartyFactory, ReportFactory
from tracker import vocabulary as V
from tracker.models import Location, Obligation

pytestmark = pytest.mark.django_db

OBL = "/api/v1/obligations/"
READS = [
    OBL, f"{OBL}?status=completed", "/api/v1/agreements/", "/api/v1/agreements/nov-2020/",
    "/api/v1/events/", "/api/v1/reports/", "/api/v1/locations/", "/api/v1/parties/",
    "/api/v1/sources/", "/api/v1/calendar.ics", f"{OBL}?as_of=2020-11-21",
]


@pytest.mark.parametrize("path", READS)
def test_etag_and_304(client, world, path):
    first = client.get(path)
    assert first.status_code == 200
    etag = first["ETag"]
    assert etag.startswith('"') and first["Cache-Control"] == "public, max-age=60"
    again = client.get(path, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    assert again["ETag"] == etag
    assert client.get(path, HTTP_IF_NONE_MATCH=f"W/{etag}").status_code == 304
    assert client.get(path, HTTP_IF_NONE_MATCH='"other"').status_code == 200


def test_etag_changes_when_data_changes(client, world):
    etag = client.get(OBL)["ETag"]
    report = ReportFactory(obligation=world.ceasefire, claim=V.CLAIM_VIOLATION_ENDED,
                           occurred_at=datetime(2022, 9, 15, tzinfo=UTC))
    after_report = client.get(OBL, HTTP_IF_NONE_MATCH=etag)
    assert after_report.status_code == 200 and after_report["ETag"] != etag
    etag = after_report["ETag"]
    Obligation.objects.filter(pk=report.obligation_id).update(needs_assessment=True)
    sweep.run()  # a new status: a StatusEvent row
    assert client.get(OBL, HTTP_IF_NONE_MATCH=etag).status_code == 200
    # Another query string is another representation.
    assert client.get(f"{OBL}?kind=open")["ETag"] != client.get(OBL)["ETag"]
    loc = Location.objects.get(slug="aghdam")
    etag = client.get("/api/v1/locations/")["ETag"]
    loc.aliases = ["Akdam"]
    loc.save()
    assert client.get("/api/v1/locations/", HTTP_IF_NONE_MATCH=etag).status_code == 200


def test_authenticated_reads_are_private(world, editor):
    from tests.api.conftest import token_client

    r = token_client(editor).get(OBL)
    assert r.status_code == 200 and r["Cache-Control"] == "private, no-cache"
    assert "Authorization" in r["Vary"]


def test_cors_open_for_get(client, world):
    r = client.get(OBL, HTTP_ORIGIN="https://newsroom.example")
    assert r["Access-Control-Allow-Origin"] == "*"
    assert "X-As-Of" in r["Access-Control-Expose-Headers"]
    pre = client.options(OBL, HTTP_ORIGIN="https://newsroom.example",
                         HTTP_ACCESS_CONTROL_REQUEST_METHOD="GET")
    assert "GET" in pre["Access-Control-Allow-Methods"]
    feed = client.get("/feeds/events.atom", HTTP_ORIGIN="https://newsroom.example")
    assert feed["Access-Control-Allow-Origin"] == "*"


def test_anonymous_throttle(client, world, settings):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "3/minute", "user": "1000/minute"},
    }
    cache.clear()
    codes = [client.get("/api/v1/parties/").status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    r = client.get("/api/v1/parties/")
    assert r.status_code == 429 and int(r["Retry-After"]) > 0
    assert r.json()["code"] == "throttled"


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


@pytest.mark.parametrize(
    "params",
    [{}, {"status": "completed,pending"}, {"q": "lachin"}, {"as_of": "2020-11-21"},
     {"as_of": "2020-11-18", "status": "due_soon,completed"}, {"status": "overdue"}],
)
def test_list_queries_constant(client, world, params):
    """A page costs the same number of queries at 10 and at 100 items."""

    def queries(n_extra: int) -> int:
        Obligation.objects.filter(slug__startswith="bulk-").delete()
        party = PartyFactory(slug="armenia")
        for i in range(n_extra):
            o = ObligationFactory(agreement=world.agreement, slug=f"bulk-{i}",
                                  title=f"Lachin bulk {i}")
            o.responsible.set([party])
            o.locations.set([world.lachin])
            o.sources.set([world.source])
            if i % 2:
                ReportFactory(obligation=o, claim=V.CLAIM_COMPLETED,
                              occurred_at=datetime(2020, 11, 12, tzinfo=UTC))
        sweep.run()
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(OBL, {**params, "page_size": 500})
        assert r.status_code == 200
        return len(ctx.captured_queries), r.json()["count"]

    small, n_small = queries(10)
    large, n_large = queries(100)
    assert n_large > n_small > 0
    assert small == large


def test_detail_and_history_queries_bounded(client, world, django_assert_max_num_queries):
    # The term's facts with their actors, claimants and the relations ending it (once),
    # its relations to other agreements, its clause text: a fixed number.
    with django_assert_max_num_queries(16):
        client.get(f"{OBL}{world.kalbajar_return.pk}/?as_of=2020-11-21")
    # The history's reports come with their actors (one query for all of them).
    with django_assert_max_num_queries(13):
        client.get(f"{OBL}{world.kalbajar_return.pk}/history/")


def test_schema_valid_without_warnings(tmp_path):
    call_command("spectacular", "--validate", "--fail-on-warn", "--file",
                 str(tmp_path / "schema.yaml"))
    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3")


def test_schema_and_docs_served_locally(client, db):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert schema.status_code == 200
    assert "/api/v1/obligations/" in schema.json()["paths"]
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    html = docs.content.decode()
    assert "swagger-ui" in html and "cdn" not in html.lower()
    assert "/static/drf_spectacular_sidecar/" in html


def test_the_schema_shows_public_reads_as_public_and_writes_as_signed(client, db):
    paths = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()[
        "paths"]
    assert paths["/api/v1/obligations/"]["get"]["security"] == []
    assert paths["/api/v1/calendar.ics"]["get"]["security"] == []
    # Drafts are visible to editors: the token stays optional there, and required to write.
    assert {} in paths["/api/v1/reports/"]["get"]["security"]
    assert {} not in paths["/api/v1/reports/"]["post"]["security"]
    assert paths["/api/v1/reports/"]["post"]["security"]


def test_redoc_links_land_on_the_one_reference(client, db):
    r = client.get("/api/redoc/")
    assert r.status_code == 301 and r["Location"] == "/api/docs/"


@pytest.mark.parametrize(
    "path",
    [
        f"{OBL}?page=abc", f"{OBL}?page=-1", f"{OBL}?page_size=abc", f"{OBL}?page_size=-5",
        f"{OBL}?as_of=9999-12-31", f"{OBL}?as_of=0001-01-01", f"{OBL}?as_of=%00",
        f"{OBL}?as_of=2020-11-21T25:00:00Z", f"{OBL}?q=%00", f"{OBL}?q=" + "x" * 5000,
        f"{OBL}?ordering=-status,title", f"{OBL}?due_after=2020-02-30",
        f"{OBL}abc/", f"{OBL}99999999999999999999999/", f"{OBL}1/history/?as_of=x",
        "/api/v1/events/?since=yesterday", "/api/v1/events/?obligation=abc",
        "/api/v1/reports/?occurred_after=xx", "/api/v1/reports/abc/",
        "/api/v1/calendar.ics?as_of=2020-01-01", "/api/v1/obligations/?format=xml",
        "/api/v1/agreements/nov-2020/?as_of=1899-12-31",
        "/api/v1/events/?obligation=1e400", "/api/v1/events/?obligation=99999999999999999999",
        "/api/v1/reports/?obligation=-1.5", "/api/v1/reports/?obligation=NaN",
        "/api/v1/reports/?occurred_before=0433-08-10T19%3A15%3A15.123108-21%3A12",
        "/api/v1/events/?since=2020-01-01T00:00:00", f"{OBL}?due_before=0001-01-01",
    ],
)
def test_never_500(client, world, path):
    r = client.get(path)
    assert r.status_code < 500, (path, r.status_code)
    if r.status_code >= 400:
        assert r["Content-Type"].startswith("application/json"), path


def test_public_bodies_cached_by_etag(client, world, django_assert_max_num_queries):
    first = client.get(OBL, {"kind": "deadline"})
    from tracker.api import fastcache

    assert fastcache.body_get(f"api:body:{first['ETag']}").endswith(first.content)
    with django_assert_max_num_queries(1):  # only the data version
        again = client.get(OBL, {"kind": "deadline"})
    assert again.status_code == 200 and again.content == first.content
    assert again["ETag"] == first["ETag"] and again["Cache-Control"] == "public, max-age=60"
    # New data, new ETag: the cached body is never served for it.
    world.aghdam_return.title = "Return of Aghdam (edited)"
    world.aghdam_return.save()
    fresh = client.get(OBL, {"kind": "deadline"})
    assert b"(edited)" in fresh.content and fresh["ETag"] != first["ETag"]


def test_detail_bodies_stay_in_the_process(client, world, django_assert_max_num_queries):
    from tracker.api import fastcache

    url = f"{OBL}{world.aghdam_return.pk}/"
    first = client.get(url)
    key = f"api:body:{first['ETag']}"
    assert fastcache.body_get(key).endswith(first.content)  # this process's LRU
    def in_redis(key):
        return fastcache.redis_client().get(cache.make_key(key)) is not None

    assert not in_redis(key)  # one id of many: not worth a Redis round trip
    with django_assert_max_num_queries(1):  # only the data version
        again = client.get(url)
    assert again.content == first.content and again["ETag"] == first["ETag"]
    listed = client.get(OBL)
    assert in_redis(f"api:body:{listed['ETag']}")  # lists are shared


def test_anonymous_revalidation_answered_before_drf(client, world, settings):
    etag = client.get(OBL)["ETag"]
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "1/minute", "user": "1000/minute"},
    }
    cache.clear()
    # Revalidations cost no throttle slot and are answered from the data version alone.
    for _ in range(3):
        r = client.get(OBL, HTTP_IF_NONE_MATCH=etag)
        assert r.status_code == 304 and r["ETag"] == etag
    assert client.get(OBL).status_code == 200
    assert client.get(OBL).status_code == 429
    # The calendar's default format is iCalendar: its tag matches the same way.
    cache.clear()
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK,
                               "DEFAULT_THROTTLE_RATES": {"anon": "100/minute"}}
    ics = client.get("/api/v1/calendar.ics")["ETag"]
    assert client.get("/api/v1/calendar.ics", HTTP_IF_NONE_MATCH=ics).status_code == 304
    # A CSV tag is not mistaken for the JSON one.
    csv_tag = client.get(OBL, {"format": "csv"})["ETag"]
    assert client.get(OBL, HTTP_IF_NONE_MATCH=csv_tag).status_code == 200


def test_version_remembered_briefly(world, monkeypatch):
    from tracker.api import conditional

    monkeypatch.setattr(conditional, "VERSION_TTL_SECONDS", 60)
    conditional.forget()
    first = conditional.data_version()
    ReportFactory(obligation=world.prisoners, claim=V.CLAIM_PROGRESS)  # post_save: forgotten
    assert conditional.data_version() != first


def test_throttle_without_redis(client, world, settings):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {"anon": "2/minute", "user": "1000/minute"},
    }
    codes = [client.get("/api/v1/parties/").status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_cached_body_keeps_as_of_header(client, world):
    url = f"{OBL}{world.kalbajar_return.pk}/"
    first = client.get(url, {"as_of": "2020-11-14"})
    again = client.get(url, {"as_of": "2020-11-14"})
    assert first["X-As-Of"] == again["X-As-Of"] == "2020-11-14T19:59:59.999999Z"
    assert again.content == first.content
    assert again["Content-Type"] == "application/json"


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "TRACE"])
def test_a_method_no_one_may_use_is_405_before_authentication(client, db, method):
    r = client.generic(method, "/api/v1/agreements/")
    assert r.status_code == 405 and r["Allow"], r.content
    assert client.generic(method, "/api/v1/obligations/").status_code == 405
