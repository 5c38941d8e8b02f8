"""The Atom feed's `?agreement=` filter: a malformed slug is a 404, never a 500."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("slug", ["a\x00b", "\x00", "nov 2020", "nov-2020/../x", "é" * 3])
def test_malformed_agreement_slug_is_a_404(client, world, slug):
    # A NUL used to reach PostgreSQL ("string literal cannot contain NUL"): a 500.
    r = client.get("/feeds/events.atom", {"agreement": slug})
    assert r.status_code == 404


def test_well_formed_slug_still_filters(client, world):
    assert client.get("/feeds/events.atom", {"agreement": "nov-2020"}).status_code == 200
    assert client.get("/feeds/events.atom", {"agreement": "nope"}).status_code == 404
