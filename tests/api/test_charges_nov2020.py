"""Issue 15's done-when on the real November 2020 file, read through the API: who is
charged with what, at the dates the issue names."""

from __future__ import annotations

import pytest
from django.test import Client

from deadlines import sweep
from tracker import vocabulary as V

pytestmark = pytest.mark.django_db


def parties_at(slug: str, as_of: str) -> dict[str, dict]:
    body = Client().get(f"/api/v1/agreements/{slug}/", {"as_of": as_of}).json()
    return {p["party"]: p for p in body["party_counts"]}


def test_the_checkpoint_is_charged_to_azerbaijan_as_actor_and_russia_has_no_breach(nov2020):
    sweep.run()
    parties = parties_at(nov2020.slug, "2023-04-24")
    assert parties["azerbaijan"]["as_actor"] == {V.VIOLATED: 1}
    assert not set(parties["russia"]["counts"]) & set(V.BREACHES)
    assert parties["russia"]["as_actor"] == {}


def test_a_violation_of_the_joint_ceasefire_is_charged_to_its_actor_alone(nov2020):
    sweep.run()
    parties = parties_at(nov2020.slug, "2020-12-12")
    assert parties["azerbaijan"]["counts"].get(V.VIOLATED) == 1
    assert V.VIOLATED not in parties["armenia"]["counts"]


def test_gazakh_is_nobodys_breach_at_any_date(nov2020):
    sweep.run()
    gazakh = nov2020.obligations.get(slug="gazakh-return")
    for as_of in ("2020-11-19", "2020-11-22", "2022-01-01", "2024-06-01", "2026-12-04"):
        body = Client().get(f"/api/v1/obligations/{gazakh.pk}/", {"as_of": as_of}).json()
        assert body["status"] == V.DISPUTED, as_of
        assert not any(s["charged"] for s in body["standings"]), as_of
