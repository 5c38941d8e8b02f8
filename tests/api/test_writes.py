"""Writes: POST a draft report, publish/reject it. The permission matrix, bad bodies."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from deadlines import sweep
from tests.api.conftest import token_client
from tracker import vocabulary as V
from tracker.models import Obligation, Report, Source

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports/"


def body(world, **over) -> dict:
    data = {
        "obligation": world.ceasefire.pk,
        "claim": "violation_ended",
        "occurred_at": "2022-09-14T10:00:00+04:00",
        "summary": "Truce holds along the border.",
        "sources": [world.source.pk],
    }
    data.update(over)
    return data


def test_anonymous_write_is_401(client, world):
    before = Report.objects.count()
    r = client.post(REPORTS, body(world), format="json")
    assert r.status_code == 401 and r.json()["detail"]
    assert "WWW-Authenticate" in r
    assert Report.objects.count() == before


def test_bad_token_is_401(world):
    from rest_framework.test import APIClient

    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION="Token nonsense")
    assert c.post(REPORTS, body(world), format="json").status_code == 401


def test_non_editor_is_403(world):
    outsider = User.objects.create_user("reader", password="x")
    before = Report.objects.count()
    r = token_client(outsider).post(REPORTS, body(world), format="json")
    assert r.status_code == 403 and r.json()["detail"]
    assert Report.objects.count() == before


def test_editor_creates_draft_with_new_source(world, editor):
    c = token_client(editor)
    new = {"url": "https://news.example/truce", "publisher": "News Example",
           "title": "Truce", "published_at": "2022-09-15", "language": "en"}
    r = c.post(REPORTS, body(world, sources=[world.source.pk, new]), format="json")
    assert r.status_code == 201, r.content
    data = r.json()
    assert data["review_state"] == V.DRAFT
    assert r["Location"] == data["url"]
    report = Report.objects.get(pk=data["id"])
    assert report.author == editor
    created = Source.objects.get(url="https://news.example/truce")
    assert created.agreement == world.agreement and created.key.startswith("news-example-")
    assert set(report.sources.all()) == {world.source, created}
    # Drafts are not public, but the editor sees it.
    assert c.get(f"{REPORTS}{report.pk}/").status_code == 200
    from rest_framework.test import APIClient

    assert APIClient().get(f"{REPORTS}{report.pk}/").status_code == 404


def test_date_only_occurred_at(world, editor):
    r = token_client(editor).post(REPORTS, body(world, occurred_at="2022-09-14"), format="json")
    assert r.status_code == 201, r.content
    assert r.json()["occurred_date_only"] is True
    assert r.json()["occurred_at"] == "2022-09-13T20:00:00Z"  # 00:00 in Baku


@pytest.mark.parametrize(
    "over, field",
    [
        ({"obligation": 999999}, "obligation"),
        ({"obligation": "abc"}, "obligation"),
        ({"claim": "won"}, "claim"),
        ({"claim": "completed"}, "claim"),  # not a claim an ongoing obligation takes
        ({"occurred_at": "yesterday"}, "occurred_at"),
        ({"occurred_at": "2022-09-14T10:00:00"}, "occurred_at"),  # no offset
        ({"occurred_at": "2019-01-01T00:00:00Z"}, "occurred_at"),  # before signing
        ({"occurred_at": "2999-01-01T00:00:00Z"}, "occurred_at"),  # future
        ({"summary": ""}, "summary"),
        ({"summary": "   "}, "summary"),
        ({"sources": []}, "sources"),
        ({"sources": [999999]}, "sources"),
        ({"sources": ["x"]}, "sources"),
        ({"sources": [{"url": "not a url", "publisher": "X"}]}, "sources"),
        ({"sources": [{"url": "https://ok.example"}]}, "sources"),
        ({"sources": [True]}, "sources"),
    ],
)
def test_bad_bodies_are_400_per_field(world, editor, over, field):
    before = (Report.objects.count(), Source.objects.count())
    r = token_client(editor).post(REPORTS, body(world, **over), format="json")
    assert r.status_code == 400, r.content
    assert field in r.json()["errors"], r.json()
    assert (Report.objects.count(), Source.objects.count()) == before


def test_new_source_rolled_back_when_report_invalid(world, editor):
    before = Source.objects.count()
    r = token_client(editor).post(
        REPORTS,
        body(world, claim="completed",
             sources=[{"url": "https://x.example", "publisher": "X"}]),
        format="json",
    )
    assert r.status_code == 400
    assert Source.objects.count() == before


def test_source_of_another_agreement_is_400(world, editor):
    from tests.factories import SourceFactory

    foreign = SourceFactory()
    r = token_client(editor).post(REPORTS, body(world, sources=[foreign.pk]), format="json")
    assert r.status_code == 400 and "sources" in r.json()["errors"]


def test_malformed_json_is_400(world, editor):
    r = token_client(editor).post(REPORTS, data="{not json", content_type="application/json")
    assert r.status_code == 400 and r.json()["detail"]


def _draft(world, editor) -> int:
    r = token_client(editor).post(REPORTS, body(world), format="json")
    assert r.status_code == 201, r.content
    return r.json()["id"]


def test_publish_matrix(client, world, editor, other_editor, reviewer):
    pk = _draft(world, editor)
    url = f"{REPORTS}{pk}/publish/"
    v1 = {"version": 1}
    assert client.post(url, v1, format="json").status_code == 401
    # own draft, not a reviewer
    assert token_client(editor).post(url, v1, format="json").status_code == 403
    assert token_client(other_editor).post(url, v1, format="json").status_code == 403
    assert Report.objects.get(pk=pk).review_state == V.DRAFT
    r = token_client(reviewer).post(url, v1, format="json")
    assert r.status_code == 200, r.content
    assert r.json()["review_state"] == V.PUBLISHED and r.json()["published_at"]
    # Publishing flags the obligation; the sweep (or the enqueued task) re-assesses it.
    assert Obligation.objects.get(pk=world.ceasefire.pk).needs_assessment
    sweep.run()
    status = client.get(f"/api/v1/obligations/{world.ceasefire.pk}/").json()["status"]
    assert status == V.IN_FORCE  # the violation ended
    # Twice is a conflict of state: 400 with a message, nothing changes.
    again = token_client(reviewer).post(url, {"version": 2}, format="json")
    assert again.status_code == 400 and again.json()["detail"]


def test_a_reviewer_only_reviews(world, editor):
    # docs/api.md's matrix: drafting is the editor group's, reviewing the reviewer's.
    from tests.api.conftest import _user

    reviewer_only = _user("rev-only", "reviewer")
    c = token_client(reviewer_only)
    before = Report.objects.count()
    r = c.post(REPORTS, body(world), format="json")
    assert r.status_code == 403 and "editor" in r.json()["detail"].lower()
    assert Report.objects.count() == before
    pk = _draft(world, editor)
    r = c.post(f"{REPORTS}{pk}/publish/", {"version": 1}, format="json")
    assert r.status_code == 200 and r.json()["review_state"] == V.PUBLISHED


def test_reviewer_cannot_publish_own(world, reviewer):
    pk = _draft(world, reviewer)  # reviewers are editors too
    r = token_client(reviewer).post(f"{REPORTS}{pk}/publish/", {"version": 1}, format="json")
    assert r.status_code == 403 and "own" in r.json()["detail"]


def test_reject(world, editor, reviewer):
    pk = _draft(world, editor)
    url = f"{REPORTS}{pk}/reject/"
    no = {"reason": "no", "version": 1}
    assert token_client(editor).post(url, no, format="json").status_code == 403
    r = token_client(reviewer).post(url, {"version": 1}, format="json")
    assert r.status_code == 400 and "reason" in r.json()["errors"]
    r = token_client(reviewer).post(
        url, {"reason": "Single unnamed source.", "version": 1}, format="json"
    )
    assert r.status_code == 200 and r.json()["review_state"] == V.REJECTED
    assert r.json()["rejection_reason"] == "Single unnamed source."


def test_stale_version_is_409(world, editor, reviewer):
    pk = _draft(world, editor)
    r = token_client(reviewer).post(f"{REPORTS}{pk}/publish/", {"version": 99}, format="json")
    assert r.status_code == 409 and r.json()["code"] == "stale_edit"


def test_publish_unknown_report_is_404(world, reviewer):
    r = token_client(reviewer).post(f"{REPORTS}999999/publish/", {"version": 1}, format="json")
    assert r.status_code == 404


def test_writes_are_not_cached(world, editor):
    r = token_client(editor).post(REPORTS, body(world), format="json")
    assert r["Cache-Control"] == "no-store" and "ETag" not in r


def test_other_methods_refused(client, world, editor):
    c = token_client(editor)
    assert c.delete(f"{REPORTS}1/").status_code == 405
    assert c.put(f"/api/v1/obligations/{world.ceasefire.pk}/", {}).status_code == 405
    assert client.post("/api/v1/obligations/", {}).status_code in (401, 405)


def test_a_draft_posted_over_real_http_answers_201_with_its_location(
    transactional_db, live_server, settings
):
    """Through a real WSGI server (the test client skips the WSGI checks on headers):
    201 with a Location a client can follow, and exactly one draft stored."""
    import json
    import urllib.request

    from rest_framework.authtoken.models import Token

    from tests.api.conftest import _user, build_world

    settings.ALLOWED_HOSTS = ["*"]
    world = build_world()
    token = Token.objects.create(user=_user("http-editor", "editor"))
    request = urllib.request.Request(  # noqa: S310 - the test's own live server
        f"{live_server.url}{REPORTS}", data=json.dumps(body(world)).encode(), method="POST",
        headers={"Authorization": f"Token {token.key}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310
        assert response.status == 201
        location = response.headers["Location"]
        created = json.load(response)
    assert location == created["url"] and location.endswith(f"{REPORTS}{created['id']}/")
    assert Report.objects.filter(summary="Truce holds along the border.").count() == 1
    follow = urllib.request.Request(location, headers={"Authorization": f"Token {token.key}"})
    with urllib.request.urlopen(follow, timeout=30) as response:  # noqa: S310
        assert json.load(response)["id"] == created["id"]


@pytest.mark.parametrize(
    "occurred_at", ["0001-01-01", "9999-12-31", "0001-01-01T00:00:00+04:00", "1899-12-31"]
)
def test_occurred_at_far_outside_any_agreement_is_400(world, editor, occurred_at):
    before = Report.objects.count()
    r = token_client(editor).post(REPORTS, body(world, occurred_at=occurred_at), format="json")
    assert r.status_code == 400, r.content
    assert "year between" in " ".join(r.json()["errors"]["occurred_at"])
    assert Report.objects.count() == before


def test_date_only_flag_follows_occurred_at_and_is_not_an_input(world, editor):
    c = token_client(editor)
    timed = c.post(
        REPORTS,
        body(world, occurred_at="2022-09-14T10:37:00+04:00", occurred_date_only=True),
        format="json",
    )
    assert timed.status_code == 201, timed.content
    assert timed.json()["occurred_date_only"] is False
    assert Report.objects.get(pk=timed.json()["id"]).occurred_date_only is False
    day = c.post(REPORTS, body(world, occurred_at="2022-09-14", occurred_date_only=False),
                 format="json")
    assert day.status_code == 201 and day.json()["occurred_date_only"] is True


@pytest.mark.parametrize("action", ["publish", "reject"])
def test_publish_and_reject_need_the_version(world, editor, reviewer, action):
    pk = token_client(editor).post(REPORTS, body(world), format="json").json()["id"]
    r = token_client(reviewer).post(
        f"{REPORTS}{pk}/{action}/", {"reason": "Unsourced."}, format="json"
    )
    assert r.status_code == 400 and "version" in r.json()["errors"]
    assert Report.objects.get(pk=pk).review_state == V.DRAFT
    ok = token_client(reviewer).post(
        f"{REPORTS}{pk}/{action}/", {"reason": "Unsourced.", "version": 1}, format="json"
    )
    assert ok.status_code == 200, ok.content
