"""Regressions from the security/robustness review of the editorial workflow, the staff
pages and the webhooks: bad input is a clear error and changes nothing, a version is
required to change or review a draft, permission comes before the version check, the
date-only flag follows occurred_at, webhooks speak only http(s)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from deadlines import notify
from deadlines.models import WebhookSubscription
from tests.editorial.conftest import completed_draft
from tests.editorial.test_staff_pages import form, logged_in
from tracker import editorial
from tracker import vocabulary as V
from tracker.models import DeadlineChange, Report

# 1. A non-numeric obligation in the query string or the POST is ignored, not a 500.


@pytest.mark.parametrize("name", ["staff:report_new", "staff:change_new"])
@pytest.mark.parametrize("value", ["abc", "1.5", "-1", "١", "99999999999999999999"])
def test_malformed_obligation_in_the_query_is_ignored(world, users, name, value):
    page = logged_in(users.editor).get(reverse(name), {"obligation": value})
    assert page.status_code == 200
    assert page.context["form"]["obligation"].value() is None


def test_malformed_obligation_in_the_post_is_a_form_error(world, users):
    response = logged_in(users.editor).post(
        reverse("staff:report_new"), form(world, obligation="abc", save="1")
    )
    assert response.status_code == 200 and "obligation" in response.context["form"].errors
    assert not Report.objects.exists()


# 2. Years near datetime's limits: a field message, never an overflow.


@pytest.mark.parametrize(
    "occurred_at", [date(1, 1, 1), date(9999, 12, 31), datetime(1, 1, 1, tzinfo=UTC)]
)
def test_editorial_refuses_far_off_years_with_a_field_message(world, users, occurred_at):
    with pytest.raises(ValidationError) as exc:
        completed_draft(world, users.editor, occurred_at=occurred_at)
    assert "year between" in " ".join(exc.value.message_dict["occurred_at"])
    assert not Report.objects.exists()


@pytest.mark.parametrize("extra", [{"save": "1"}, {"preview": "1"}])
@pytest.mark.parametrize("occurred_at", ["0001-01-01", "0001-01-01 00:00", "9999-12-31"])
def test_staff_form_refuses_far_off_years(world, users, extra, occurred_at):
    response = logged_in(users.editor).post(
        reverse("staff:report_new"), form(world, occurred_at=occurred_at, **extra)
    )
    assert response.status_code == 200
    assert "year between" in " ".join(response.context["form"].errors["occurred_at"])
    assert not Report.objects.exists()


@pytest.mark.parametrize("extra", [{"save": "1"}, {"preview": "1"}])
@pytest.mark.parametrize(
    "fields, field",
    [({"agreed_at": "0001-01-01"}, "agreed_at"), ({"due_date": "9999-12-31"}, "due_date")],
)
def test_deadline_change_form_refuses_far_off_years(world, users, extra, fields, field):
    data = {"obligation": world.aghdam.pk, "due_date": "2020-11-30",
            "agreed_at": "2020-11-15", "reason": "Extended.", "sources": [world.source.pk],
            **fields, **extra}
    response = logged_in(users.editor).post(reverse("staff:change_new"), data)
    assert response.status_code == 200 and field in response.context["form"].errors
    assert not DeadlineChange.objects.exists()


def test_staff_form_impossible_date_is_a_form_error(world, users):
    response = logged_in(users.editor).post(
        reverse("staff:report_new"), form(world, occurred_at="2020-02-30", save="1")
    )
    assert response.status_code == 200 and "occurred_at" in response.context["form"].errors


# 3. Changing or reviewing a draft needs the version the user started from.


def test_update_draft_without_a_version_is_refused(world, users):
    draft = completed_draft(world, users.editor)
    with pytest.raises(ValidationError) as exc:
        editorial.update_draft(draft, user=users.editor, version=None, summary="Changed.")
    assert "version" in exc.value.message_dict
    assert Report.objects.get(pk=draft.pk).summary == draft.summary


def test_staff_edit_without_a_version_is_refused(world, users):
    draft = completed_draft(world, users.editor)
    url = reverse("staff:report_edit", args=[draft.pk])
    response = logged_in(users.editor).post(url, form(world, summary="Mine", save="1"))
    assert response.status_code == 200
    assert "version" in response.context["form"].errors
    assert "reload the page" in response.content.decode()
    assert Report.objects.get(pk=draft.pk).summary == draft.summary


def test_staff_deadline_change_edit_without_a_version_is_refused(world, users):
    change = editorial.propose_deadline_change(
        author=users.editor, obligation=world.aghdam, due_date=date(2020, 11, 30),
        agreed_at=datetime(2020, 11, 15, 8, tzinfo=UTC), reason="Extended.",
        sources=[world.source.pk],
    )
    data = {"due_date": "2020-12-05", "agreed_at": "2020-11-15", "reason": "Extended.",
            "sources": [world.source.pk], "save": "1"}
    url = reverse("staff:change_edit", args=[change.pk])
    response = logged_in(users.editor).post(url, data)
    assert response.status_code == 200 and "version" in response.context["form"].errors
    assert DeadlineChange.objects.get(pk=change.pk).due_date == date(2020, 11, 30)
    ok = logged_in(users.editor).post(url, {**data, "version": change.version})
    assert ok.status_code == 302
    assert DeadlineChange.objects.get(pk=change.pk).due_date == date(2020, 12, 5)


def test_staff_review_without_a_version_changes_nothing(world, users):
    draft = completed_draft(world, users.editor)
    client = logged_in(users.reviewer)
    client.post(reverse("staff:decide", args=["report", draft.pk]), {"publish": "1"})
    assert Report.objects.get(pk=draft.pk).review_state == V.DRAFT


# 4. The date-only flag describes the stored occurred_at.


def test_a_timed_occurred_at_clears_the_date_only_flag(world, users):
    draft = completed_draft(world, users.editor, occurred_at=date(2020, 11, 20))
    assert draft.occurred_date_only
    edited = editorial.update_draft(
        draft, user=users.editor, version=draft.version,
        occurred_at=datetime(2020, 11, 20, 10, 37, tzinfo=UTC),
    )
    assert edited.occurred_date_only is False
    again = editorial.update_draft(
        edited, user=users.editor, version=edited.version, occurred_at=date(2020, 11, 21)
    )
    assert again.occurred_date_only is True
    kept = editorial.update_draft(again, user=users.editor, version=again.version, summary="S.")
    assert kept.occurred_date_only is True  # occurred_at untouched: the flag stays


def test_a_timed_correction_of_a_date_only_report_is_timed(world, users):
    original = editorial.publish(
        completed_draft(world, users.editor, occurred_at=date(2020, 11, 20)),
        reviewer=users.reviewer, version=1,
    )
    fix = editorial.correct(original, author=users.editor, reason="Exact time known.",
                            occurred_at=datetime(2020, 11, 20, 10, 37, tzinfo=UTC))
    assert original.occurred_date_only and not fix.occurred_date_only


# 7. Someone who may not edit a draft learns nothing from a stale version.


def test_non_author_with_a_stale_version_is_refused_without_the_changes(world, users):
    draft = completed_draft(world, users.editor)
    editorial.update_draft(draft, user=users.editor, version=1, summary="Secret rewording.")
    with pytest.raises(PermissionDenied) as exc:
        editorial.update_draft(draft, user=users.editor2, version=1, summary="Mine.")
    assert "Secret rewording" not in str(exc.value)


# 6. Webhooks speak only http(s).


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "file:///etc/passwd"])
def test_webhook_url_must_be_http_or_https(db, url):
    sub = WebhookSubscription(name="x", url=url)
    with pytest.raises(ValidationError) as exc:
        sub.full_clean()
    assert "url" in exc.value.message_dict
    WebhookSubscription(name="ok", url="https://example.org/hook").full_clean()


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hello"]
)
def test_the_webhook_opener_refuses_other_schemes(url):
    code, error = notify.post(url, b"{}", {"Content-Type": "application/json"})
    assert code is None and "unknown url type" in error
