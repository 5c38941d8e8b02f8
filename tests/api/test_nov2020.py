"""Time travel through the real November 2020 agreement file, loaded by the loader."""

from __future__ import annotations

import pytest
from django.utils import timezone

from deadlines import sweep
from tracker import vocabulary as V
from tracker.models import Obligation

pytestmark = pytest.mark.django_db

OBL = "/api/v1/obligations/"


@pytest.fixture
def loaded(nov2020_swept):
    return nov2020_swept


def _by_slug(client, **params) -> dict[str, dict]:
    r = client.get(OBL, {"agreement": "nov-2020-trilateral", "page_size": 500, **params})
    assert r.status_code == 200, r.content
    return {o["slug"]: o for o in r.json()["results"]}


def test_kalbajar_moved_deadline(client, loaded):
    on_14 = _by_slug(client, as_of="2020-11-14")["kalbajar-return"]
    assert on_14["status"] == V.DUE_SOON and on_14["due_date"] == "2020-11-15"
    on_16 = _by_slug(client, as_of="2020-11-16")["kalbajar-return"]
    assert on_16["due_date"] == "2020-11-25"
    assert on_16["status"] in (V.PENDING, V.DUE_SOON)
    on_16_status = client.get(OBL, {"as_of": "2020-11-16", "status": on_16["status"]}).json()
    assert "kalbajar-return" in [o["slug"] for o in on_16_status["results"]]


def test_aghdam_and_lachin_returned(client, loaded):
    on_21 = _by_slug(client, as_of="2020-11-21")
    assert on_21["aghdam-return"]["status"] == V.COMPLETED
    assert on_21["lachin-district-return"]["status"] in (V.PENDING, V.DUE_SOON)
    dec_2 = _by_slug(client, as_of="2020-12-02")
    assert dec_2["lachin-district-return"]["status"] in (V.COMPLETED, V.COMPLETED_LATE)


def test_as_of_now_equals_stored_for_every_obligation(client, loaded):
    sweep.run()
    stored = _by_slug(client)
    now = _by_slug(client, as_of=timezone.now().isoformat())
    assert set(stored) == set(Obligation.objects.values_list("slug", flat=True))
    for slug, o in stored.items():
        assert (o["status"], o["status_since"]) == (now[slug]["status"],
                                                   now[slug]["status_since"]), slug


def test_status_filter_agrees_with_statuses_shown(client, loaded):
    for as_of in ("2020-11-14", "2020-11-21", "2021-06-01", "2023-01-01"):
        shown = _by_slug(client, as_of=as_of)
        for status in {o["status"] for o in shown.values()}:
            filtered = _by_slug(client, as_of=as_of, status=status)
            assert set(filtered) == {s for s, o in shown.items() if o["status"] == status}


def test_history_matches_events(client, loaded):
    k = Obligation.objects.get(slug="kalbajar-return")
    history = client.get(f"{OBL}{k.pk}/history/").json()["transitions"]
    events = client.get("/api/v1/events/", {"obligation": k.pk, "page_size": 500}).json()
    recorded = sorted((e["effective_at"], e["to_status"]) for e in events["results"])
    assert [(t["at"], t["to_status"]) for t in history] == recorded
