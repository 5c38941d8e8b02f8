"""The staff pages: status update form with a preview, the review queue with the diff
of what publishing changes, corrections, deadline changes."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from django.test import Client
from django.urls import reverse

from deadlines import sweep
from tests.editorial.conftest import completed_draft
from tracker import editorial
from tracker import vocabulary as V
from tracker.models import DeadlineChange, Obligation, Report, Source


def logged_in(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


def form(world, **extra):
    return {
        "obligation": world.aghdam.pk, "claim": V.CLAIM_COMPLETED,
        "occurred_at": "2020-11-20 10:00", "summary": "Troops entered Aghdam.",
        "sources": [world.source.pk], **extra,
    }


def test_preview_shows_what_the_status_would_become_and_saves_nothing(world, users):
    sweep.run(at=datetime(2020, 12, 31, tzinfo=UTC))
    client = logged_in(users.editor)
    page = client.get(reverse("staff:report_new") + f"?obligation={world.aghdam.pk}")
    assert page.status_code == 200 and "Preview the status" in page.content.decode()
    response = client.post(reverse("staff:report_new"), form(world, preview="1"))
    text = response.content.decode()
    assert response.status_code == 200
    assert "If published now" in text and "Overdue" in text and "Completed" in text
    assert not Report.objects.exists()


def test_saving_creates_a_draft_with_a_new_inline_source(world, users):
    client = logged_in(users.editor)
    response = client.post(reverse("staff:report_new"), form(
        world, sources=[], save="1", new_source_url="https://example.org/new",
        new_source_publisher="APA", new_source_title="Aghdam handed over"))
    assert response.status_code == 302
    report = Report.objects.get()
    assert report.review_state == V.DRAFT and report.author == users.editor
    # "10:00" without an offset is local time in the agreement's zone (Asia/Baku, +4).
    assert report.occurred_at == datetime(2020, 11, 20, 6, tzinfo=UTC)
    source = Source.objects.get(publisher="APA")
    assert list(report.sources.all()) == [source] and source.agreement == world.agreement


def test_bad_input_is_a_form_error_not_a_500(world, users):
    client = logged_in(users.editor)
    response = client.post(reverse("staff:report_new"), form(
        world, claim=V.CLAIM_VIOLATION, occurred_at="yesterday", sources=[], save="1"))
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"occurred_at", "sources"} <= set(errors)
    response = client.post(reverse("staff:report_new"), form(world, claim="violation", save="1"))
    assert "claim" in response.context["form"].errors
    assert not Report.objects.exists()


def test_review_queue_shows_the_diff_and_publishes(world, users):
    sweep.run(at=datetime(2020, 12, 31, tzinfo=UTC))
    original = editorial.publish(completed_draft(world, users.editor), reviewer=users.reviewer)
    fix = editorial.correct(original, author=users.editor, reason="It was late.",
                            occurred_at=datetime(2020, 11, 22, 8, tzinfo=UTC))
    own = completed_draft(world, users.admin, summary="Admin's own draft")
    client = logged_in(users.admin)
    page = client.get(reverse("staff:review"))
    text = page.content.decode()
    assert page.status_code == 200
    assert f"corrects #{original.pk}" in text and "It was late." in text
    assert "occurred_at" in text  # the field diff
    assert "Completed</strong> → <strong>Completed late" in text
    assert "Admin&#x27;s own draft" not in text and "Admin's own draft" not in text

    response = client.post(reverse("staff:decide", args=["report", fix.pk]),
                           {"version": fix.version, "publish": "1"})
    assert response.status_code == 302
    assert Report.objects.get(pk=fix.pk).review_state == V.PUBLISHED
    assert Report.objects.get(pk=original.pk).superseded_at is not None
    # Own draft: refused even by URL.
    response = client.post(reverse("staff:decide", args=["report", own.pk]),
                           {"version": own.version, "publish": "1"})
    assert response.status_code == 403
    assert Report.objects.get(pk=own.pk).review_state == V.DRAFT


def test_reject_from_the_queue_needs_a_reason(world, users):
    draft = completed_draft(world, users.editor)
    client = logged_in(users.reviewer)
    url = reverse("staff:decide", args=["report", draft.pk])
    client.post(url, {"version": draft.version, "reject": "1", "reason": ""})
    assert Report.objects.get(pk=draft.pk).review_state == V.DRAFT
    client.post(url, {"version": draft.version, "reject": "1", "reason": "No source."})
    assert Report.objects.get(pk=draft.pk).rejection_reason == "No source."


def test_editing_a_stale_draft_on_the_staff_page_is_refused(world, users):
    draft = completed_draft(world, users.editor)
    client = logged_in(users.editor)
    url = reverse("staff:report_edit", args=[draft.pk])
    opened = client.get(url)
    assert opened.context["form"]["version"].value() == 1
    editorial.update_draft(draft, user=users.admin, version=1, summary="Admin fixed it.")
    response = client.post(url, form(world, summary="Mine", version=1, save="1"))
    text = response.content.decode()
    assert "changed by someone else" in text and "Admin fixed it." in text
    assert Report.objects.get(pk=draft.pk).summary == "Admin fixed it."


def test_deadline_change_form_previews_and_saves(world, users):
    client = logged_in(users.editor)
    data = {"obligation": world.aghdam.pk, "due_date": "2020-11-30",
            "agreed_at": "2020-11-15", "reason": "Extended.", "sources": [world.source.pk]}
    preview = client.post(reverse("staff:change_new"), {**data, "preview": "1"})
    assert "Deadline in force: 2020-11-20 → 2020-11-30" in preview.content.decode().replace(
        "Nov. 20, 2020", "2020-11-20").replace("Nov. 30, 2020", "2020-11-30")
    client.post(reverse("staff:change_new"), {**data, "save": "1"})
    change = DeadlineChange.objects.get()
    assert change.agreed_at == datetime(2020, 11, 14, 20, tzinfo=UTC)  # local midnight
    queue = logged_in(users.reviewer).get(reverse("staff:review"))
    assert f"Deadline change #{change.pk}" in queue.content.decode()
    logged_in(users.reviewer).post(reverse("staff:decide", args=["change", change.pk]),
                                   {"version": change.version, "publish": "1"})
    assert str(Obligation.objects.get(pk=world.aghdam.pk).due_date) == "2020-11-30"


def test_staff_pages_need_a_role(world, users):
    anonymous = Client()
    assert anonymous.get(reverse("staff:home")).status_code == 302  # to the login page
    outsider = logged_in(users.outsider)
    for name in ("staff:home", "staff:report_new", "staff:review"):
        assert outsider.get(reverse(name)).status_code == 403
    assert logged_in(users.reviewer).get(reverse("staff:report_new")).status_code == 403
    assert logged_in(users.editor).get(reverse("staff:review")).status_code == 403
    assert logged_in(users.editor).get(reverse("staff:home")).status_code == 200


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


def test_an_editor_is_told_why_the_review_queue_is_not_theirs_and_not_shown_it(world, users):
    client = logged_in(users.editor)
    home = client.get(reverse("staff:home")).content.decode()
    assert reverse("staff:review") not in home  # no link that leads to a refusal
    assert reverse("staff:report_new") in home
    refused = client.get(reverse("staff:review"))
    assert refused.status_code == 403
    assert "only reviewers review drafts" in refused.content.decode()


def test_a_reviewer_sees_how_many_drafts_wait_in_the_staff_pages_and_the_admin(world, users):
    completed_draft(world, users.editor)
    completed_draft(world, users.editor2)
    client = logged_in(users.reviewer)
    home = client.get(reverse("staff:home")).content.decode()
    assert "Review queue <span class=\"waiting\">(2 wait)</span>" in home
    assert reverse("staff:report_new") not in home  # a reviewer-only account drafts nothing
    admin = client.get(reverse("admin:index")).content.decode()
    assert f'href="{reverse("staff:home")}"' in admin and "Review queue (2)" in admin
    # Their own drafts never count for them.
    assert editorial.waiting_for(users.editor) is None
    completed_draft(world, users.admin)
    assert editorial.waiting_for(users.admin) == 2


def test_the_report_form_preselects_no_claim(world, users):
    client = logged_in(users.editor)
    page = client.get(reverse("staff:report_new")).content.decode()
    assert '<option value="" selected>' in page
    response = client.post(reverse("staff:report_new"), form(world, claim=""))
    assert response.status_code == 200 and not Report.objects.exists()
    assert "This field is required." in response.content.decode()


def test_the_report_form_offers_the_terms_own_sources_first(world, users):
    other = Source.objects.create(agreement=world.aghdam.agreement, key="other-source",
                                  url="https://example.org/other", publisher="Other Publisher")
    world.aghdam.sources.add(world.source)  # the term's text cites it
    client = logged_in(users.editor)
    page = client.get(reverse("staff:report_new") + f"?obligation={world.aghdam.pk}")
    html = page.content.decode()
    cited, rest = html.index("Cited by this term"), html.index("Other sources of this agreement")
    assert cited < html.index(str(world.source.publisher), cited) < rest
    assert html.index("Other Publisher") > rest
    # Without a term chosen, the sources come grouped by agreement.
    blank = client.get(reverse("staff:report_new")).content.decode()
    assert world.aghdam.agreement.title in blank and str(other.pk) in blank
