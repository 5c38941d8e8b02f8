"""`load_agreement` loads each file after the files of the agreements it refers to, in
whatever order the paths are given (`tracker.loader.order`)."""

from __future__ import annotations

from pathlib import Path

from django.core.management import call_command

from tracker.loader.order import load_order
from tracker.models import AgreementRelation

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "fixtures"


def _file(tmp_path: Path, name: str, slug: str, *refs: str) -> str:
    relations = "".join(f"\n  - kind: implements\n    agreement: {r}" for r in refs)
    path = tmp_path / name
    path.write_text(f"slug: {slug}\nrelations:{relations or ' []'}\n", encoding="utf-8")
    return str(path)


def test_each_file_follows_the_files_it_refers_to(tmp_path):
    a = _file(tmp_path, "a.yaml", "a")
    b = _file(tmp_path, "b.yaml", "b", "a")
    c = _file(tmp_path, "c.yaml", "c", "b", "a", "loaded-before")  # the last: in the database
    d = _file(tmp_path, "d.yaml", "d")
    assert load_order([c, d, b, a]) == [d, a, b, c]
    assert load_order([a, b, c, d]) == [a, b, c, d]


def test_a_cycle_keeps_the_order_given_and_an_unreadable_file_waits_for_nothing(tmp_path):
    x = _file(tmp_path, "x.yaml", "x", "y")
    y = _file(tmp_path, "y.yaml", "y", "x")
    broken = tmp_path / "broken.yaml"
    broken.write_text("slug: [unclosed\n", encoding="utf-8")
    missing = str(tmp_path / "missing.yaml")
    # The loader then names the problems of each: here only the order is decided.
    assert load_order([str(broken), x, missing, y]) == [str(broken), missing, x, y]
    assert load_order([y, x]) == [y, x]


def test_the_fixture_files_load_in_the_order_a_shell_lists_them(db, capsys):
    paths = sorted(str(p) for p in FIXTURES.glob("*.yaml"))  # nov-2020-... sorts last
    assert paths[-1].endswith("nov-2020-trilateral.yaml")
    call_command("load_agreement", "--no-assess", *paths)
    out = capsys.readouterr().out
    assert out.count("loaded agreement") == len(paths)
    assert out.index("nov-2020-trilateral.yaml: loaded") < out.index(
        "2021-01-11-moscow-statement.yaml: loaded")
    assert AgreementRelation.objects.filter(target_agreement__slug="nov-2020-trilateral").exists()
