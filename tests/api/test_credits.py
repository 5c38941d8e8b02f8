"""Who wrote and who reviewed a published report, shown publicly (tracker/credits.py):
as roles by default, as names when the editors choose, never as a broken reference."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User

from tests.api.conftest import token_client
from tracker.credits import FROM_FILE, credits
from tracker.models import Report

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports/"


def publish_one(world, editor, reviewer) -> Report:
    created = token_client(editor).post(REPORTS, {
        "obligation": world.ceasefire.pk, "claim": "violation_ended",
        "occurred_at": "2022-09-14T10:00:00+04:00", "summary": "Truce holds.",
        "sources": [world.source.pk],
    }, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["written_by"] == "an editor"
    assert created.json()["reviewed_by"] is None  # a draft is reviewed by no one yet
    published = token_client(reviewer).post(
        f"{REPORTS}{created.json()['id']}/publish/", {"version": 1}, format="json")
    assert published.status_code == 200, published.content
    return Report.objects.get(pk=created.json()["id"])


def test_a_published_report_credits_its_author_and_reviewer_by_role(
    client, world, editor, reviewer
):
    report = publish_one(world, editor, reviewer)
    body = client.get(f"{REPORTS}{report.pk}/").json()
    assert (body["written_by"], body["reviewed_by"]) == ("an editor", "a reviewer")
    ceasefire = world.ceasefire
    page = client.get(f"/agreements/{ceasefire.agreement.slug}/{ceasefire.slug}/").content.decode()
    assert "Written by an editor · reviewed by a reviewer" in page
    csv = b"".join(client.get(REPORTS, {"format": "csv"}).streaming_content).decode()
    assert "written_by,reviewed_by" in csv.splitlines()[0]


def test_names_when_the_editors_choose_them(client, world, editor, reviewer, settings):
    settings.REPORT_CREDITS = "names"
    reviewer.first_name, reviewer.last_name = "Rita", "Reviewer"
    reviewer.save()
    report = publish_one_named(world, editor, reviewer)
    body = client.get(f"{REPORTS}{report.pk}/").json()
    assert (body["written_by"], body["reviewed_by"]) == (editor.username, "Rita Reviewer")


def publish_one_named(world, editor, reviewer) -> Report:
    # With names on, the draft's author is credited by name from the start.
    created = token_client(editor).post(REPORTS, {
        "obligation": world.ceasefire.pk, "claim": "violation_ended",
        "occurred_at": "2022-09-14T10:00:00+04:00", "summary": "Truce holds.",
        "sources": [world.source.pk],
    }, format="json")
    assert created.json()["written_by"] == editor.username
    token_client(reviewer).post(
        f"{REPORTS}{created.json()['id']}/publish/", {"version": 1}, format="json")
    return Report.objects.get(pk=created.json()["id"])


def test_a_removed_account_reads_as_removed_and_file_reports_credit_the_file(
    client, world, editor, reviewer
):
    report = publish_one(world, editor, reviewer)
    User.objects.filter(pk=reviewer.pk).delete()
    body = client.get(f"{REPORTS}{report.pk}/").json()
    assert body["reviewed_by"] == "a reviewer (account since removed)"
    loaded = Report.objects.filter(origin="file").first()
    assert credits(loaded).written_by == FROM_FILE
    assert client.get(f"{REPORTS}{loaded.pk}/").json()["written_by"] == FROM_FILE
