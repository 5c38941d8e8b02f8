"""The keys for claims, chains of agreements and languages: what a file says is what is
stored, the date a fact became public comes from its sources (never the load time),
reloading an unchanged file writes nothing, a changed one supersedes reports and keeps
contests pointing at the current version, and an export reloads unchanged."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from tests.loader.conftest import ACCORD, RIVER, dump_database, edited, history_rows
from tests.loader.test_roundtrip import round_trip
from tracker import vocabulary as V
from tracker.exporter import export_agreement
from tracker.loader import CHANGED_REASON, LoaderError, load
from tracker.loader.write import TRACKER_CLAIMANT_NAME
from tracker.models import (
    Agreement,
    AgreementRelation,
    Claimant,
    ClauseText,
    DeadlineChange,
    Obligation,
    Party,
    Report,
)

KYIV = ZoneInfo("Europe/Kyiv")


def kyiv(*args) -> datetime:
    return datetime(*args, tzinfo=KYIV)


def settled() -> None:
    Obligation.objects.update(needs_assessment=False)


def report(key: str) -> Report:
    return Report.objects.get(key=key, superseded_at__isnull=True)


def test_claims_actors_and_contests_are_stored(accord):
    east = report("east-claims-shelling")
    denial = report("west-denies-shelling")
    finding = report("finding-shelling")
    assert {p.slug for p in east.actors.all()} == {"example-west"}
    assert east.claimant.slug == "example-east-mod"
    assert east.claimant.party.slug == "example-east"
    assert east.contests is None
    assert (denial.claim, denial.contests, denial.claimant.slug) == (
        V.CLAIM_DENIAL, east, "example-west-mod")
    assert finding.contests == east
    tracker = finding.claimant
    assert (tracker.slug, tracker.kind, tracker.name) == (
        "tracker", V.CLAIMANT_TRACKER, TRACKER_CLAIMANT_NAME)
    ended = Report.objects.get(claim=V.CLAIM_VIOLATION_ENDED,
                               obligation__slug="example-accord-ceasefire")
    assert ended.key == "" and not ended.actors.exists()
    assert ended.claimant.kind == V.CLAIMANT_PRESS
    assert accord.created["claimant"] == 4  # three from the file, and the built-in one


def test_facts_are_published_at_their_sources_date_never_the_load_time(accord):
    # The earliest cited source's date, 00:00 in the agreement's zone...
    assert report("east-claims-shelling").published_at == kyiv(2023, 4, 5)
    assert report("west-denies-shelling").published_at == kyiv(2023, 4, 6)
    assert report("finding-shelling").published_at == kyiv(2023, 4, 20)
    # ...unless the file says when.
    ended = Report.objects.get(claim=V.CLAIM_VIOLATION_ENDED, key="",
                               obligation__slug="example-accord-ceasefire")
    assert ended.published_at == kyiv(2023, 4, 7, 9, 30)
    change = DeadlineChange.objects.get(obligation__slug="example-islands")
    assert change.published_at == kyiv(2023, 4, 20)
    # The river truce's violation of 20 October, reported on 31 October (winter time).
    river = Report.objects.get(claim=V.CLAIM_VIOLATION, obligation__slug="example-ceasefire")
    assert river.published_at == kyiv(2022, 10, 31)
    assert river.published_at.utcoffset() is not None
    this_year = timezone.now().replace(month=1, day=1, hour=0, minute=0)
    assert not Report.objects.filter(published_at__gte=this_year).exists()
    assert not DeadlineChange.objects.filter(published_at__gte=this_year).exists()


def test_a_source_older_than_the_event_does_not_publish_it_early(river, tmp_path):
    """The agreement's text, cited beside the news, does not date a later event."""
    path = edited(tmp_path, ACCORD, (
        "summary: East Side says West Side shelled the ferry landing.\n"
        "        actors: [example-west]\n        claimant: example-east-mod\n"
        "        sources: [east-statement]",
        "summary: East Side says West Side shelled the ferry landing.\n"
        "        actors: [example-west]\n        claimant: example-east-mod\n"
        "        sources: [accord-text, east-statement]",
    ))
    load(path)
    east = report("east-claims-shelling")
    assert east.published_at == east.occurred_at == kyiv(2023, 4, 4, 21)


def test_relations_are_stored_with_their_terms_and_dates(accord):
    relations = {r.kind: r for r in AgreementRelation.objects.select_related(
        "agreement", "target_agreement", "target", "replacement")}
    assert set(relations) == {V.AMENDS, V.SUPERSEDES, V.TERMINATES}
    assert {r.agreement.slug for r in relations.values()} == {"example-river-accord-2023"}
    assert {r.target_agreement.slug for r in relations.values()} == {"example-river-truce-2022"}
    amends, supersedes, ends = relations[V.AMENDS], relations[V.SUPERSEDES], relations[V.TERMINATES]
    assert amends.target is None and amends.replacement is None
    assert amends.note.startswith("The accord keeps the truce")
    # A relation is known from the agreement's signing at the earliest.
    assert amends.published_at == amends.at == kyiv(2023, 3, 1, 12)
    assert (supersedes.target.slug, supersedes.replacement.slug) == (
        "example-river-traffic", "example-river-schedule")
    assert ends.target.slug == "example-observer-mandate"
    assert ends.at == kyiv(2023, 6, 1)  # a date: 00:00 in the accord's zone
    assert ends.published_at == kyiv(2023, 5, 15)  # announced before it held
    assert [s.key for s in ends.sources.all()] == ["observer-report"]
    # History records which sources a relation cites, as for reports.
    assert [s.source.key for s in ends.history.first().sources.all()] == ["observer-report"]
    # The terms a relation ends are re-assessed: here every term of the truce (amends).
    truce = set(Obligation.objects.filter(agreement__slug="example-river-truce-2022")
                .values_list("pk", flat=True))
    assert truce <= accord.changed_obligation_ids


def test_languages_and_contested_text_are_stored(accord):
    agreement = accord.agreement
    assert agreement.titles == {"ru": "Пример речного соглашения (вымышленный)",
                                "az": "Nümunə çay sazişi (uydurma)"}
    assert agreement.descriptions["ru"].startswith("Вымышленное соглашение")
    schedule = Obligation.objects.get(slug="example-river-schedule")
    assert schedule.titles == {"ru": "Опубликовать расписание речного движения"}
    assert schedule.descriptions == {"ru": "Заменяет план речного движения из перемирия."}
    islands = Obligation.objects.get(slug="example-islands")
    assert islands.text_dispute.startswith("Only the English text")
    ru = ClauseText.objects.get(language="ru")
    assert (ru.clause.number, ru.translation) == ("1", False)
    assert [s.key for s in ru.sources.all()] == ["accord-text-ru"]
    az = ClauseText.objects.get(language="az")
    assert az.translation and "translation" in az.note and not az.sources.exists()


def test_reloading_the_unchanged_files_writes_nothing(accord):
    settled()
    before, histories = dump_database(), history_rows()
    for path in (RIVER, ACCORD):
        again = load(path)
        assert not again.changed, (path.name, again.created, again.updated, again.retired)
    assert dump_database() == before
    assert history_rows() == histories


def test_round_trip_of_the_accord(accord, tmp_path):
    data = export_agreement(accord.agreement)
    assert [r["kind"] for r in data["relations"]] == ["amends", "supersedes", "terminates"]
    assert data["relations"][2]["published_at"] == "2023-05-15"
    assert "published_at" not in data["relations"][0]  # the default: left out
    reports = data["obligations"][1]["reports"]
    assert reports[1]["contests"] == "east-claims-shelling"
    assert reports[2]["claimant"] == "tracker"
    assert reports[3]["published_at"] == "2023-04-07T09:30:00+03:00"
    assert "published_at" not in reports[0]
    assert data["clauses"][0]["texts"][0] == {
        "language": "az", "text": "Tərəflər çay hərəkətinin cədvəlini dərc edirlər.",
        "translation": True, "note": "no Azerbaijani text was published; the tracker's translation",
    }
    assert [c["slug"] for c in data["claimants"]] == [
        "example-east-mod", "example-river-news", "example-west-mod"]  # not the built-in one
    round_trip(accord.agreement, tmp_path)


def test_round_trip_with_staff_reports_that_contest_and_are_contested(accord, tmp_path):
    ceasefire = Obligation.objects.get(slug="example-accord-ceasefire")
    east = report("east-claims-shelling")
    staff = Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_DENIAL, occurred_at=east.occurred_at,
        summary="A second denial, entered by staff.", review_state=V.PUBLISHED,
        origin="staff", published_at=timezone.now(), contests=east,
        claimant=Claimant.objects.get(slug="example-west-mod"),
    )
    staff.sources.set(accord.agreement.sources.filter(key="west-statement"))
    answer = Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_VIOLATION, occurred_at=east.occurred_at,
        summary="Staff: the east ministry repeats its claim.", review_state=V.PUBLISHED,
        origin="staff", published_at=timezone.now(), contests=staff,
    )
    answer.sources.set(accord.agreement.sources.filter(key="east-statement"))
    answer.actors.set(Party.objects.filter(slug="example-west"))
    exported = export_agreement(accord.agreement)["obligations"][1]["reports"]
    by_summary = {r["summary"]: r for r in exported}
    assert by_summary["A second denial, entered by staff."]["key"] == f"report-{staff.pk}"
    assert by_summary["Staff: the east ministry repeats its claim."]["contests"] == (
        f"report-{staff.pk}")
    round_trip(accord.agreement, tmp_path)
    assert Report.objects.filter(origin="staff").count() == 2


def test_a_changed_report_is_superseded_and_its_contests_follow(accord, tmp_path, admin_user):
    east = report("east-claims-shelling")
    ceasefire = east.obligation
    staff = Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_DENIAL, occurred_at=east.occurred_at,
        summary="Staff-entered denial.", review_state=V.PUBLISHED, origin="staff",
        published_at=timezone.now(), contests=east, author=admin_user,
    )
    settled()
    path = edited(tmp_path, ACCORD, (
        "summary: East Side says West Side shelled the ferry landing.",
        "summary: East Side says West Side shelled the ferry landing twice.",
    ))
    result = load(path)

    east.refresh_from_db()
    assert east.superseded_at is not None
    assert east.summary.endswith("landing.")  # kept word for word
    new = east.superseded_by
    assert (new.key, new.correction_reason) == ("east-claims-shelling", CHANGED_REASON)
    assert {p.slug for p in new.actors.all()} == {"example-west"}
    assert new.claimant.slug == "example-east-mod"
    # The denial, the finding and the staff denial now contest the current version.
    for key in ("west-denies-shelling", "finding-shelling"):
        assert report(key).contests == new
    staff.refresh_from_db()
    assert staff.contests == new and staff.superseded_at is None
    assert result.retired["report"] == 1 and result.created["report"] == 1
    assert Obligation.objects.get(pk=ceasefire.pk).needs_assessment

    settled()
    before = dump_database()
    assert not load(path).changed
    assert dump_database() == before


def test_a_report_that_contests_another_report_now_is_a_new_version(accord, tmp_path):
    finding = report("finding-shelling")
    path = edited(tmp_path, ACCORD, (
        "        claimant: tracker\n        contests: east-claims-shelling\n",
        "        claimant: tracker\n        contests: west-denies-shelling\n",
    ))
    load(path)
    finding.refresh_from_db()
    assert finding.superseded_at is not None
    assert report("finding-shelling").contests == report("west-denies-shelling")


def test_a_new_actor_or_claimant_supersedes_the_report(accord, tmp_path):
    ended = Report.objects.get(claim=V.CLAIM_VIOLATION_ENDED, key="",
                               obligation__slug="example-accord-ceasefire")
    path = edited(tmp_path, ACCORD, (
        "        claimant: example-river-news\n",
        "        claimant: example-east-mod\n        actors: [example-east, example-west]\n",
    ))
    load(path)
    ended.refresh_from_db()
    new = ended.superseded_by
    assert new.claimant.slug == "example-east-mod"
    assert {p.slug for p in new.actors.all()} == {"example-east", "example-west"}


def test_a_changed_relation_is_updated_and_its_terms_reassessed(accord, tmp_path):
    settled()
    path = edited(tmp_path, ACCORD, ("    at: 2023-06-01\n", "    at: 2023-07-01\n"))
    result = load(path)
    ends = AgreementRelation.objects.get(kind=V.TERMINATES)
    assert ends.at == kyiv(2023, 7, 1)
    assert result.updated["relation"] == 1
    flagged = set(Obligation.objects.filter(needs_assessment=True).values_list("slug", flat=True))
    assert flagged == {"example-observer-mandate"}
    assert ends.history.count() == 2


def test_a_relation_dropped_from_the_file_is_deleted_and_its_terms_reassessed(accord, tmp_path):
    settled()
    text = ACCORD.read_text(encoding="utf-8")
    start = text.index("  - kind: terminates")
    end = text.index("clauses:")
    path = tmp_path / ACCORD.name
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    result = load(path)
    assert result.removed["relation"] == 1
    assert not AgreementRelation.objects.filter(kind=V.TERMINATES).exists()
    assert Obligation.objects.get(slug="example-observer-mandate").needs_assessment


def test_a_term_another_agreement_relates_to_cannot_be_dropped(accord, tmp_path):
    text = RIVER.read_text(encoding="utf-8")
    start = text.index("  - slug: example-river-traffic")
    path = tmp_path / RIVER.name
    path.write_text(text[:start], encoding="utf-8")
    before = dump_database()
    with pytest.raises(LoaderError) as caught:
        load(path)
    assert "agreement 'example-river-accord-2023' relates to it" in str(caught.value)
    assert dump_database() == before


def test_files_in_one_command_see_those_loaded_before_them(db, capsys):
    # Alone, the accord names an agreement the tracker does not hold.
    with pytest.raises(CommandError):
        call_command("load_agreement", str(ACCORD), "--no-assess")
    err = capsys.readouterr().err
    assert f"{ACCORD}:" in err and "unknown agreement 'example-river-truce-2022'" in err
    assert not Agreement.objects.exists()

    # Given after it, the truce it refers to is loaded first.
    call_command("load_agreement", str(ACCORD), str(RIVER), "--no-assess")
    out = capsys.readouterr().out
    assert out.index(f"{RIVER}: loaded") < out.index(f"{ACCORD}: loaded")
    assert "relation: 3 created" in out and "claimant: 4 created" in out
    assert AgreementRelation.objects.count() == 3


def test_the_built_in_claimant_is_created_once(accord, tmp_path):
    assert Claimant.objects.filter(slug="tracker").count() == 1
    load(edited(tmp_path, ACCORD, ("slug: example-river-accord-2023",
                                   "slug: example-river-accord-2023-copy")))
    assert Claimant.objects.filter(slug="tracker").count() == 1


# -- the bulk path: the number of statements does not grow with the file


def _many(n: int, summary: str = "Claim 0") -> str:
    """An agreement with the accord's parties and claimants and `n` claims on one term,
    each denied and the denial answered by a finding, and a relation per truce term."""
    head = ACCORD.read_text(encoding="utf-8").split("relations:")[0]
    out = [head.replace("slug: example-river-accord-2023", f"slug: many-{n}"), "relations:"]
    for term in ("example-ceasefire", "example-bridge-withdrawal", "example-river-traffic"):
        out += [f"  - {{kind: amends, agreement: example-river-truce-2022, term: {term},",
                "     at: 2023-03-02, sources: [accord-text]}"]
    out += ["clauses:", "  - {number: 1, text: Keep the ceasefire.}", "obligations:",
            "  - slug: many-claims", "    clause: 1", "    title: Ceasefire", "    kind: ongoing",
            "    category: ceasefire", "    responsible: [example-east, example-west]",
            "    sources: [accord-text]", "    reports:"]
    for i in range(n):
        at = f"2023-04-{1 + i % 28:02d}"
        said = summary if i == 0 else f"Claim {i}"
        out += [
            f"      - {{key: claim-{i}, claim: violation, occurred_at: {at}, summary: {said},"
            " actors: [example-west], claimant: example-east-mod, sources: [east-statement]}",
            f"      - {{key: denial-{i}, claim: denial, occurred_at: {at}, summary: Denial {i},"
            f" claimant: example-west-mod, contests: claim-{i}, sources: [west-statement]}}",
            f"      - {{claim: violation, occurred_at: {at}, summary: Finding {i},"
            f" actors: [example-west], claimant: tracker, contests: denial-{i},"
            " sources: [observer-report]}",
        ]
    return "\n".join(out) + "\n"


def _statements(path) -> int:
    with CaptureQueriesContext(connection) as queries:
        load(path)
    return len(queries)


def test_the_number_of_statements_does_not_grow_with_the_reports(accord, tmp_path):
    """The bulk path: claims, actors, claimants, contests and relations are read and
    written a kind at a time, whatever the number of reports (first load, unchanged
    reload, and a reload that supersedes one contested report)."""
    counts = []
    for n in (3, 30):
        path = tmp_path / f"many-{n}.yaml"
        path.write_text(_many(n), encoding="utf-8")
        first = _statements(path)
        again = _statements(path)
        path.write_text(_many(n, summary="Claim zero"), encoding="utf-8")
        counts.append((first, again, _statements(path)))
        current = Report.objects.filter(obligation__agreement__slug=f"many-{n}",
                                        superseded_at__isnull=True)
        assert current.count() == 3 * n
        assert current.filter(contests__summary="Claim zero").count() == 1
    assert counts[0] == counts[1], counts
