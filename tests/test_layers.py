"""DESIGN's layer rule, read from the sources: web and api -> domain -> engine."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def imports(path: Path) -> set[str]:
    """Every module `path` imports (absolute names), wherever in the file."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def offenders(folder: str, forbidden: tuple[str, ...], skip: tuple[str, ...] = ()) -> list:
    result = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        rel = path.relative_to(ROOT).as_posix()
        if "migrations" in rel or rel.startswith(skip):
            continue
        bad = sorted(m for m in imports(path) if m.startswith(forbidden))
        if bad:
            result.append((rel, bad))
    return result


def test_the_dashboard_imports_neither_the_api_nor_drf():
    assert offenders("tracker/web", ("tracker.api", "rest_framework")) == []


def test_the_domain_imports_neither_the_api_nor_the_dashboard():
    # tracker/ outside its api/ and web/ folders (the URL table wires them, so skip it).
    assert offenders(
        "tracker", ("tracker.api", "tracker.web"),
        skip=("tracker/api/", "tracker/web/", "tracker/urls.py"),
    ) == []


def test_points_in_time_and_statuses_at_t_know_no_web_framework():
    for module in ("tracker/instants.py", "tracker/statuses.py"):
        found = imports(ROOT / module)
        assert not {m for m in found if m.startswith(("rest_framework", "django.http"))}, module


def test_the_engine_imports_only_the_standard_library_and_the_vocabulary():
    found = imports(ROOT / "deadlines/engine.py")
    assert {m for m in found if m.split(".")[0] in ("django", "tracker", "rest_framework")} == {
        "tracker", "tracker.vocabulary"
    }
