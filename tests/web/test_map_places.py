"""The map on the real files: each place shows its mix of statuses, every place has a
position (approximate ones say so), and corridors and routes are drawn as lines."""

from __future__ import annotations

import re

import pytest

from tracker import vocabulary as V
from tracker.models import Location

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(all_agreements_swept):
    return all_agreements_swept


def markers(response) -> dict[str, object]:
    return {e["m"].label.split(" / ")[0]: e["m"] for e in response.context["legend"]}


def test_completions_show_beside_what_is_still_open(client, loaded):
    r = client.get("/map/", {"agreement": "nov-2020-trilateral"})
    by_name = markers(r)
    html = r.content.decode()
    for name in ("Aghdam", "Kalbajar", "Lachin"):
        place = next(m for label, m in by_name.items() if label.startswith(name))
        counts = dict(place.counts)
        assert counts.get(V.COMPLETED), (name, place.counts)
        assert len(counts) > 1, (name, place.counts)  # a mix, not one status
        # The mix in words, in the marker's title and the map's text alternative.
        assert re.search(rf"{place.number}\. {re.escape(place.label)}: [^<]*\d+ completed", html)
    assert 'class="map-segment status-fill-completed"' in html


def test_every_place_has_a_position_and_lines_are_lines(client, loaded):
    r = client.get("/map/")
    labels = {m.label for m in markers(r).values()}
    for slug in ("lachin-corridor", "syunik", "nakhchivan-ar", "giyamaddinli"):
        assert Location.objects.get(slug=slug).label in labels, slug
    html = r.content.decode()
    assert html.count('<polyline class="map-route"') == 2  # the corridor and the route
    # Every stand-in position says it is approximate.
    for slug in ("lachin-corridor", "syunik", "nakhchivan-ar", "giyamaddinli", "hin-tagher"):
        assert "Approximate" in Location.objects.get(slug=slug).coordinates_note, slug
    assert "Position: Approximate" in html
    unplaced = [loc.slug for loc in r.context["unplaced"]]
    assert unplaced in ([], ["janyatag"])  # no basis in the reference for Janyatag
