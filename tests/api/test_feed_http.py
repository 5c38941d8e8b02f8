"""The Atom feed as a feed reader polls it: conditional GET answers 304, bad parameters
are a plain-text 400/404, entries link to the obligation's dashboard page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"
FEED = "/feeds/events.atom"


def test_etag_and_last_modified_answer_304(client, world):
    first = client.get(FEED)
    assert first.status_code == 200
    etag, modified = first["ETag"], first["Last-Modified"]
    assert etag and modified
    again = client.get(FEED, HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again["ETag"] == etag
    since = client.get(FEED, HTTP_IF_MODIFIED_SINCE=modified)
    assert since.status_code == 304
    stale = client.get(FEED, HTTP_IF_NONE_MATCH='"something-else"')
    assert stale.status_code == 200


def test_the_etag_differs_per_agreement_filter(client, world):
    assert client.get(FEED)["ETag"] != client.get(FEED, {"agreement": "nov-2020"})["ETag"]


def test_unknown_agreement_is_a_plain_text_404_naming_it(client, world):
    r = client.get(FEED, {"agreement": "nope"})
    assert r.status_code == 404
    assert r["Content-Type"].startswith("text/plain")
    text = r.content.decode()
    assert "'nope'" in text and "nov-2020" in text and "<html" not in text.lower()


def test_unknown_parameter_is_a_plain_text_400(client, world):
    r = client.get(FEED, {"agreemnt": "nov-2020"})
    assert r.status_code == 400
    assert r["Content-Type"].startswith("text/plain")
    assert "'agreemnt'" in r.content.decode() and "agreement" in r.content.decode()


def test_entries_link_to_the_obligation_dashboard_page(client, world):
    root = ET.fromstring(client.get(FEED).content)
    entries = root.findall(f"{ATOM}entry")
    assert entries
    for entry in entries:
        href = entry.find(f"{ATOM}link").get("href")
        assert "/api/" not in href and href.startswith("http://testserver/agreements/")
        path = href.removeprefix("http://testserver")
        assert client.get(path).status_code == 200
    feed_link = root.find(f"{ATOM}link").get("href")
    assert "/api/" not in feed_link
