"""Issue 17 on the real November 2020 file: before signing nothing is pending, and on
14 November 2020 the Kalbajar term is due on the 15th with no trace of the move: not
in its fields, not in its title, not on its page (the reads derive the deadline in
force from the data at the instant)."""

from __future__ import annotations

import json

import pytest
from django.test import Client
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def loaded(nov2020_swept):
    return nov2020_swept


def test_before_signing_the_agreement_is_not_in_force(loaded):
    client = Client()
    detail = client.get(f"/api/v1/agreements/{loaded.slug}/", {"as_of": "2019-01-01"}).json()
    assert detail["not_yet_signed"] is True and "status_counts" not in detail
    assert client.get("/api/v1/obligations/", {"as_of": "2019-01-01"}).json()["count"] == 0
    page = client.get(reverse("web:agreement", args=[loaded.slug]), {"as_of": "2019-01-01"})
    assert "Not yet signed." in page.text and "Pending" not in page.text


def test_kalbajar_on_14_november_2020(loaded):
    term = loaded.obligations.get(slug="kalbajar-return")
    answer = Client().get(f"/api/v1/obligations/{term.pk}/", {"as_of": "2020-11-14"}).json()
    assert answer["due_date"] == "2020-11-15"
    assert answer["deadline_changes"] == []
    assert "2020-11-25" not in json.dumps(answer) and "25 November" not in json.dumps(answer)
    page = Client().get(reverse("web:obligation", args=[loaded.slug, term.slug]),
                        {"as_of": "2020-11-14"}).text
    assert "25 Nov" not in page and "2020-11-25" not in page
    later = Client().get(f"/api/v1/obligations/{term.pk}/", {"as_of": "2020-11-16"}).json()
    assert later["due_date"] == "2020-11-25" and len(later["deadline_changes"]) == 1
