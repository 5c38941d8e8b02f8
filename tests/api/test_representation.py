"""The obligation representation is built by hand for speed (`ObligationSerializer.
to_representation` over `tracker.api.relations`); its declared fields are the schema.
These tests hold the two to the same answer, field for field, on the real November
2020 file: now, at past instants, and through the list, the detail and the CSV."""

from __future__ import annotations

import pytest
from rest_framework import serializers as drf
from rest_framework.test import APIRequestFactory

from deadlines import sweep
from tracker import statuses
from tracker import vocabulary as V
from tracker.api.claims import claims_for
from tracker.api.relations import relations_for
from tracker.api.serializers import ObligationSerializer
from tracker.instants import AsOf
from tracker.models import Obligation

from .test_formats import read_csv

pytestmark = pytest.mark.django_db


class DeclaredFields(ObligationSerializer):
    """DRF's generic path over the declared fields: the reference."""

    to_representation = drf.ModelSerializer.to_representation


def _reference(obligations, at, request) -> list[dict]:
    states = statuses.states_for(obligations, at)
    out = []
    for o in obligations:
        o.state = states[o.pk]
        o.public_changes = list(
            o.deadline_changes.filter(review_state=V.PUBLISHED).order_by("agreed_at", "id")
        )
        out.append(dict(DeclaredFields(o, context={"request": request, "as_of": at}).data))
    return out


def _fast(obligations, at, request) -> list[dict]:
    states = statuses.states_for(obligations, at)
    related = relations_for([o.pk for o in obligations])
    claims = claims_for(obligations, states, at)
    for o in obligations:
        o.state, o.relations, o.claims = states[o.pk], related[o.pk], claims[o.pk]
    return ObligationSerializer(obligations, many=True,
                                context={"request": request, "as_of": at}).data


@pytest.mark.parametrize("at", [None, "2020-11-14", "2020-11-21", "2022-12-20", "2024-06-01"])
def test_fast_representation_equals_declared_fields(nov2020, at):
    from datetime import date

    sweep.run()
    request = APIRequestFactory().get("/api/v1/obligations/")
    when = AsOf(date.fromisoformat(at) if at else None)
    obligations = list(Obligation.objects.select_related("agreement", "clause"))
    expected = _reference(obligations, when, request)
    got = _fast(list(Obligation.objects.select_related("agreement", "clause")), when, request)
    assert len(got) == len(expected) == 18  # the 2020 file's terms
    for e, g in zip(expected, got, strict=True):
        assert list(g) == list(e), "same fields in the same order"
        assert g == e, e["slug"]
    # The representation is not vacuous: places with both names, a moved deadline.
    kalbajar = next(g for g in got if g["slug"] == "kalbajar-return")
    assert kalbajar["deadline_changes"] and kalbajar["deadline_changes"][0]["sources"]
    assert kalbajar["deadline_changes"][0]["agreed_at"].endswith("Z")
    assert any(p["label"] == "Lachin / Berdzor" for g in got for p in g["locations"])


def test_detail_list_and_csv_agree(client, nov2020):
    sweep.run()
    listed = client.get("/api/v1/obligations/", {"page_size": 100}).json()["results"]
    for item in listed:
        detail = client.get(item["url"])
        assert detail.status_code == 200
        assert detail.json() == item
    rows = read_csv(client.get("/api/v1/obligations/", {"format": "csv"}))
    assert [r["url"] for r in rows] == [i["url"] for i in listed]
    # Links are the objects' own addresses, not the export's format carried along.
    assert all(r["url"].endswith(f"/api/v1/obligations/{r['id']}/") for r in rows)


@pytest.mark.parametrize("key", ["abc", "99999999999999999999999", "9223372036854775808",
                                 "-1", "0", "%EF%BC%95", "1_0", "1e3"])
def test_detail_lookup_of_no_obligation_is_404(client, nov2020, key):
    r = client.get(f"/api/v1/obligations/{key}/")
    assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_detail_now_and_as_of_read_the_same_row(client, nov2020):
    sweep.run()
    o = Obligation.objects.get(slug="kalbajar-return")
    now = client.get(f"/api/v1/obligations/{o.pk}/").json()
    then = client.get(f"/api/v1/obligations/{o.pk}/", {"as_of": "2020-11-14"}).json()
    assert now["agreement"] == then["agreement"] == "nov-2020-trilateral"
    assert now["clause"] == then["clause"] is not None
    assert then["as_of"] and then["due_date"] == "2020-11-15"
    assert now["as_of"] is None and now["due_date"] == "2020-11-25"
    by_slug = client.get(f"/api/v1/agreements/nov-2020-trilateral/obligations/{o.slug}/")
    assert by_slug.json() == now
