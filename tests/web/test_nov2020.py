"""The dashboard on the real November 2020 agreement file (the `nov2020` fixture), swept."""

from __future__ import annotations

import re

import pytest

from tracker import vocabulary as V

BASE = "/agreements/nov-2020-trilateral/"


@pytest.fixture
def loaded(nov2020_swept):
    return nov2020_swept


def test_every_page_renders_at_each_moment(client, loaded):
    for as_of in [None, "2020-11-10", "2020-11-16", "2022-12-20", "2024-06-13"]:
        params = {"as_of": as_of} if as_of else {}
        for url in ["/", BASE, f"{BASE}?window=all", f"{BASE}kalbajar-return/",
                    f"{BASE}ceasefire/", f"{BASE}peacekeepers-term/", "/map/", "/places/"]:
            r = client.get(url, params)
            assert r.status_code == 200, (url, as_of)


def test_kalbajar_moves_from_15_to_25_november(client, loaded):
    def kalbajar(as_of):
        r = client.get(BASE, {"as_of": as_of})
        item = next(i for c in r.context["clauses"] for i in c["items"]
                    if i["o"].slug == "kalbajar-return")
        return item["state"].due_date.day, item["status"]["key"], r.content.decode()

    day, status, html = kalbajar("2020-11-14")
    assert (day, status) == (15, V.DUE_SOON)
    assert 'class="tl-move"' not in html
    day, status, html = kalbajar("2020-11-16")
    assert (day, status) == (25, V.PENDING)
    assert "moved 15 Nov → 25 Nov" in html


def test_places_and_map_on_the_real_file(client, loaded):
    for q, label in [("Berdzor", "Lachin / Berdzor"), ("Stepanakert", "Khankendi / Stepanakert"),
                     ("Xankəndi", "Khankendi / Stepanakert")]:
        r = client.get("/places/", {"q": q})
        labels = [p["loc"].label for p in r.context["results"]]
        assert label in labels, (q, labels)
    r = client.get("/map/", {"as_of": "2020-11-14"})
    html = r.content.decode()
    assert len(re.findall(r'class="map-place"', html)) >= 5
    statuses = {e["m"].label: e["status"]["key"] for e in r.context["legend"]}
    assert any(s == V.DUE_SOON for s in statuses.values())
