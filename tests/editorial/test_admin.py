"""The admin: every model registered and usable, search across place-name spellings,
list filters, deadline changes and reports inline on an obligation, per-object history."""

from __future__ import annotations

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from deadlines import notify, sweep
from deadlines.models import WebhookSubscription
from tests.editorial.conftest import completed_draft
from tracker import editorial
from tracker import vocabulary as V
from tracker.models import Location, Obligation, Report, StatusEvent


@pytest.fixture
def root(db) -> Client:
    client = Client()
    client.force_login(User.objects.create_superuser("root", "root@example.org", "pw"))
    return client


def test_every_model_is_registered():
    for app_label in ("tracker", "deadlines"):
        for model in apps.get_app_config(app_label).get_models():
            if model.__name__.startswith("Historical"):
                continue  # shown as each object's history page
            assert admin.site.is_registered(model), model


def test_every_admin_page_renders_on_the_november_2020_data(nov2020, users, root):
    sweep.run()
    obligation = Obligation.objects.filter(reports__isnull=False).first()
    editorial.create_report(
        author=users.editor, obligation=obligation,
        claim=sorted(V.CLAIMS_BY_KIND[obligation.kind] - {V.CLAIM_DENIAL})[0],
        occurred_at=obligation.agreement.effective_at, summary="Draft",
        sources=[obligation.agreement.sources.first()],
    )
    WebhookSubscription.objects.create(name="hook", url="http://127.0.0.1:9/x")
    notify.fan_out()
    for model, model_admin in admin.site._registry.items():
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        listing = root.get(reverse(f"{base}_changelist"))
        assert listing.status_code == 200, (model, listing.status_code)
        if model_admin.has_add_permission(listing.wsgi_request):
            assert root.get(reverse(f"{base}_add")).status_code == 200, model
        obj = model._default_manager.first()
        if obj is not None and model.__name__ != "TokenProxy":
            page = root.get(reverse(f"{base}_change", args=[obj.pk]))
            assert page.status_code == 200, (model, page.status_code)
            if hasattr(model, "history"):
                history = root.get(reverse(f"{base}_history", args=[obj.pk]))
                assert history.status_code == 200, model


def test_place_search_finds_any_spelling(world, root):
    lachin = Location.objects.create(
        slug="lachin", names={"en": "Lachin", "az": "Laçın", "hy": "Բերձոր"},
        alt_name="Berdzor", aliases=["Lachin corridor", "Laçin"],
    )
    world.aghdam.locations.add(lachin)
    for term in ("Laçın", "lacin", "BERDZOR", "Բերձոր", "lachin corridor"):
        page = root.get(reverse("admin:tracker_location_changelist"), {"q": term})
        assert "Lachin / Berdzor" in page.content.decode(), term
        found = root.get(reverse("admin:tracker_obligation_changelist"), {"q": term})
        assert "Return of Aghdam district" in found.content.decode(), term
    missing = root.get(reverse("admin:tracker_location_changelist"), {"q": "Shusha"})
    assert "Lachin / Berdzor" not in missing.content.decode()


def test_list_filters(world, users, root):
    completed_draft(world, users.editor)
    url = reverse("admin:tracker_report_changelist")
    drafts = root.get(url, {"review_state__exact": "draft"})
    assert drafts.status_code == 200 and "1 report" in drafts.content.decode()
    none = root.get(url, {"review_state__exact": "published"})
    assert "0 reports" in none.content.decode()
    obligations = root.get(reverse("admin:tracker_obligation_changelist"), {"kind__exact":
                                                                            "ongoing"})
    text = obligations.content.decode()
    assert "Complete ceasefire" in text and "Return of Aghdam district" not in text


def test_reports_and_deadline_changes_are_inline_on_the_obligation(world, users, root):
    report = completed_draft(world, users.editor, summary="Inline summary")
    change = editorial.propose_deadline_change(
        author=users.editor, obligation=world.aghdam, due_date=report.occurred_at.date(),
        agreed_at=report.occurred_at, reason="Inline reason", sources=[world.source],
    )
    page = root.get(reverse("admin:tracker_obligation_change", args=[world.aghdam.pk]))
    text = page.content.decode()
    assert "Inline summary" in text and "Inline reason" in text
    assert reverse("admin:tracker_report_change", args=[report.pk]) in text
    assert reverse("admin:tracker_deadlinechange_change", args=[change.pk]) in text


def test_published_report_is_read_only_in_the_admin_and_offers_a_correction(world, users,
                                                                            root):
    report = editorial.publish(completed_draft(world, users.editor), reviewer=users.reviewer)
    page = root.get(reverse("admin:tracker_report_change", args=[report.pk]))
    text = page.content.decode()
    assert reverse("staff:correct", args=[report.pk]) in text
    assert 'name="summary"' not in text  # not an input: read only
    # Posting anyway changes nothing.
    root.post(reverse("admin:tracker_report_change", args=[report.pk]),
              {"summary": "Rewritten history", "expected_version": report.version})
    report.refresh_from_db()
    assert report.summary != "Rewritten history"
    # Nor can it be deleted, or reverted from its history page.
    assert root.post(reverse("admin:tracker_report_delete", args=[report.pk]),
                     {"post": "yes"}).status_code == 403
    record = report.history.first()
    assert root.post(
        reverse("admin:tracker_report_simple_history", args=[report.pk, record.history_id]),
        {}).status_code == 403


def test_status_events_are_read_only(world, root):
    sweep.run()
    event = StatusEvent.objects.first()
    assert root.post(reverse("admin:tracker_statusevent_delete", args=[event.pk]),
                     {"post": "yes"}).status_code == 403
    assert StatusEvent.objects.filter(pk=event.pk).exists()


def test_publish_and_reject_from_the_change_form(world, users):
    client = Client()
    client.force_login(users.reviewer)
    draft = completed_draft(world, users.editor)
    url = reverse("admin:tracker_report_change", args=[draft.pk])
    page = client.get(url)
    assert "publish_selected" in page.content.decode()
    client.post(url, {"CHANGE_FORM-action": "publish_selected", "_selected_action": [draft.pk],
                      "expected_version": draft.version})
    assert Report.objects.get(pk=draft.pk).review_state == V.PUBLISHED

    other = completed_draft(world, users.editor)
    url = reverse("admin:tracker_report_change", args=[other.pk])
    asked = client.post(url, {"CHANGE_FORM-action": "reject_selected",
                              "_selected_action": [other.pk],
                              "expected_version": other.version})
    page = asked.content.decode()
    assert asked.status_code == 200 and 'name="CHANGE_FORM-action"' in page
    # The confirmation carries the version the reviewer saw on to the rejection.
    assert f'name="_version_{other.pk}" value="{other.version}"' in page
    client.post(url, {"CHANGE_FORM-action": "reject_selected", "_selected_action": [other.pk],
                      "apply": "1", "reason": "Duplicate.", f"_version_{other.pk}": other.version})
    rejected = Report.objects.get(pk=other.pk)
    assert (rejected.review_state, rejected.rejection_reason) == (V.REJECTED, "Duplicate.")


def test_bulk_review_acts_only_on_the_versions_the_list_showed(world, users):
    """A draft edited after the reviewer loaded the list, or one the list did not show
    (select all across pages), is neither published nor rejected."""
    client = Client()
    client.force_login(users.reviewer)
    changelist = reverse("admin:tracker_report_changelist")
    seen, edited, unseen = (completed_draft(world, users.editor) for _ in range(3))
    page = client.get(changelist).content.decode()
    for draft in (seen, edited, unseen):
        assert f'name="_version_{draft.pk}" value="{draft.version}"' in page
    editorial.update_draft(edited, user=users.editor, version=edited.version,
                           summary="Edited after the list was loaded.")
    shown = {f"_version_{d.pk}": d.version for d in (seen, edited)}  # as the page had them

    done = client.post(changelist, {"action": "publish_selected", **shown,
                                    "_selected_action": [seen.pk, edited.pk, unseen.pk]},
                       follow=True)
    states = dict(Report.objects.filter(pk__in=[seen.pk, edited.pk, unseen.pk])
                  .values_list("pk", "review_state"))
    assert states == {seen.pk: V.PUBLISHED, edited.pk: V.DRAFT, unseen.pk: V.DRAFT}
    text = [str(m) for m in done.context["messages"]]
    assert any("changed by someone else" in m for m in text)
    assert any("did not show them" in m and f"#{unseen.pk}" in m for m in text)
    assert "Published 1." in text

    # Malformed versions (a non-ASCII digit among them) are versions not shown: no 500.
    for name, value in ((f"_version_{edited.pk}", "\u00b2"), ("_version_\u00b2", "1"),
                        ("expected_version", "\u00b2"), (f"_version_{edited.pk}", "-1")):
        r = client.post(changelist, {"action": "publish_selected", name: value,
                                     "_selected_action": [edited.pk]})
        assert r.status_code == 302
    assert Report.objects.get(pk=edited.pk).review_state == V.DRAFT

    client.post(changelist, {"action": "reject_selected", "apply": "1", "reason": "Stale.",
                             f"_version_{edited.pk}": edited.version,
                             "_selected_action": [edited.pk]})
    assert Report.objects.get(pk=edited.pk).review_state == V.DRAFT


def test_only_drafts_are_deleted_and_only_by_their_author_or_an_admin(world, users):
    editor = Client()
    editor.force_login(users.editor)
    published = editorial.publish(completed_draft(world, users.editor), reviewer=users.reviewer)
    others = completed_draft(world, users.editor2)
    own = completed_draft(world, users.editor)
    changelist = reverse("admin:tracker_report_changelist")
    editor.post(changelist, {"action": "delete_selected", "post": "yes",
                             "_selected_action": [published.pk, others.pk]})
    for pk in (published.pk, others.pk):
        assert editor.post(reverse("admin:tracker_report_delete", args=[pk]),
                           {"post": "yes"}).status_code == 403
    assert Report.objects.filter(pk__in=[published.pk, others.pk]).count() == 2
    assert editor.post(reverse("admin:tracker_report_delete", args=[own.pk]),
                       {"post": "yes"}).status_code == 302
    assert not Report.objects.filter(pk=own.pk).exists()
    deleted = Report.history.filter(id=own.pk, history_type="-").get()
    assert deleted.history_user == users.editor  # the audit trail keeps deletes too
