"""The editorial rules, called directly: drafting, review, corrections, preview."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from deadlines import sweep
from tests.editorial.conftest import completed_draft
from tracker import editorial
from tracker import vocabulary as V
from tracker.models import DeadlineChange, Obligation, Report

AFTER = datetime(2020, 12, 31, tzinfo=UTC)


def test_create_report_makes_a_draft_that_is_not_a_fact(world, users):
    report = completed_draft(world, users.editor)
    assert report.review_state == V.DRAFT and report.author == users.editor
    assert list(report.sources.all()) == [world.source]
    assert not report.is_fact
    sweep.run(at=AFTER)
    assert Obligation.objects.get(pk=world.aghdam.pk).status == V.OVERDUE


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"claim": V.CLAIM_VIOLATION}, "claim"),  # a deadline cannot be "violated"
        ({"claim": "finished"}, "claim"),
        ({"occurred_at": datetime(2020, 11, 19, 20)}, "occurred_at"),  # naive
        ({"occurred_at": datetime(2019, 1, 1, tzinfo=UTC)}, "occurred_at"),  # before signing
        ({"occurred_at": datetime(2999, 1, 1, tzinfo=UTC)}, "occurred_at"),  # future
        ({"summary": "   "}, "summary"),
        ({"sources": []}, "sources"),
        ({"sources": [999999]}, "sources"),
    ],
)
def test_create_report_rejects_bad_input_with_field_messages(world, users, overrides, field):
    with pytest.raises(ValidationError) as caught:
        completed_draft(world, users.editor, **overrides)
    assert field in caught.value.message_dict
    assert not Report.objects.exists()


def test_sources_of_another_agreement_are_refused(world, users):
    with pytest.raises(ValidationError) as caught:
        completed_draft(world, users.editor, sources=[world.other_source])
    assert "another agreement" in caught.value.message_dict["sources"][0]


def test_a_bare_date_counts_from_local_midnight(world, users):
    report = completed_draft(world, users.editor, occurred_at=date(2020, 11, 20))
    assert report.occurred_date_only
    assert report.occurred_at == datetime(2020, 11, 19, 20, tzinfo=UTC)  # 00:00 Baku


def test_publish_by_another_reviewer_makes_it_a_fact_and_reassesses(world, users):
    sweep.run(at=AFTER)
    report = completed_draft(world, users.editor)
    published = editorial.publish(report, reviewer=users.reviewer)
    assert published.review_state == V.PUBLISHED
    assert published.reviewer == users.reviewer and published.published_at is not None
    assert published.reviewed_at == published.published_at
    assert Obligation.objects.get(pk=world.aghdam.pk).needs_assessment  # facts_changed
    sweep.run(at=AFTER)
    assert Obligation.objects.get(pk=world.aghdam.pk).status == V.COMPLETED


def test_nobody_publishes_their_own_draft_not_even_an_admin(world, users):
    own = completed_draft(world, users.admin)
    with pytest.raises(PermissionDenied):
        editorial.publish(own, reviewer=users.admin)
    with pytest.raises(PermissionDenied):
        editorial.publish(completed_draft(world, users.editor), reviewer=users.editor2)
    assert Report.objects.filter(review_state=V.PUBLISHED).count() == 0


def test_publishing_twice_is_refused(world, users):
    report = completed_draft(world, users.editor)
    editorial.publish(report, reviewer=users.reviewer)
    with pytest.raises(ValidationError, match="already published"):
        editorial.publish(report, reviewer=users.admin)


def test_reject_needs_a_reason_and_keeps_it(world, users):
    report = completed_draft(world, users.editor)
    with pytest.raises(ValidationError):
        editorial.reject(report, reviewer=users.reviewer, reason=" ")
    rejected = editorial.reject(report, reviewer=users.reviewer, reason="Source is a rumour.")
    assert rejected.review_state == V.REJECTED
    assert rejected.rejection_reason == "Source is a rumour."
    with pytest.raises(ValidationError):
        editorial.update_draft(rejected, user=users.editor, version=rejected.version, summary="x")


def test_published_reports_are_immutable_corrections_supersede(world, users):
    original = editorial.publish(completed_draft(world, users.editor), reviewer=users.reviewer)
    with pytest.raises(ValidationError):
        editorial.update_draft(original, user=users.admin, version=original.version, summary="x")
    late = datetime(2020, 11, 22, 8, tzinfo=UTC)  # after the due instant: completed late
    fix = editorial.correct(
        original, author=users.editor2, reason="Entry was on the 22nd, not the 20th.",
        occurred_at=late,
    )
    assert fix.review_state == V.DRAFT and fix.supersedes == original
    assert fix.summary == original.summary and list(fix.sources.all()) == [world.source]
    with pytest.raises(ValidationError, match="pending correction"):
        editorial.correct(original, author=users.editor, reason="again")
    original.refresh_from_db()
    assert original.is_fact  # untouched until the correction is published

    editorial.publish(fix, reviewer=users.reviewer)
    original.refresh_from_db()
    assert original.superseded_at is not None and not original.is_fact
    assert original.review_state == V.PUBLISHED  # kept, marked
    sweep.run(at=AFTER)
    assert Obligation.objects.get(pk=world.aghdam.pk).status == V.COMPLETED_LATE


def test_a_retraction_withdraws_the_fact(world, users):
    original = editorial.publish(completed_draft(world, users.editor), reviewer=users.reviewer)
    sweep.run(at=AFTER)
    assert Obligation.objects.get(pk=world.aghdam.pk).status == V.COMPLETED
    retraction = editorial.correct(
        original, author=users.editor, retract=True, reason="The report was false."
    )
    before, after = editorial.preview(retraction)
    assert (before.status, after.status) == (V.COMPLETED, V.OVERDUE)
    editorial.publish(retraction, reviewer=users.reviewer)
    sweep.run(at=AFTER)
    assert Obligation.objects.get(pk=world.aghdam.pk).status == V.OVERDUE
    assert not Report.objects.get(pk=retraction.pk).is_fact


def test_a_rejected_correction_frees_the_report_for_another(world, users):
    original = editorial.publish(completed_draft(world, users.editor), reviewer=users.reviewer)
    fix = editorial.correct(original, author=users.editor, reason="typo", summary="Fixed.")
    rejected = editorial.reject(fix, reviewer=users.reviewer, reason="Not a typo.")
    assert rejected.supersedes is None and f"#{original.pk}" in rejected.note
    again = editorial.correct(original, author=users.editor, reason="typo", summary="Fixed!")
    assert again.supersedes_id == original.pk


def test_drafts_are_edited_by_their_author_or_an_admin(world, users):
    report = completed_draft(world, users.editor)
    with pytest.raises(PermissionDenied):
        editorial.update_draft(report, user=users.editor2, version=report.version, summary="x")
    with pytest.raises(PermissionDenied):
        editorial.update_draft(report, user=users.reviewer, version=report.version, summary="x")
    edited = editorial.update_draft(
        report, user=users.editor, version=report.version, summary="Better summary."
    )
    assert (edited.summary, edited.version) == ("Better summary.", 2)
    by_admin = editorial.update_draft(edited, user=users.admin, version=2, summary="Admin.")
    assert by_admin.version == 3


def test_deadline_change_moves_the_stored_deadline_when_published(world, users):
    change = editorial.propose_deadline_change(
        author=users.editor, obligation=world.aghdam, due_date=date(2020, 11, 30),
        agreed_at=datetime(2020, 11, 15, 8, tzinfo=UTC), reason="Extended by agreement.",
        sources=[world.source.pk],
    )
    assert change.review_state == V.DRAFT
    before, after = editorial.preview(change)
    assert (before.due_date, after.due_date) == (date(2020, 11, 20), date(2020, 11, 30))
    editorial.publish(change, reviewer=users.reviewer)
    aghdam = Obligation.objects.get(pk=world.aghdam.pk)
    assert aghdam.due_date == date(2020, 11, 30)
    assert aghdam.due_at == datetime(2020, 11, 30, 20, tzinfo=UTC)  # 1 Dec 00:00 Baku
    assert aghdam.original_due_date == date(2020, 11, 20)
    assert aghdam.history.first().history_user == users.reviewer


def test_deadline_change_only_for_deadline_obligations(world, users):
    with pytest.raises(ValidationError) as caught:
        editorial.propose_deadline_change(
            author=users.editor, obligation=world.ceasefire, due_date=date(2020, 12, 1),
            agreed_at=datetime(2020, 11, 15, tzinfo=UTC), reason="x", sources=[world.source],
        )
    assert "obligation" in caught.value.message_dict
    assert not DeadlineChange.objects.exists()


def test_facts_from_the_future_are_refused_and_nothing_is_stored(world, users):
    """A fact records what already happened: a date still to come belongs in a deadline."""
    next_year = datetime.now(UTC) + timedelta(days=365)
    with pytest.raises(ValidationError) as caught:
        editorial.propose_deadline_change(
            author=users.editor, obligation=world.aghdam, due_date=date(2030, 1, 1),
            agreed_at=next_year, reason="Agreed later.", sources=[world.source.pk],
        )
    assert "future" in " ".join(caught.value.message_dict["agreed_at"])
    with pytest.raises(ValidationError) as caught:
        editorial.create_report(
            author=users.editor, obligation=world.aghdam, claim=V.CLAIM_COMPLETED,
            occurred_at=next_year, summary="Done next year.", sources=[world.source.pk],
        )
    assert "future" in " ".join(caught.value.message_dict["occurred_at"])
    assert not DeadlineChange.objects.exists() and not Report.objects.exists()


def test_preview_of_an_unsaved_report(world, users):
    draft = Report(
        obligation=world.ceasefire, claim=V.CLAIM_VIOLATION,
        occurred_at=datetime(2020, 11, 25, tzinfo=UTC),
    )
    before, after = editorial.preview(draft)
    assert (before.status, after.status) == (V.IN_FORCE, V.VIOLATED)


def test_roles(users):
    assert editorial.is_editor(users.editor) and not editorial.is_reviewer(users.editor)
    assert editorial.is_reviewer(users.reviewer) and not editorial.is_editor(users.reviewer)
    assert editorial.is_editor(users.admin) and editorial.is_reviewer(users.admin)
    assert not editorial.is_editor(users.outsider) and not editorial.is_reviewer(users.outsider)
    users.editor.is_active = False
    assert not editorial.is_editor(users.editor)


@pytest.mark.parametrize(
    "occurred_at", [date(1, 1, 1), date(9999, 12, 31), datetime(1, 1, 1, tzinfo=UTC)]
)
def test_editorial_refuses_far_off_years_with_a_field_message(world, users, occurred_at):
    with pytest.raises(ValidationError) as exc:
        completed_draft(world, users.editor, occurred_at=occurred_at)
    assert "year between" in " ".join(exc.value.message_dict["occurred_at"])
    assert not Report.objects.exists()


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


def test_update_obligation_reassesses_when_a_term_field_changes(world, users):
    Obligation.objects.filter(pk=world.ceasefire.pk).update(needs_assessment=False)
    renamed = editorial.update_obligation(
        world.ceasefire, user=users.admin, version=1, title="Ceasefire along the line"
    )
    assert (renamed.title, renamed.version) == ("Ceasefire along the line", 2)
    assert not Obligation.objects.get(pk=world.ceasefire.pk).needs_assessment
    ended = editorial.update_obligation(
        renamed, user=users.admin, version=2, ends_at=datetime(2024, 6, 12, tzinfo=UTC)
    )
    stored = Obligation.objects.get(pk=world.ceasefire.pk)
    assert ended.version == stored.version == 3
    assert stored.ends_at == datetime(2024, 6, 12, tzinfo=UTC) and stored.needs_assessment


def test_update_obligation_refuses_editors_stale_versions_and_other_fields(world, users):
    with pytest.raises(PermissionDenied):
        editorial.update_obligation(world.aghdam, user=users.editor, version=1, title="X")
    with pytest.raises(ValidationError) as exc:
        editorial.update_obligation(world.aghdam, user=users.admin, version=1, due_date=None)
    assert "due_date" in exc.value.message_dict
    with pytest.raises(editorial.StaleEdit):
        editorial.update_obligation(world.aghdam, user=users.admin, version=7, title="X")
    assert Obligation.objects.get(pk=world.aghdam.pk).title == "Return of Aghdam district"
