"""Stage 3 leaves the audit trail that saving each row would: one history record per
row written, a fact's record with the sources it cites; nothing for rows left alone."""

from __future__ import annotations

from tests.loader.conftest import RIVER, edited
from tracker import vocabulary as V
from tracker.loader import load
from tracker.models import Location, Obligation, Report


def source_keys(record) -> set[str]:
    return {row.source.key for row in record.sources.all()}


def test_a_first_load_records_each_row_created_with_its_sources(river):
    for report in Report.objects.all():
        (record,) = report.history.all()
        assert record.history_type == "+"
        assert record.summary == report.summary
        assert source_keys(record) == {s.key for s in report.sources.all()} != set()
    for obligation in Obligation.objects.all():
        assert [r.history_type for r in obligation.history.all()] == ["+"]
    bridge = Location.objects.get(slug="example-bridge")
    assert bridge.history.get().alt_name == "Stone Bridge"
    assert "stary most" in bridge.search_text  # derived column set by the bulk writer


def test_a_reload_records_the_superseded_report_as_it_was(river, tmp_path):
    violation = Report.objects.get(claim=V.CLAIM_VIOLATION)
    load(edited(tmp_path, RIVER, ("summary: Shots reported near the Old Bridge.",
                                  "summary: Shots reported near the Old Bridge; two observers.")))
    latest = violation.history.order_by("-history_id").first()
    assert latest.history_type == "~"
    assert latest.superseded_at is not None
    assert latest.summary == "Shots reported near the Old Bridge."
    assert source_keys(latest) == {"example-report"}
    successor = Report.objects.get(supersedes=violation)
    assert [r.history_type for r in successor.history.all()] == ["+"]
    assert successor.history.get().supersedes_id == violation.pk


def test_rows_the_file_creates_count_as_published_at_signing_and_reloaded_edits_now(
    river, tmp_path
):
    from django.test import Client
    from django.utils import timezone

    from tracker.models import Agreement, Clause

    agreement = Agreement.objects.get(slug="example-river-truce-2022")
    signed = agreement.signed_at
    assert agreement.history.get().history_date == signed
    assert {r.history_date for r in Obligation.history.all()} == {signed}
    assert {r.history_date for r in Clause.history.all()} == {signed}
    before = timezone.now()
    load(edited(tmp_path, RIVER, ("title: Example river truce (fictional)\n",
                                  "title: Example river truce (fictional, renamed)\n")))
    latest = agreement.history.order_by("-history_date", "-history_id").first()
    assert latest.history_type == "~" and latest.history_date >= before
    # Read as known between the signing and the reload: the title published first.
    url = f"/api/v1/agreements/{agreement.slug}/"
    then = Client().get(url, {"known_at": "2023-01-01"}).json()
    assert then["title"] == "Example river truce (fictional)"
    assert Client().get(url).json()["title"] == "Example river truce (fictional, renamed)"
    # Before the signing the tracker had published nothing of it.
    assert Client().get(url, {"known_at": "2022-09-30"}).json()["not_yet_published"] is True
