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
