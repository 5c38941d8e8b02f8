"""Each dashboard page offers its own data in every format, with its filters and point
in time; pages with a feed announce it; /api/v1/ is an index of everything."""

from __future__ import annotations

import re
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.web.test_views import AGREEMENT

pytestmark = pytest.mark.django_db
PAGES = ["/", AGREEMENT, f"{AGREEMENT}kalbajar-return/", "/map/", "/places/?q=Lachin"]


def _data_links(response) -> dict[str, str]:
    return {label: url for label, url in response.context["data"].links}


@pytest.mark.parametrize("page", PAGES)
def test_every_offered_link_answers_200(client, world, page):
    r = client.get(page, {"as_of": "2020-11-21"} if "?" not in page else None)
    assert r.status_code == 200
    links = _data_links(r)
    html = r.content.decode()
    kinds = " ".join(links)
    for wanted in ("JSON", "CSV", "calendar", "Atom", "API reference", "API index"):
        assert wanted in kinds, (page, wanted)
    for url in links.values():
        assert client.get(url).status_code == 200, url
        assert f'href="{url.replace("&", "&amp;")}"' in html


@pytest.mark.parametrize("page", PAGES)
def test_pages_announce_their_atom_feed(client, world, page):
    html = client.get(page).content.decode()
    [href] = re.findall(
        r'<link rel="alternate" type="application/atom\+xml" title="[^"]+" href="([^"]+)">',
        html,
    )
    assert client.get(href.replace("&amp;", "&")).status_code == 200


def test_agreement_page_links_carry_its_filters_and_point_in_time(client, world):
    r = client.get(AGREEMENT, {"party": "armenia", "place": "Kelbajar",
                               "as_of": "2020-11-21"})
    assert r.status_code == 200
    links = _data_links(r)
    csv_url = next(u for label, u in links.items()
                   if label.startswith("These obligations") and "CSV" in label)
    query = parse_qs(urlsplit(csv_url).query)
    assert query == {"agreement": ["nov-2020"], "party": ["armenia"], "place": ["kalbajar"],
                     "as_of": ["2020-11-21"], "format": ["csv"]}
    page_count = r.context["total"]
    api = client.get(csv_url.replace("format=csv", "format=json")).json()
    assert api["count"] == page_count


def test_api_root_is_an_index(client, world):
    r = client.get("/api/v1/")
    assert r.status_code == 200
    body = r.json()
    assert set(body["resources"]) == {"agreements", "obligations", "events", "reports",
                                      "locations", "parties", "sources", "claimants",
                                      "relations"}
    for url in [*body["resources"].values(), body["calendar"], body["feeds"]["events"],
                body["schema"], body["docs"], body["dashboard"]]:
        assert client.get(urlsplit(url).path).status_code == 200, url
    assert client.get("/api/v1").status_code == 301
