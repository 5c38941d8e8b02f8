"""`manage.py load_agreement`: what it prints, and that it assesses what it loaded."""

from __future__ import annotations

from django.core.management import call_command

from tests.loader.conftest import MINIMAL, RIVER
from tracker.models import Obligation


def test_load_prints_counts_and_assesses(db, capsys):
    call_command("load_agreement", str(RIVER), str(MINIMAL))
    out = capsys.readouterr().out
    assert f"{RIVER}: loaded agreement example-river-truce-2022" in out
    assert "obligation: 4 created" in out
    assert "report: 3 created" in out
    assert "assessed 5 obligation(s)" in out
    assert not Obligation.objects.filter(status="").exists()
    assert not Obligation.objects.filter(needs_assessment=True).exists()

    call_command("load_agreement", str(RIVER))
    out = capsys.readouterr().out
    assert f"{RIVER}: unchanged agreement" in out
    assert "obligation: 4 unchanged" in out
    assert "assessed" not in out


def test_no_assess_leaves_statuses_to_the_sweep_and_a_later_load_catches_up(db, capsys):
    call_command("load_agreement", "--no-assess", str(MINIMAL))
    assert Obligation.objects.get().status == ""
    call_command("load_agreement", str(MINIMAL))
    assert "assessed 1 obligation(s)" in capsys.readouterr().out
    assert Obligation.objects.get().status != ""


def test_the_example_in_the_docs_loads(db, tmp_path):
    """docs/agreement-format.md's example is a valid file and means what it says."""
    import re
    from datetime import UTC, datetime
    from pathlib import Path

    from tracker.loader import load

    doc = (Path(__file__).resolve().parents[2] / "docs" / "agreement-format.md").read_text()
    example = re.search(r"## Example\n\n```yaml\n(.*?)```", doc, re.S).group(1)
    path = tmp_path / "doc-example.yaml"
    path.write_text(example)
    load(path)
    thing = Obligation.objects.get(slug="example-thing")
    assert thing.original_due_date.isoformat() == "2021-03-15"
    assert thing.due_at == datetime(2021, 3, 21, 5, tzinfo=UTC)  # by 20 March, UTC-5
    assert thing.reports.get().unconfirmed
