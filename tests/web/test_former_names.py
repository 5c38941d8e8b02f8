"""Dated names on the dashboard: at an `as_of` before a renaming every page names the
party and the place as they were then named; after it, and without `as_of`, by
today's names. The places page finds a place by a former name and says when it
changed."""

from __future__ import annotations

from datetime import date

import pytest

from deadlines import sweep
from tests.api.test_former_names import (
    AFTER,
    BEFORE,
    NEW_PARTY,
    NEW_PLACE,
    OLD_PARTY,
    OLD_PLACE,
)
from tests.loader.test_former_names import RENAMED
from tests.web.test_views import text
from tracker.loader import load

AGREEMENT = "/agreements/example-renamed-2021/"
TERM = AGREEMENT + "example-harbour-open/"


@pytest.fixture
def renamed(db):
    agreement = load(RENAMED).agreement
    sweep.run()
    return agreement


def _page(client, path, **params) -> str:
    response = client.get(path, params)
    assert response.status_code == 200, response.content[:500]
    return text(response)


@pytest.mark.parametrize("path", ["/", AGREEMENT, TERM, "/map/", "/scores/"])
def test_each_page_names_as_then_named(client, renamed, path):
    before = _page(client, path, as_of=BEFORE)
    after = _page(client, path, as_of=AFTER)
    now = _page(client, path)
    if path == "/map/":  # places only
        old, new = OLD_PLACE, NEW_PLACE
    elif path in ("/", "/scores/"):  # parties only
        old, new = OLD_PARTY, NEW_PARTY
    else:
        assert OLD_PLACE in before and NEW_PLACE in after
        old, new = OLD_PARTY, NEW_PARTY
    assert old in before and new not in before
    assert new in after and old not in after
    assert new in now and old not in now


def test_the_agreement_page_filters_and_map_use_the_names_of_the_time(client, renamed):
    response = client.get(AGREEMENT, {"as_of": BEFORE})
    html = response.content.decode()
    assert f'<option value="example-north">{OLD_PARTY}</option>' in html
    assert f'<option value="example-harbour">{OLD_PLACE}</option>' in html
    assert [e["m"].label for e in response.context["legend"]] == [OLD_PLACE]
    # A filter may still name the place by any of its names, a former one too.
    assert client.get(AGREEMENT, {"as_of": BEFORE, "place": "Old Fishport"}).status_code == 200


def test_the_obligation_page_names_responsible_monitors_standings_and_actors(client,
                                                                            renamed):
    response = client.get(TERM, {"as_of": BEFORE})
    assert [p.name for p in response.context["responsible"]] == [OLD_PARTY]
    assert [x["name"] for x in response.context["standings"]] == [OLD_PARTY]
    [report] = response.context["reports"]
    assert [p.name for p in report["actors"]] == [OLD_PARTY]
    assert [p["loc"].label for p in response.context["places"]] == [OLD_PLACE]
    now = client.get(TERM)
    assert [p.name for p in now.context["monitors"]] == ["South Side (fictional)"]
    assert [x["name"] for x in now.context["standings"]] == [NEW_PARTY]


def test_the_places_page_names_as_then_named_and_says_when_it_changed(client, renamed):
    before = client.get("/places/", {"as_of": BEFORE})
    [place] = before.context["results"]
    assert place["loc"].label == OLD_PLACE
    # The renamings that had happened by then, and no name given later.
    assert place["names"] == ["Fishport", "Рыбпорт", "Bay Town", "Old Fishport"]
    assert place["former"] == [("Old Fishport", date(2021, 5, 1))]
    assert "New Harbour" not in text(before)
    assert "Named “Old Fishport” until 1 May 2021." in text(before)
    # Its data link answers for the same instant, with the same names.
    json_url = next(url for label, url in before.context["data"].links
                    if label == "These places as JSON")
    assert "as_of=2021-06-14" in json_url
    for after in (client.get("/places/", {"as_of": AFTER}), client.get("/places/")):
        [place] = after.context["results"]
        assert place["loc"].label == NEW_PLACE
        assert "Named “Fishport / Bay Town” until 15 June 2021." in text(after)


def test_the_places_page_finds_a_place_by_a_former_name(client, renamed):
    body = _page(client, "/places/", q="Old Fishport")
    assert "1 place matches" in body and NEW_PLACE in body
    assert "0 places match" in _page(client, "/places/", q="Harbourside")
