"""The permission matrix: each role (and anonymous) × each action, through the admin
and through the API. Outcomes are judged by what happened in the database, not only by
the status code: a refusal must change nothing.

Channels: the admin (client.post to admin URLs and admin actions) and the API
(/api/v1/reports/ and its publish/reject actions, token authentication). The API has no
endpoint to edit a draft, correct a report or manage webhooks; for those the matrix
checks that the API refuses every role (no bypass), and the allowed cases go through
the staff pages (edit, correct), which call the same tracker.editorial rules.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from deadlines.models import WebhookSubscription
from tests.editorial.conftest import completed_draft
from tracker import editorial
from tracker import vocabulary as V
from tracker.models import Report

ROLES = ("anonymous", "editor", "reviewer", "admin")
# action -> roles allowed (decided in issue 6 / tracker.editorial)
MATRIX = {
    "create": {"editor", "admin"},
    "edit_draft": {"editor", "admin"},  # the editor edits their own; admins anyone's
    "publish_own": set(),  # nobody, not even an admin
    "publish_others": {"reviewer", "admin"},
    "reject": {"reviewer", "admin"},
    "correct": {"editor", "admin"},
    "manage_webhooks": {"admin"},
}
CASES = [(action, role) for action in MATRIX for role in ROLES]


def actor(users, role):
    return None if role == "anonymous" else {
        "editor": users.editor, "reviewer": users.reviewer, "admin": users.admin}[role]


def own_draft(world, user):
    """A draft written by `user` (reviewers cannot draft, so theirs is made directly)."""
    return Report.objects.create(
        obligation=world.aghdam, claim=V.CLAIM_COMPLETED, author=user,
        occurred_at=datetime(2020, 11, 19, 20, tzinfo=UTC), summary="Own draft.",
    )


def target(world, users, action, user):
    """The object the action is tried on."""
    if action == "edit_draft":
        return completed_draft(world, users.editor)
    if action == "publish_own":
        return own_draft(world, user or users.editor)
    if action in ("publish_others", "reject"):
        return completed_draft(world, users.editor2)
    if action == "correct":
        return editorial.publish(completed_draft(world, users.editor2), reviewer=users.reviewer)
    return None


# ---------------------------------------------------------------- admin


def admin_client(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def report_post(world, **extra) -> dict:
    return {
        "obligation": world.aghdam.pk, "claim": V.CLAIM_COMPLETED,
        "occurred_at_0": "2020-11-19", "occurred_at_1": "20:00:00",
        "summary": "Entered Aghdam (admin).", "sources": [world.source.pk], "note": "",
        **extra,
    }


def did_in_admin(world, users, action, user) -> bool:
    client = admin_client(user)
    obj = target(world, users, action, user)
    if action == "create":
        client.post(reverse("admin:tracker_report_add"), report_post(world))
        return Report.objects.filter(summary="Entered Aghdam (admin).").exists()
    if action == "edit_draft":
        client.post(
            reverse("admin:tracker_report_change", args=[obj.pk]),
            report_post(world, summary="Edited in admin.", expected_version=obj.version),
        )
        return Report.objects.get(pk=obj.pk).summary == "Edited in admin."
    if action in ("publish_own", "publish_others"):
        client.post(reverse("admin:tracker_report_changelist"),
                    {"action": "publish_selected", "_selected_action": [obj.pk],
                     f"_version_{obj.pk}": obj.version})
        return Report.objects.get(pk=obj.pk).review_state == V.PUBLISHED
    if action == "reject":
        client.post(reverse("admin:tracker_report_changelist"), {
            "action": "reject_selected", "_selected_action": [obj.pk], "apply": "1",
            "reason": "Unsourced.", f"_version_{obj.pk}": obj.version})
        return Report.objects.get(pk=obj.pk).review_state == V.REJECTED
    if action == "correct":
        # The admin links a published report to the staff correction page.
        r = client.post(reverse("staff:correct", args=[obj.pk]), {
            "claim": V.CLAIM_COMPLETED, "occurred_at": "2020-11-20",
            "summary": "Corrected.", "sources": [world.source.pk], "reason": "Date was wrong.",
            "save": "1"})
        done = Report.objects.filter(supersedes=obj).exists()
        assert done or r.status_code in (302, 403), r.context["form"].errors
        return done
    if action == "manage_webhooks":
        client.post(reverse("admin:deadlines_webhooksubscription_add"), {
            "name": "hook", "url": "https://example.org/hook", "secret": "s" * 40,
            "state": "active"})
        return WebhookSubscription.objects.filter(name="hook").exists()
    raise AssertionError(action)


@pytest.mark.parametrize(("action", "role"), CASES)
def test_matrix_through_the_admin(world, users, action, role):
    allowed = role in MATRIX[action]
    assert did_in_admin(world, users, action, actor(users, role)) == allowed


# ---------------------------------------------------------------- API


def api_client(user) -> APIClient:
    client = APIClient()
    if user is not None:
        token, _ = Token.objects.get_or_create(user=user)
        client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def did_through_api(world, users, action, user) -> tuple[bool, int]:
    client = api_client(user)
    obj = target(world, users, action, user)
    if action == "create":
        r = client.post("/api/v1/reports/", {
            "obligation": world.aghdam.pk, "claim": "completed",
            "occurred_at": "2020-11-20T10:00:00+04:00", "summary": "Via API.",
            "sources": [world.source.pk]}, format="json")
        return Report.objects.filter(summary="Via API.").exists(), r.status_code
    if action in ("publish_own", "publish_others"):
        r = client.post(f"/api/v1/reports/{obj.pk}/publish/", {"version": obj.version},
                        format="json")
        return Report.objects.get(pk=obj.pk).review_state == V.PUBLISHED, r.status_code
    if action == "reject":
        r = client.post(f"/api/v1/reports/{obj.pk}/reject/",
                        {"version": obj.version, "reason": "Unsourced."}, format="json")
        return Report.objects.get(pk=obj.pk).review_state == V.REJECTED, r.status_code
    if action == "edit_draft":
        r = client.patch(f"/api/v1/reports/{obj.pk}/", {"summary": "Via API."}, format="json")
        return Report.objects.get(pk=obj.pk).summary == "Via API.", r.status_code
    if action == "correct":
        r = client.put(f"/api/v1/reports/{obj.pk}/", {"summary": "Via API."}, format="json")
        return Report.objects.filter(supersedes=obj).exists(), r.status_code
    if action == "manage_webhooks":
        r = client.post("/api/v1/webhooks/", {"url": "https://example.org/x"}, format="json")
        return WebhookSubscription.objects.exists(), r.status_code
    raise AssertionError(action)


API_HAS = {"create", "publish_own", "publish_others", "reject"}


@pytest.mark.parametrize(("action", "role"), CASES)
def test_matrix_through_the_api(world, users, action, role):
    user = actor(users, role)
    did, code = did_through_api(world, users, action, user)
    if action not in API_HAS:
        # No write endpoint: refused for everyone, nothing changed.
        assert not did and code in (401, 403, 404, 405), code
        return
    allowed = role in MATRIX[action]
    assert did == allowed, code
    if allowed:
        assert code in (200, 201)
    else:
        assert code == (401 if user is None else 403)


@pytest.mark.parametrize(("action", "role"), [(a, r) for a, r in CASES if r != "anonymous"])
def test_matrix_through_the_rules(world, users, action, role):
    """The plain functions every channel calls, for the actions the API lacks."""
    user = actor(users, role)
    obj = target(world, users, action, user)
    allowed = role in MATRIX[action]
    calls = {
        "create": lambda: completed_draft(world, user),
        "edit_draft": lambda: editorial.update_draft(obj, user=user, version=obj.version,
                                                     summary="Ruled."),
        "publish_own": lambda: editorial.publish(obj, reviewer=user),
        "publish_others": lambda: editorial.publish(obj, reviewer=user),
        "reject": lambda: editorial.reject(obj, reviewer=user, reason="No."),
        "correct": lambda: editorial.correct(obj, author=user, reason="Fix.", summary="Fixed."),
        "manage_webhooks": lambda: None,
    }
    if action == "manage_webhooks":
        assert user.has_perm("deadlines.add_webhooksubscription") == allowed
        return
    if allowed:
        calls[action]()
    else:
        with pytest.raises(editorial.PermissionDenied):
            calls[action]()


def test_non_author_with_a_stale_version_is_refused_without_the_changes(world, users):
    draft = completed_draft(world, users.editor)
    editorial.update_draft(draft, user=users.editor, version=1, summary="Secret rewording.")
    with pytest.raises(PermissionDenied) as exc:
        editorial.update_draft(draft, user=users.editor2, version=1, summary="Mine.")
    assert "Secret rewording" not in str(exc.value)
