"""Who changed what: an edit made in the admin, one made through the API, and one made
by the sweep (a background job)."""

from __future__ import annotations

from datetime import UTC, datetime

import time_machine
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from deadlines import sweep
from tests.editorial.conftest import admin_form_data
from tracker import vocabulary as V
from tracker.models import Obligation, Report, StatusEvent


def test_an_admin_edit_records_who_and_before_after(world, users):
    client = Client()
    client.force_login(users.admin)
    url = reverse("admin:tracker_obligation_change", args=[world.aghdam.pk])
    response = client.post(url, admin_form_data(client.get(url), title="Aghdam (returned)"))
    assert response.status_code == 302

    latest, previous = world.aghdam.history.order_by("-history_date", "-history_id")[:2]
    assert latest.history_user == users.admin and latest.history_type == "~"
    changes = {c.field: (c.old, c.new) for c in latest.diff_against(previous).changes}
    assert changes["title"] == ("Return of Aghdam district", "Aghdam (returned)")
    assert changes["version"] == (1, 2)

    page = client.get(reverse("admin:tracker_obligation_history", args=[world.aghdam.pk]))
    assert page.status_code == 200
    assert "ada" in page.content.decode() and "Aghdam (returned)" in page.content.decode()


def test_an_api_write_records_who(world, users):
    editor_api, reviewer_api = APIClient(), APIClient()
    editor_api.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users.editor)}")
    reviewer_api.credentials(
        HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=users.reviewer)}"
    )
    created = editor_api.post("/api/v1/reports/", {
        "obligation": world.aghdam.pk, "claim": "completed",
        "occurred_at": "2020-11-20T10:00:00+04:00", "summary": "Entered Aghdam.",
        "sources": [world.source.pk],
    }, format="json")
    assert created.status_code == 201, created.content
    report = Report.objects.get(pk=created.json()["id"])
    published = reviewer_api.post(
        f"/api/v1/reports/{report.pk}/publish/", {"version": report.version}, format="json"
    )
    assert published.status_code == 200, published.content

    records = list(report.history.order_by("history_date", "history_id"))
    # Created, its sources attached (the m2m is audited too), then published.
    assert [(r.history_type, r.history_user) for r in records] == [
        ("+", users.editor), ("~", users.editor), ("~", users.reviewer),
    ]
    cited = records[1].diff_against(records[0]).changes
    assert [c.field for c in cited] == ["sources"]
    assert [row["source"] for row in cited[0].new] == [world.source.pk]
    changes = {c.field: (c.old, c.new) for c in records[2].diff_against(records[1]).changes}
    assert changes["review_state"] == (V.DRAFT, V.PUBLISHED)

    # The admin's history page shows the reviewer arriving, not a "deleted user" before.
    admin = Client()
    admin.force_login(users.admin)
    page = admin.get(reverse("admin:tracker_report_history", args=[report.pk]))
    html = page.content.decode()
    assert page.status_code == 200 and "pk=None" not in html and "Deleted user" not in html
    assert str(users.reviewer) in html


def test_a_sweep_change_is_recorded_as_a_status_event(world, users):
    with time_machine.travel(datetime(2020, 11, 12, tzinfo=UTC), tick=False):
        sweep.run()  # first assessment: history replayed (backfill)
    with time_machine.travel(datetime(2020, 11, 25, tzinfo=UTC), tick=False):
        sweep.run()  # the beat's sweep: time passed, due soon, then overdue
    events = list(
        StatusEvent.objects.filter(obligation=world.aghdam).order_by("effective_at", "id")
    )
    assert [(e.from_status, e.to_status, e.cause) for e in events] == [
        ("", V.PENDING, V.CAUSE_BACKFILL),
        (V.PENDING, V.DUE_SOON, V.CAUSE_SWEEP),
        (V.DUE_SOON, V.OVERDUE, V.CAUSE_SWEEP),
    ]
    overdue = events[-1]
    assert overdue.effective_at == datetime(2020, 11, 20, 20, tzinfo=UTC)  # 21 Nov 00:00 Baku
    assert overdue.detected_at is not None and overdue.notified_at is None  # in the outbox
    assert events[0].notified_at is not None  # replayed history is not news
    # The stored status is derived, not audited as an edit: no history row for it.
    assert world.aghdam.history.count() == 1
    assert Obligation.objects.get(pk=world.aghdam.pk).status == V.OVERDUE
    # Visible in the admin, read only.
    client = Client()
    client.force_login(users.admin)
    page = client.get(reverse("admin:tracker_statusevent_changelist"))
    assert page.status_code == 200 and "Time passed" in page.content.decode()
