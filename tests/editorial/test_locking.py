"""No lost updates: two people edit the same draft or obligation at once; the second save
is refused with what changed, and nothing is overwritten."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse

from tests.editorial.conftest import (
    admin_form_data,
    completed_draft,
    make_users,
    make_world,
    postgres_only,
)
from tracker import editorial
from tracker.models import Obligation, Report


def test_a_stale_version_is_refused_with_what_changed(world, users):
    report = completed_draft(world, users.editor)
    editorial.update_draft(report, user=users.editor, version=1, summary="First edit.")
    with pytest.raises(editorial.StaleEdit) as caught:
        editorial.update_draft(report, user=users.admin, version=1, summary="Second edit.")
    message = caught.value.message
    assert "version 1 → 2" in message and "nothing was overwritten" in message
    assert ("summary", "Azerbaijani forces entered Aghdam.", "First edit.", "by edith") in [
        tuple(c) for c in caught.value.changes
    ]
    assert Report.objects.get(pk=report.pk).summary == "First edit."


def test_a_version_the_object_never_had_is_named_as_such(world, users):
    report = completed_draft(world, users.editor)  # at version 1
    with pytest.raises(editorial.StaleEdit) as caught:
        editorial.update_draft(report, user=users.editor, version=7, summary="From nowhere.")
    message = caught.value.message
    assert "never been at version 7" in message and "current version is 1" in message
    assert "7 → 1" not in message  # no backwards "change" that never happened
    assert Report.objects.get(pk=report.pk).summary != "From nowhere."


def test_publishing_a_draft_that_changed_since_review_is_refused(world, users):
    report = completed_draft(world, users.editor)
    seen = report.version
    editorial.update_draft(report, user=users.editor, version=seen, summary="Changed meanwhile")
    with pytest.raises(editorial.StaleEdit):
        editorial.publish(report, reviewer=users.reviewer, version=seen)
    assert Report.objects.get(pk=report.pk).review_state == "draft"


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_edits_through_editorial_one_wins(django_db_blocker):
    world, users = make_world(), make_users()
    report = completed_draft(world, users.editor)
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def edit(name: str, user) -> None:
        try:
            barrier.wait(timeout=10)
            editorial.update_draft(report, user=user, version=1, summary=f"by {name}")
            outcomes[name] = "saved"
        except editorial.StaleEdit as exc:
            outcomes[name] = exc.message
        finally:
            connection.close()

    threads = [threading.Thread(target=edit, args=(n, u))
               for n, u in (("editor", users.editor), ("admin", users.admin))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(v == "saved" for v in outcomes.values()) == [False, True]
    winner = next(k for k, v in outcomes.items() if v == "saved")
    loser_message = next(v for v in outcomes.values() if v != "saved")
    assert "changed by someone else" in loser_message and "summary" in loser_message
    stored = Report.objects.get(pk=report.pk)
    assert (stored.summary, stored.version) == (f"by {winner}", 2)


def test_admin_second_save_of_an_obligation_is_refused_and_shows_what_changed(world, users):
    url = reverse("admin:tracker_obligation_change", args=[world.aghdam.pk])
    first, second = Client(), Client()
    first.force_login(users.admin)
    superuser = users.admin.__class__.objects.create_superuser("root", "r@example.org", "x")
    second.force_login(superuser)
    form_a = first.get(url)
    form_b = second.get(url)  # both opened version 1
    assert form_a.status_code == 200

    saved = first.post(url, admin_form_data(form_a, title="Aghdam district returned"))
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    refused = second.post(url, admin_form_data(form_b, description="A rival edit"))
    assert refused.status_code == 200
    text = refused.content.decode()
    assert "changed by someone else" in text and "title" in text
    assert "Aghdam district returned" in text  # what the other person saved
    stored = Obligation.objects.get(pk=world.aghdam.pk)
    assert stored.title == "Aghdam district returned" and stored.description == ""
    assert stored.version == 2


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_concurrent_admin_saves_of_a_draft_one_wins():
    world, users = make_world(), make_users()
    report = completed_draft(world, users.editor)
    url = reverse("admin:tracker_report_change", args=[report.pk])
    clients = {}
    forms = {}
    for name, user in (("editor", users.editor), ("admin", users.admin)):
        clients[name] = Client()
        clients[name].force_login(user)
        forms[name] = clients[name].get(url)
        assert forms[name].status_code == 200
    barrier = threading.Barrier(2)
    results: dict[str, int] = {}

    def save(name: str) -> None:
        try:
            body = admin_form_data(forms[name], summary=f"summary by {name}")
            barrier.wait(timeout=10)
            results[name] = clients[name].post(url, body).status_code
        finally:
            connection.close()

    threads = [threading.Thread(target=save, args=(n,)) for n in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(results.values()) == [200, 302]  # one saved (redirect), one refused
    winner = next(k for k, v in results.items() if v == 302)
    stored = Report.objects.get(pk=report.pk)
    assert (stored.summary, stored.version) == (f"summary by {winner}", 2)


def test_update_draft_without_a_version_is_refused(world, users):
    draft = completed_draft(world, users.editor)
    with pytest.raises(ValidationError) as exc:
        editorial.update_draft(draft, user=users.editor, version=None, summary="Changed.")
    assert "version" in exc.value.message_dict
    assert Report.objects.get(pk=draft.pk).summary == draft.summary
