"""Read endpoints: shapes, every filter, time travel, ordering and pagination."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.utils import timezone

from deadlines import sweep
from tracker import vocabulary as V
from tracker.models import Obligation

pytestmark = pytest.mark.django_db

OBL = "/api/v1/obligations/"


def slugs(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [o["slug"] for o in response.json()["results"]]


def test_obligation_fields(client, world):
    body = client.get(f"{OBL}{world.kalbajar_return.pk}/").json()
    for field in (
        "id", "slug", "agreement", "clause", "title", "kind", "category", "responsible",
        "locations", "due_date", "due_at", "original_due_date", "deadline_changes", "status",
        "status_since", "days_overdue", "days_remaining", "term_ends_at", "notice_deadline",
        "sources", "url",
    ):
        assert field in body, field
    assert body["agreement"] == "nov-2020"
    assert body["clause"] == "6"
    assert body["due_date"] == "2020-11-25"
    assert body["due_at"] == "2020-11-25T20:00:00Z"  # 00:00 on the 26th in Baku
    assert body["original_due_date"] == "2020-11-15"
    [change] = body["deadline_changes"]
    assert change["due_date"] == "2020-11-25" and change["sources"][0]["publisher"] == "JAM News"
    assert body["status"] == V.COMPLETED
    assert body["responsible"] == [{"slug": "armenia", "name": "Armenia"}]
    assert body["locations"][0]["label"] == "Kalbajar / Karvachar"
    assert body["url"].endswith(f"{OBL}{world.kalbajar_return.pk}/")
    assert body["as_of"] is None


def test_term_fields(client, world):
    body = client.get(f"{OBL}{world.peacekeeping_term.pk}/").json()
    assert body["status"] == V.IN_FORCE
    assert body["term_ends_at"] and body["notice_deadline"]
    then = client.get(f"{OBL}{world.peacekeeping_term.pk}/?as_of=2021-01-01").json()
    assert then["term_ends_at"] == "2025-11-09T21:00:00Z"
    assert then["notice_deadline"] == "2025-05-09T21:00:00Z"


def test_list_envelope_and_pagination(client, world):
    r = client.get(OBL, {"page_size": 2})
    body = r.json()
    assert body["count"] == 6 and len(body["results"]) == 2 and body["next"]
    assert body["as_of"] is None
    seen = []
    url = f"{OBL}?page_size=2"
    while url:
        page = client.get(url).json()
        seen += [o["id"] for o in page["results"]]
        url = page["next"]
    assert sorted(seen) == sorted(Obligation.objects.values_list("pk", flat=True))
    assert len(seen) == len(set(seen))
    # Capped page size.
    assert len(client.get(OBL, {"page_size": 100000}).json()["results"]) == 6


@pytest.mark.parametrize(
    "params, expected",
    [
        ({"agreement": "nov-2020"}, 6),
        ({"kind": "deadline"}, 3),
        ({"kind": "ongoing"}, 2),
        ({"category": "humanitarian"}, 1),
        ({"responsible": "russia"}, 1),
        ({"responsible": "armenia"}, 5),
        ({"location": "lachin"}, 2),
        ({"due_after": "2020-11-21"}, 2),
        ({"due_before": "2020-11-20"}, 1),
        ({"due_after": "2020-11-21", "due_before": "2020-11-30"}, 1),
        ({"status": "completed"}, 3),
        ({"status": "completed,in_force"}, 4),
        ({"status": "violated"}, 1),
        ({"status": "in_progress"}, 1),
        ({"q": "kalbajar"}, 1),
        ({"q": "Kəlbəcər"}, 1),
        ({"q": "postponed"}, 1),
    ],
)
def test_filters(client, world, params, expected):
    assert client.get(OBL, params).json()["count"] == expected


def test_search_every_name_form(client, world):
    lachin = set(slugs(client.get(OBL, {"q": "Berdzor"})))
    assert lachin == {"lachin-return", "peacekeeping-term"}
    assert set(slugs(client.get(OBL, {"q": "Laçın"}))) == lachin
    assert set(slugs(client.get(OBL, {"q": "LACHIN"}))) == lachin
    assert slugs(client.get(OBL, {"q": "Stepanakert"})) == ["peacekeeping-term"]
    assert slugs(client.get(OBL, {"q": "Khankendi"})) == ["peacekeeping-term"]
    assert slugs(client.get(OBL, {"q": "Xankəndi"})) == ["peacekeeping-term"]


@pytest.mark.parametrize(
    "params, field",
    [
        ({"status": "bogus"}, "status"),
        ({"status": "completed,bogus"}, "status"),
        ({"status": "%"}, "status"),  # a '%' in the echoed value is no format string
        ({"kind": "%(x)s,%s"}, "kind"),
        ({"kind": "eventual"}, "kind"),
        ({"category": "nonsense"}, "category"),
        ({"agreement": "no-such"}, "agreement"),
        ({"responsible": "narnia"}, "responsible"),
        ({"location": "atlantis"}, "location"),
        ({"due_after": "20-11-2020"}, "due_after"),
        ({"ordering": "secret"}, "ordering"),
        ({"as_of": "garbage"}, "as_of"),
        ({"as_of": "2020-11-21T10:00:00"}, "as_of"),
        ({"as_of": "2020-13-01"}, "as_of"),
        ({"as_of": "2020-11-21", "ordering": "status"}, "ordering"),
    ],
)
def test_unknown_filter_values_are_400(client, world, params, field):
    r = client.get(OBL, params)
    assert r.status_code == 400, r.content
    body = r.json()
    assert field in body["errors"] and body["detail"]


def test_ordering_whitelist_and_tiebreak(client, world):
    due = slugs(client.get(OBL, {"ordering": "due_date", "kind": "deadline"}))
    assert due == ["aghdam-return", "kalbajar-return", "lachin-return"]
    rev = slugs(client.get(OBL, {"ordering": "-due_date", "kind": "deadline"}))
    assert rev == list(reversed(due))
    # Ties (same status) are broken by id, so pages never overlap.
    by_status = client.get(OBL, {"ordering": "status", "page_size": 500}).json()["results"]
    pairs = [(o["status"], o["id"]) for o in by_status]
    assert pairs == sorted(pairs)


@pytest.mark.parametrize("param, value", [
    ("page", "abc"), ("page", "0"), ("page", "-1"), ("page", "²"), ("page", "1.5"),
    ("page_size", "abc"), ("page_size", "-5"), ("page_size", "0"), ("page_size", "٣"),
])
def test_a_malformed_page_or_page_size_is_a_400_naming_it(client, world, param, value):
    r = client.get(OBL, {param: value})
    assert r.status_code == 400, r.content
    assert param in r.json()["errors"]


def test_a_page_past_the_end_is_json_404_and_last_is_the_last(client, world):
    r = client.get(OBL, {"page": 99})
    assert r.status_code == 404 and "past the last page" in r.json()["detail"]
    last = client.get(OBL, {"page": "last", "page_size": 4}).json()
    assert last["next"] is None and last["previous"] is not None


def test_unknown_paths_are_json(client, world):
    for path in ("/api/v1/nothing/", "/api/v2/", f"{OBL}999999/", "/api/v1/agreements/nope/"):
        r = client.get(path)
        assert r.status_code == 404 and r["Content-Type"].startswith("application/json")
        assert r.json()["detail"]
    r = client.get(OBL.rstrip("/"), {"kind": "open"})
    assert r.status_code == 301 and r["Location"] == f"{OBL}?kind=open"
    # An encoded newline in the path is still under the API: JSON, not Django's HTML.
    r = client.get("/api/v1/agreements/a%0Ab/obligations/c/")
    assert r.status_code == 404 and r["Content-Type"].startswith("application/json")


def test_a_method_a_view_lacks_is_405_before_its_parameters(world, editor):
    # Signed in (so no 401 first), a TRACE with a bad as_of is still a 405, not a 400.
    from tests.api.conftest import token_client

    r = token_client(editor).generic("TRACE", "/api/v1/agreements/?as_of=garbage")
    assert r.status_code == 405 and r.json()["detail"]


# ---------------------------------------------------------------- time travel


def _status(client, obligation, as_of) -> dict:
    r = client.get(f"{OBL}{obligation.pk}/", {"as_of": as_of})
    assert r.status_code == 200, r.content
    return r.json()


def test_as_of_november_2020(client, world):
    k = world.kalbajar_return
    body = _status(client, k, "2020-11-13")
    assert body["status"] == V.DUE_SOON and body["due_date"] == "2020-11-15"
    assert body["days_remaining"] == 2
    # The date means the end of that day in Baku: 19:59:59.999999 UTC.
    assert body["as_of"] == "2020-11-13T19:59:59.999999Z"
    # Postponed on the 15th: pending again, due the 25th.
    body = _status(client, k, "2020-11-16")
    assert body["status"] == V.PENDING and body["due_date"] == "2020-11-25"
    assert _status(client, k, "2020-11-24")["status"] == V.DUE_SOON
    assert _status(client, k, "2020-11-25")["status"] == V.COMPLETED
    # Aghdam: "by 20 November", done on the 20th local.
    assert _status(client, world.aghdam_return, "2020-11-19")["status"] == V.DUE_SOON
    assert _status(client, world.aghdam_return, "2020-11-20")["status"] == V.COMPLETED
    # Prisoners: nothing yet, then progress from 14 December.
    assert _status(client, world.prisoners, "2020-12-13")["status"] == V.PENDING
    body = _status(client, world.prisoners, "2020-12-14")
    assert body["status"] == V.IN_PROGRESS and body["status_report"]
    # Ceasefire violated (unconfirmed report) from 13 Sep 2022 local.
    body = _status(client, world.ceasefire, "2022-09-13")
    assert body["status"] == V.VIOLATED and body["unconfirmed"] is True


def test_as_of_instant_and_header(client, world):
    r = client.get(f"{OBL}{world.kalbajar_return.pk}/", {"as_of": "2020-11-15T07:59:00Z"})
    assert r.json()["status"] == V.DUE_SOON and r.json()["due_date"] == "2020-11-15"
    assert r["X-As-Of"] == "2020-11-15T07:59:00Z"
    r = client.get(f"{OBL}{world.kalbajar_return.pk}/", {"as_of": "2020-11-15T12:00:00+04:00"})
    assert r.json()["status"] == V.PENDING and r.json()["due_date"] == "2020-11-25"
    r = client.get(OBL, {"as_of": "2020-11-21"})
    assert r["X-As-Of"] == "2020-11-21" and r.json()["as_of"] == "2020-11-21"


def test_status_filter_uses_as_of_status(client, world):
    r = client.get(OBL, {"as_of": "2020-11-14", "status": "due_soon"})
    assert slugs(r) == ["kalbajar-return"]
    r = client.get(OBL, {"as_of": "2020-11-21", "status": "pending,due_soon"})
    assert set(slugs(r)) == {"kalbajar-return", "lachin-return", "prisoner-exchange"}
    for o in r.json()["results"]:
        assert o["status"] in ("pending", "due_soon")


def test_history(client, world):
    r = client.get(f"{OBL}{world.kalbajar_return.pk}/history/")
    body = r.json()
    steps = [(t["from_status"], t["to_status"]) for t in body["transitions"]]
    assert steps == [("", "pending"), ("pending", "due_soon"), ("due_soon", "pending"),
                     ("pending", "due_soon"), ("due_soon", "completed")]
    assert body["transitions"][-1]["report"]["id"] == world.kalbajar_done.pk
    assert body["transitions"][-1]["report"]["summary"].startswith("Azerbaijani army")
    cut = client.get(f"{OBL}{world.kalbajar_return.pk}/history/", {"as_of": "2020-11-14"})
    assert [t["to_status"] for t in cut.json()["transitions"]] == ["pending", "due_soon"]
    assert cut["X-As-Of"] == cut.json()["as_of"] == "2020-11-14T19:59:59.999999Z"
    assert client.get(f"{OBL}{world.kalbajar_return.pk}/history/",
                      {"as_of": "nope"}).status_code == 400


def test_agreement_counts(client, world):
    body = client.get("/api/v1/agreements/nov-2020/").json()
    assert sum(body["status_counts"].values()) == 6
    assert body["status_counts"][V.COMPLETED] == 3
    parties = {p["party"]: p for p in body["party_counts"]}
    assert parties["armenia"]["total"] == 5
    assert parties["russia"]["counts"] == {V.IN_FORCE: 1}
    now = client.get("/api/v1/agreements/nov-2020/", {"as_of": timezone.now().isoformat()})
    assert now.json()["status_counts"] == body["status_counts"]
    assert now.json()["party_counts"] == body["party_counts"]
    then = client.get("/api/v1/agreements/nov-2020/", {"as_of": "2020-11-14"}).json()
    assert then["as_of"] == "2020-11-14"
    assert then["status_counts"][V.DUE_SOON] == 1
    assert V.COMPLETED not in then["status_counts"]  # Aghdam was done on the 20th
    listed = client.get("/api/v1/agreements/").json()
    assert listed["results"][0]["status_counts"] == body["status_counts"]
    assert client.get("/api/v1/agreements/", {"party": "russia"}).json()["count"] == 1


def test_events(client, world):
    body = client.get("/api/v1/events/").json()
    times = [e["effective_at"] for e in body["results"]]
    assert times == sorted(times, reverse=True)
    assert body["count"] > 6
    k = client.get("/api/v1/events/", {"obligation": world.kalbajar_return.pk}).json()
    assert [e["to_status"] for e in k["results"]][0] == V.COMPLETED
    only = client.get("/api/v1/events/", {"status": "completed"}).json()
    assert {e["to_status"] for e in only["results"]} == {V.COMPLETED}
    assert only["count"] == 3
    cut = client.get("/api/v1/events/", {"as_of": "2020-11-20"}).json()
    assert all(e["effective_at"] < "2020-11-20T20:00:00Z" for e in cut["results"])
    assert {e["to_status"] for e in cut["results"]} >= {V.DUE_SOON, V.COMPLETED}
    agreement = client.get("/api/v1/events/", {"agreement": "nov-2020"}).json()
    assert agreement["count"] == body["count"]
    since = client.get("/api/v1/events/", {"since": "2020-12-01T00:00:00Z"}).json()
    assert all(e["effective_at"] >= "2020-12-01" for e in since["results"])
    assert client.get("/api/v1/events/", {"cause": "nonsense"}).status_code == 400
    assert client.get("/api/v1/events/", {"status": "late"}).status_code == 400


def test_reports_public_only_published(client, world):
    body = client.get("/api/v1/reports/").json()
    assert body["count"] == 5
    assert all(r["review_state"] == V.PUBLISHED for r in body["results"])
    draft = world.ceasefire.reports.get(review_state=V.DRAFT)
    assert client.get(f"/api/v1/reports/{draft.pk}/").status_code == 404
    assert client.get("/api/v1/reports/", {"claim": "progress"}).json()["count"] == 1
    assert client.get("/api/v1/reports/", {"obligation": world.prisoners.pk}).json()["count"] == 1


def test_places_parties_sources(client, world):
    places = client.get("/api/v1/locations/", {"q": "Berdzor"}).json()["results"]
    assert [p["slug"] for p in places] == ["lachin"]
    assert client.get("/api/v1/locations/lachin/").json()["label"] == "Lachin / Berdzor"
    assert client.get("/api/v1/locations/", {"kind": "town"}).json()["count"] == 1
    assert client.get("/api/v1/parties/", {"kind": "guarantor"}).json()["count"] == 1
    assert client.get("/api/v1/parties/armenia/").json()["name"] == "Armenia"
    assert client.get("/api/v1/sources/", {"agreement": "nov-2020"}).json()["count"] == 2
    assert client.get("/api/v1/sources/", {"language": "en"}).json()["count"] == 2


def test_as_of_rejected_where_meaningless(client, world):
    # Parties and places travel in time (their names of the time); sources do not.
    assert client.get("/api/v1/sources/", {"as_of": "2020-11-21"}).status_code == 400
    assert client.get("/api/v1/parties/", {"as_of": "2020-11-21"}).status_code == 200


def test_as_of_across_zones(client, world):
    # A second agreement in another zone: a date means the end of the day *there*.
    from tests.factories import AgreementFactory, ObligationFactory

    other = AgreementFactory(slug="pacific", timezone="Pacific/Kiritimati",
                             effective_at=datetime(2020, 11, 1, tzinfo=UTC),
                             signed_at=datetime(2020, 11, 1, tzinfo=UTC))
    o = ObligationFactory(agreement=other, slug="far", due_date=world.aghdam_return.due_date)
    sweep.run()
    body = _status(client, o, "2020-11-20")
    assert body["as_of"] == "2020-11-20T09:59:59.999999Z"  # UTC+14
    assert body["status"] == V.DUE_SOON
    assert _status(client, o, "2020-11-21")["status"] == V.OVERDUE


def test_human_link_by_slugs(client, world):
    r = client.get("/api/v1/agreements/nov-2020/obligations/kalbajar-return/",
                   {"as_of": "2020-11-14"})
    assert r.status_code == 200
    assert r.json()["id"] == world.kalbajar_return.pk and r.json()["status"] == V.DUE_SOON
    assert r.json()["url"].endswith(f"{OBL}{world.kalbajar_return.pk}/")
    assert client.get("/api/v1/agreements/nov-2020/obligations/nope/").status_code == 404
