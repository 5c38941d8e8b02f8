"""export -> load writes nothing, and export(load(export)) == export."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import yaml
from django.core.management import CommandError, call_command
from django.utils import timezone

from tests.conftest import NOV_2020
from tests.loader.conftest import RIVER, dump_database, history_rows
from tracker import vocabulary as V
from tracker.exporter import export_agreement, to_yaml
from tracker.loader import load, read_yaml
from tracker.models import Agreement, Obligation, Report


def round_trip(agreement: Agreement, tmp_path) -> None:
    first = export_agreement(agreement)
    path = tmp_path / f"{agreement.slug}.yaml"
    path.write_text(to_yaml(first), encoding="utf-8")
    Obligation.objects.update(needs_assessment=False)
    before, histories = dump_database(), history_rows()

    result = load(path)

    assert not result.changed, (result.created, result.updated, result.retired)
    assert dump_database() == before
    assert history_rows() == histories
    assert export_agreement(result.agreement) == first


def test_round_trip_of_the_example(river, tmp_path):
    round_trip(river.agreement, tmp_path)


@pytest.mark.skipif(not NOV_2020.exists(), reason="the November 2020 file is not there yet")
def test_round_trip_of_november_2020(nov2020, tmp_path):
    round_trip(nov2020, tmp_path)


def test_round_trip_with_staff_facts(river, tmp_path):
    """Published staff reports are exported; the reload matches them, duplicating nothing."""
    ceasefire = Obligation.objects.get(slug="example-ceasefire")
    staff = Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_VIOLATION,
        occurred_at=datetime(2022, 11, 5, tzinfo=UTC),
        summary="Staff-entered.", review_state=V.PUBLISHED, origin="staff",
        published_at=timezone.now(),
    )
    staff.sources.set(river.agreement.sources.filter(key="example-report"))
    # One with no source cannot be written in the format (sources are required): left out.
    Report.objects.create(
        obligation=ceasefire, claim=V.CLAIM_PROGRESS,
        occurred_at=datetime(2022, 11, 6, tzinfo=UTC),
        summary="Unsourced.", review_state=V.PUBLISHED, origin="staff",
        published_at=timezone.now(),
    )
    round_trip(river.agreement, tmp_path)
    assert Report.objects.filter(summary="Staff-entered.").count() == 1


def test_export_writes_local_dates_and_instants(river):
    data = export_agreement(river.agreement)
    ceasefire, bridge = data["obligations"][0], data["obligations"][1]
    assert data["signed_at"] == "2022-10-01T18:30:00+03:00"
    assert ceasefire["reports"][1]["occurred_at"] == "2022-10-21"  # date-only stays a date
    assert ceasefire["reports"][0]["occurred_at"] == "2022-10-20T22:15:00+03:00"
    assert ceasefire["reports"][0]["unconfirmed"] is True
    assert bridge["due"] == "2022-10-29"  # the file's due; the change says the rest
    assert bridge["deadline_changes"][0]["agreed_at"] == "2022-10-25"
    assert bridge["reports"][0]["occurred_at"] == "2022-10-30T23:30:00+02:00"  # winter time
    assert list(data)[:6] == ["slug", "title", "signed_at", "effective_at", "timezone",
                              "warning_days"]


def test_superseded_and_draft_reports_are_not_exported(river):
    report = Report.objects.get(claim=V.CLAIM_VIOLATION)
    report.superseded_at = timezone.now()
    report.save()
    Report.objects.create(
        obligation=report.obligation, claim=V.CLAIM_PROGRESS, occurred_at=report.occurred_at,
        summary="draft", origin="staff",
    )
    claims = [r["claim"] for r in export_agreement(river.agreement)["obligations"][0]["reports"]]
    assert claims == [V.CLAIM_VIOLATION_ENDED]


def test_export_command_writes_a_file_that_loads(river, tmp_path, capsys):
    out = tmp_path / "out.yaml"
    call_command("export_agreement", river.agreement.slug, "-o", str(out))
    assert capsys.readouterr().out == f"wrote {out}\n"
    data, _ = read_yaml(out)
    assert data == export_agreement(river.agreement)
    call_command("export_agreement", river.agreement.slug)
    assert yaml.safe_load(capsys.readouterr().out)["slug"] == river.agreement.slug
    with pytest.raises(CommandError, match="no agreement 'nope'"):
        call_command("export_agreement", "nope")


def test_the_example_file_loads_as_written(river):
    data, _ = read_yaml(RIVER)
    assert data["slug"] == river.agreement.slug
