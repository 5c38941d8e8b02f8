"""Helpers for the loader tests: example files and a full dump of the tracker's tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.apps import apps

EXAMPLES = Path(__file__).resolve().parents[2] / "fixtures" / "examples"
RIVER = EXAMPLES / "river-truce-2022.yaml"
MINIMAL = EXAMPLES / "minimal.yaml"
# Follows RIVER (relations to it): claims, findings, contests, relations, languages.
ACCORD = EXAMPLES / "river-accord-2023.yaml"
BAD = sorted((EXAMPLES / "bad").glob("*.yaml"))


def dump_database() -> dict[str, list[dict]]:
    """Every row of every tracker table (history and m2m tables too), in pk order.

    Equal dumps before and after an operation mean it wrote nothing at all.
    """
    out = {}
    for model in apps.get_app_config("tracker").get_models(include_auto_created=True):
        out[model._meta.db_table] = list(model.objects.order_by("pk").values())
    return out


def history_rows() -> int:
    return sum(
        model.objects.count()
        for model in apps.get_app_config("tracker").get_models()
        if model.__name__.startswith("Historical")
    )


def expected_errors(path: Path) -> set[tuple[int, str]]:
    """(line, key path) of every `# error: <key path>` marker in a bad example file."""
    found = set()
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = re.search(r"#\s*error:\s*(\S.*?)\s*$", line)
        if match:
            found.add((number, match.group(1)))
    return found


def edited(tmp_path: Path, source: Path, *replacements: tuple[str, str]) -> Path:
    """A copy of `source` with each (old, new) replaced exactly once."""
    text = source.read_text(encoding="utf-8")
    for old, new in replacements:
        assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
        text = text.replace(old, new)
    out = tmp_path / source.name
    out.write_text(text, encoding="utf-8")
    return out


@pytest.fixture
def river(db):
    from tracker.loader import load

    return load(RIVER)


@pytest.fixture
def accord(river):
    """The river truce, then the accord that follows it: the accord's LoadResult."""
    from tracker.loader import load

    return load(ACCORD)


def line_with(path: Path, needle: str) -> int:
    """The number of the one line of `path` that contains `needle`."""
    numbers = [n for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
               if needle in line]
    assert len(numbers) == 1, f"{needle!r} is on lines {numbers}"
    return numbers[0]
