"""Dated names in the API: at an `as_of` before a renaming every answer names the party
and the place as they were then named, after it by today's names, and without `as_of`
by today's names; the dated names are listed, and searchable."""

from __future__ import annotations

import csv
import io

import pytest

from deadlines import sweep
from tests.loader.test_former_names import RENAMED
from tracker.loader import load
from tracker.models import Obligation

OLD_PARTY, NEW_PARTY = "North Province (fictional)", "North Republic (fictional)"
OLD_PLACE, NEW_PLACE = "Fishport / Bay Town", "New Harbour / Bay Town"
BEFORE, AFTER = "2021-06-14", "2021-06-15"  # the renaming: 00:00 on 15 June, Tbilisi


@pytest.fixture
def renamed(db):
    agreement = load(RENAMED).agreement
    sweep.run()
    return agreement


@pytest.fixture
def term(renamed) -> Obligation:
    return Obligation.objects.get(slug="example-harbour-open")


def _get(client, path, **params):
    response = client.get(path, params)
    assert response.status_code == 200, response.content
    return response.json()


@pytest.mark.parametrize(("as_of", "party", "place"), [
    (BEFORE, OLD_PARTY, OLD_PLACE),
    (AFTER, NEW_PARTY, NEW_PLACE),
    ("2021-04-20", OLD_PARTY, "Old Fishport"),
    (None, NEW_PARTY, NEW_PLACE),
])
def test_an_obligation_names_its_parties_and_places_as_then_named(client, term, as_of, party,
                                                                   place):
    params = {"as_of": as_of} if as_of else {}
    body = _get(client, f"/api/v1/obligations/{term.pk}/", **params)
    assert body["responsible"] == [{"slug": "example-north", "name": party}]
    [loc] = body["locations"]
    assert loc["label"] == place
    assert loc["name"] == place.split(" / ")[0]
    listed = _get(client, "/api/v1/obligations/", **params)["results"]
    assert listed[0]["responsible"][0]["name"] == party
    assert listed[0]["locations"][0]["label"] == place


def test_the_earlier_name_is_not_shown_after_nor_todays_before(client, term):
    def names(as_of):
        body = _get(client, f"/api/v1/obligations/{term.pk}/", as_of=as_of)
        return str([body["responsible"], body["monitors"], body["locations"]])

    before, after = names(BEFORE), names(AFTER)
    assert "New Harbour" not in before and NEW_PARTY not in before
    assert "Fishport" not in after and OLD_PARTY not in after


def test_a_place_label_in_another_language_uses_the_forms_of_the_time(client, term):
    body = _get(client, f"/api/v1/obligations/{term.pk}/", as_of=BEFORE, lang="ru")
    assert body["locations"][0]["label"] == "Рыбпорт (Fishport / Bay Town)"
    body = _get(client, f"/api/v1/obligations/{term.pk}/", lang="ru")
    assert body["locations"][0]["label"] == "Новая Гавань (New Harbour / Bay Town)"


def test_the_agreement_names_its_parties_as_then_named(client, renamed):
    body = _get(client, f"/api/v1/agreements/{renamed.slug}/", as_of=BEFORE)
    assert {"slug": "example-north", "name": OLD_PARTY} in body["parties"]
    assert OLD_PARTY in [p["name"] for p in body["party_counts"]]
    body = _get(client, f"/api/v1/agreements/{renamed.slug}/", as_of=AFTER)
    assert {"slug": "example-north", "name": NEW_PARTY} in body["parties"]
    assert OLD_PARTY not in [p["name"] for p in body["party_counts"]]


def test_parties_and_places_travel_in_time_and_list_their_former_names(client, renamed):
    party = _get(client, "/api/v1/parties/example-north/", as_of="2021-06-14T23:59:00+04:00")
    assert party["name"] == OLD_PARTY
    assert party["former_names"] == []  # no renaming yet: none to list (no hindsight)
    party = _get(client, "/api/v1/parties/example-north/")
    assert party["name"] == NEW_PARTY
    assert party["former_names"] == [{
        "name": OLD_PARTY, "until": "2021-06-14T20:00:00Z",
        "sources": ["https://example.org/renaming-act"], "note": "",
    }]
    place = _get(client, "/api/v1/locations/example-harbour/", as_of="2021-06-14T19:59:59Z")
    assert (place["name"], place["label"]) == ("Fishport", OLD_PLACE)
    assert place["names"] == {"en": "Fishport", "ru": "Рыбпорт"}
    assert [(e["name"], e["until"], e["alt_name"]) for e in place["former_names"]] == [
        ("Old Fishport", "2021-05-01T08:00:00Z", "")]
    now = _get(client, "/api/v1/locations/example-harbour/")
    assert now["label"] == NEW_PLACE
    assert [e["until"] for e in now["former_names"]] == [
        "2021-05-01T08:00:00Z", "2021-06-14T20:00:00Z"]
    assert now["former_names"][1]["note"].startswith("renamed by the North's parliament")



def test_a_date_is_read_in_the_agreements_zone_or_in_utc(client, renamed):
    """Parties and places belong to no one agreement: a date is the end of that day in
    the zone of the agreement the list is narrowed to, else in UTC. The renaming came
    at 00:00 on 15 June in Tbilisi, 20:00 on 14 June in UTC."""
    listed = _get(client, "/api/v1/parties/", as_of=BEFORE, agreement=renamed.slug)
    assert OLD_PARTY in [p["name"] for p in listed["results"]]
    listed = _get(client, "/api/v1/locations/", as_of=BEFORE, agreement=renamed.slug)
    assert [p["label"] for p in listed["results"]] == [OLD_PLACE]
    assert _get(client, "/api/v1/parties/example-north/", as_of=BEFORE)["name"] == NEW_PARTY
    assert _get(client, "/api/v1/parties/example-north/", as_of="2021-06-13")["name"] == (
        OLD_PARTY)


def test_former_names_are_searchable(client, term):
    assert [p["slug"] for p in _get(client, "/api/v1/parties/", q="north province")
            ["results"]] == ["example-north"]
    assert [p["slug"] for p in _get(client, "/api/v1/locations/", q="Рыбпорт")
            ["results"]] == ["example-harbour"]
    assert [o["id"] for o in _get(client, "/api/v1/obligations/", place="Old Fishport")
            ["results"]] == [term.pk]
    assert [o["id"] for o in _get(client, "/api/v1/obligations/", q="fishport")
            ["results"]] == [term.pk]


def _csv(client, path, **params) -> list[dict]:
    response = client.get(path, {**params, "format": "csv"})
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def test_csv_names_as_then_named(client, renamed):
    [place] = _csv(client, "/api/v1/locations/", as_of=BEFORE, agreement=renamed.slug)
    assert (place["name"], place["alt_name"]) == ("Fishport", "Bay Town")
    names = {row["slug"]: row["name"] for row in _csv(client, "/api/v1/parties/",
                                                      as_of=BEFORE, agreement=renamed.slug)}
    assert names["example-north"] == OLD_PARTY
    [place] = _csv(client, "/api/v1/locations/", agreement=renamed.slug)
    assert place["name"] == "New Harbour"


def test_calendar_and_feed_name_as_then_named(client, term):
    ics = client.get("/api/v1/calendar.ics", {"as_of": BEFORE}).content.decode()
    unfolded = ics.replace("\r\n ", "")
    assert f"Responsible: {OLD_PARTY}" in unfolded
    assert "LOCATION:Fishport / Bay Town" in unfolded
    now = client.get("/api/v1/calendar.ics").content.decode().replace("\r\n ", "")
    assert f"Responsible: {NEW_PARTY}" in now
    # The completion of 10 June 2021 names its actor as the feed's as_of names it.
    feed = client.get("/feeds/events.atom", {"as_of": BEFORE}).content.decode()
    assert f"Actors: {OLD_PARTY}." in feed
    feed = client.get("/feeds/events.atom").content.decode()
    assert f"Actors: {NEW_PARTY}." in feed


def test_scores_name_parties_as_then_named(client, renamed):
    body = _get(client, "/api/v1/scores/", as_of=BEFORE, agreement=renamed.slug)
    assert OLD_PARTY in [r["name"] for r in body["results"]]
    body = _get(client, "/api/v1/scores/", as_of=AFTER, agreement=renamed.slug)
    assert NEW_PARTY in [r["name"] for r in body["results"]]


@pytest.mark.parametrize("path", ["/api/v1/parties/", "/api/v1/locations/example-harbour/"])
def test_bad_as_of_is_still_a_400_naming_it(client, renamed, path):
    for value in ("yesterday", "1899-12-31", "2021-06-14T12:00:00"):
        response = client.get(path, {"as_of": value})
        assert response.status_code == 400, value
        assert "as_of" in response.json()["errors"], response.json()
    response = client.get(path, {"known_at": "not a date"})
    assert response.status_code == 400
    assert "known_at" in response.json()["errors"]
