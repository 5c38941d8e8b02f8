"""Reloading: an unchanged file writes nothing; a changed one updates what changed and
supersedes (never edits or deletes) facts; staff-entered facts are never touched."""

from __future__ import annotations

from datetime import UTC, datetime

from django.utils import timezone

from deadlines import sweep
from tests.loader.conftest import RIVER, dump_database, edited, history_rows
from tracker import vocabulary as V
from tracker.loader import CHANGED_REASON, REMOVED_REASON, load
from tracker.models import Clause, DeadlineChange, Obligation, Party, Report, Source


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def settled() -> None:
    """As after a sweep: nothing waits for re-assessment."""
    Obligation.objects.update(needs_assessment=False)


def test_loading_the_same_file_twice_writes_nothing(river):
    settled()
    before, histories = dump_database(), history_rows()
    assert histories > 0 and before["tracker_historicalreport"]
    again = load(RIVER)
    assert dump_database() == before
    assert history_rows() == histories
    assert not again.changed
    assert again.changed_obligation_ids == set()
    assert again.agreement.pk == river.agreement.pk
    assert sum(again.unchanged.values()) == sum(river.created.values())


def test_first_load_creates_published_file_facts(river):
    reports = Report.objects.all()
    assert reports.count() == 3
    assert {r.review_state for r in reports} == {V.PUBLISHED}
    assert {r.origin for r in reports} == {"file"}
    assert all(r.published_at is not None for r in reports)
    change = DeadlineChange.objects.get()
    assert (change.review_state, change.origin) == (V.PUBLISHED, "file")
    assert river.changed_obligation_ids == set(Obligation.objects.values_list("pk", flat=True))


def test_changed_file_updates_what_changed_and_supersedes_reports(river, tmp_path):
    settled()
    bridge = Obligation.objects.get(slug="example-bridge-withdrawal")
    bridge_history = bridge.history.count()
    party_history = Party.history.count()
    violation = Report.objects.get(claim=V.CLAIM_VIOLATION)
    ended = Report.objects.get(claim=V.CLAIM_VIOLATION_ENDED)
    old_change = DeadlineChange.objects.get()

    path = edited(
        tmp_path, RIVER,
        ("title: East Side withdraws from the Old Bridge",
         "title: East Side withdraws from the Old Bridge (all units)"),
        ("summary: Shots reported near the Old Bridge.",
         "summary: Shots reported near the Old Bridge; two observers."),
        ("      - claim: violation_ended\n        occurred_at: 2022-10-21\n"
         "        summary: Calm restored.\n        sources: [example-report]\n", ""),
        ("reason: One more day, agreed at the joint commission.",
         "reason: One more day, agreed at the second joint commission."),
    )
    result = load(path)

    bridge.refresh_from_db()
    assert bridge.title.endswith("(all units)")
    assert bridge.version == 2
    assert bridge.history.count() == bridge_history + 1  # one save, for the title
    assert Party.history.count() == party_history

    # The changed report: kept word for word, marked superseded by a new one.
    violation.refresh_from_db()
    assert violation.summary == "Shots reported near the Old Bridge."
    assert violation.superseded_at is not None
    successor = violation.superseded_by
    assert successor.summary.endswith("two observers.")
    assert (successor.origin, successor.review_state) == ("file", V.PUBLISHED)
    assert successor.correction_reason == CHANGED_REASON
    assert successor.occurred_at == violation.occurred_at

    # The removed report: kept, superseded, with the reason.
    ended.refresh_from_db()
    assert ended.superseded_at is not None
    assert ended.correction_reason == REMOVED_REASON
    assert Report.objects.count() == 4  # nothing deleted

    # The changed deadline change: the old one stops being a fact, a new one is.
    old_change.refresh_from_db()
    assert (old_change.review_state, old_change.rejection_reason) == (V.REJECTED, REMOVED_REASON)
    new_change = DeadlineChange.objects.get(review_state=V.PUBLISHED)
    assert new_change.reason.endswith("second joint commission.")
    assert bridge.due_date.isoformat() == "2022-10-30"

    assert result.retired["report"] == 2
    assert result.created["report"] == 1
    assert result.retired["deadline change"] == 1
    flagged = set(Obligation.objects.filter(needs_assessment=True).values_list("slug", flat=True))
    assert flagged == {"example-ceasefire", "example-bridge-withdrawal"}

    settled()
    before = dump_database()
    assert not load(path).changed
    assert dump_database() == before


def test_a_wording_change_outside_facts_does_not_ask_for_reassessment(river, tmp_path):
    settled()
    load(edited(tmp_path, RIVER, ("title: Plan for river traffic", "title: River traffic plan")))
    assert not Obligation.objects.filter(needs_assessment=True).exists()


def test_removing_a_deadline_change_restores_the_original_due(river, tmp_path):
    bridge = Obligation.objects.get(slug="example-bridge-withdrawal")
    assert bridge.due_at == utc(2022, 10, 30, 22)  # 31 Oct 00:00 +02:00 (winter time)
    text = RIVER.read_text()
    start = text.index("    deadline_changes:")
    end = text.index("    reports:", start)
    path = tmp_path / "river.yaml"
    path.write_text(text[:start] + text[end:])
    load(path)
    bridge.refresh_from_db()
    assert bridge.due_date.isoformat() == "2022-10-29"
    assert bridge.due_at == utc(2022, 10, 29, 21)  # 30 Oct 00:00 +03:00 (summer time)
    assert bridge.original_due_date.isoformat() == "2022-10-29"


def test_staff_facts_are_never_touched_and_staff_corrections_stand(river, tmp_path, admin_user):
    ceasefire = Obligation.objects.get(slug="example-ceasefire")
    staff = Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_VIOLATION, occurred_at=utc(2022, 11, 1),
        summary="Staff-entered violation.", review_state=V.PUBLISHED, origin="staff",
        published_at=timezone.now(), author=admin_user,
    )
    draft = Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_PROGRESS, occurred_at=utc(2022, 11, 2),
        summary="A draft.", origin="staff",
    )
    # A reviewer corrects a file report: the staff correction supersedes it.
    wrong = Report.objects.get(claim=V.CLAIM_VIOLATION_ENDED)
    wrong.superseded_at = timezone.now()
    wrong.save()
    Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_VIOLATION_ENDED, occurred_at=utc(2022, 10, 22),
        summary="Calm restored a day later.", review_state=V.PUBLISHED, origin="staff",
        published_at=timezone.now(), supersedes=wrong, correction_reason="wrong day",
    )
    # A reviewer rejects the file's deadline change.
    DeadlineChange.objects.update(review_state=V.REJECTED, rejection_reason="not agreed")
    sweep.run()  # stores statuses and the deadline in force (the original, now)
    before = dump_database()

    result = load(RIVER)

    assert dump_database() == before, "a reload must not undo or repeat staff decisions"
    assert not result.changed
    staff.refresh_from_db()
    draft.refresh_from_db()
    assert staff.superseded_at is None and draft.review_state == V.DRAFT
    bridge = Obligation.objects.get(slug="example-bridge-withdrawal")
    assert bridge.due_date.isoformat() == "2022-10-29"


def test_removed_rows_without_history_are_deleted(river, tmp_path):
    text = RIVER.read_text()
    start = text.index("  - slug: example-river-traffic")
    without = text[:start].replace(
        "  - number: 4\n    text: The sides agree a plan for river traffic, with no date set.\n", ""
    )
    path = tmp_path / "river.yaml"
    path.write_text(without)
    result = load(path)
    assert result.removed["obligation"] == 1
    assert result.removed["clause"] == 1
    assert not Obligation.objects.filter(slug="example-river-traffic").exists()
    assert not Clause.objects.filter(number="4").exists()


def test_a_source_dropped_from_the_file_but_cited_by_history_is_kept(river, tmp_path):
    text = RIVER.read_text()
    start = text.index("  - key: example-report")
    end = text.index("clauses:")
    path = tmp_path / "river.yaml"
    # Drop the source and every citation of it in the file: superseded reports keep it.
    path.write_text((text[:start] + text[end:]).replace("[example-report]", "[example-text]"))
    result = load(path)
    kept = Source.objects.get(key="example-report")
    assert result.retired["source"] == 1 and result.removed["source"] == 0
    # The versions that cited it are kept, superseded, still citing it.
    citing = Report.objects.filter(sources=kept)
    assert citing.exists() and all(r.superseded_at is not None for r in citing)
    settled()
    again = dump_database()
    load(path)  # and the next start changes nothing
    assert dump_database() == again


def test_a_source_an_editor_added_survives_every_reload(river, admin_user):
    """An editor cites a new source in a report (the file never knew it); reloading the
    file at the next start must neither fail nor drop it."""
    ceasefire = Obligation.objects.get(slug="example-ceasefire")
    added = Source.objects.create(agreement=ceasefire.agreement, key="news-example-abc12345",
                                  url="https://news.example/truce", publisher="News Example")
    staff = Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_VIOLATION, occurred_at=utc(2022, 11, 1),
        summary="Staff-entered violation.", review_state=V.PUBLISHED, origin="staff",
        published_at=timezone.now(), author=admin_user,
    )
    staff.sources.set([added])
    settled()
    before = dump_database()
    result = load(RIVER)
    assert result.removed["source"] == 0 and result.retired["source"] == 1
    assert dump_database() == before
    assert list(Report.objects.get(pk=staff.pk).sources.all()) == [added]


def test_a_new_time_zone_moves_every_due_instant(river, tmp_path):
    settled()
    load(edited(tmp_path, RIVER, ("timezone: Europe/Kyiv", "timezone: UTC")))
    bridge = Obligation.objects.get(slug="example-bridge-withdrawal")
    assert bridge.due_at == utc(2022, 10, 31)
    assert Obligation.objects.filter(needs_assessment=True).count() == 4


def test_reload_after_a_replay_into_the_past_writes_nothing(river):
    """`sweep --as-of` stores the deadline in force back then; a reload leaves it so."""
    sweep.run(at=utc(2022, 10, 20))
    bridge = Obligation.objects.get(slug="example-bridge-withdrawal")
    assert bridge.due_date.isoformat() == "2022-10-29"  # the change came on the 25th
    before = dump_database()
    assert not load(RIVER).changed
    assert dump_database() == before


def test_reload_rejects_a_staff_draft_correcting_a_report_the_file_replaced(river, tmp_path):
    from django.contrib.auth.models import User

    from tracker.loader import DRAFT_ORPHANED_REASON

    violation = Report.objects.get(claim=V.CLAIM_VIOLATION)
    editor = User.objects.create(username="editor")
    draft = Report.objects.create(
        obligation=violation.obligation, claim=violation.claim,
        occurred_at=violation.occurred_at, summary="Shots and shelling.",
        supersedes=violation, author=editor, review_state=V.DRAFT,
    )
    path = edited(
        tmp_path, RIVER,
        ("summary: Shots reported near the Old Bridge.",
         "summary: Shots reported near the Old Bridge; two observers."),
    )
    load(path)  # used to fail: Report.supersedes is one-to-one
    draft.refresh_from_db()
    assert (draft.review_state, draft.supersedes) == (V.REJECTED, None)
    assert draft.rejection_reason == DRAFT_ORPHANED_REASON
    assert draft.summary == "Shots and shelling."  # the editor's text is kept
    violation.refresh_from_db()
    assert violation.superseded_by.summary.endswith("two observers.")
