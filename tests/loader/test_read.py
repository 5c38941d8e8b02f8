"""Stage 1: the YAML guard counts what aliases add, not the size of an honest file."""

from __future__ import annotations

import pytest

from tracker.loader import LoaderError, read_yaml
from tracker.loader.read import MAX_ALIAS_VALUES


def test_a_large_file_without_aliases_is_read(tmp_path):
    path = tmp_path / "large.yaml"
    count = MAX_ALIAS_VALUES + 50_000
    path.write_text("values:\n" + "".join(f"  - v{i}\n" for i in range(count)))
    data, lines = read_yaml(path)
    assert len(data["values"]) == count
    assert lines[("values", count - 1)] == count + 1


def test_a_few_honest_aliases_are_expanded(tmp_path):
    path = tmp_path / "aliases.yaml"
    path.write_text("common: &common [a, b]\nfirst: *common\nsecond: {<<: {x: 1}, y: *common}\n")
    data, _ = read_yaml(path)
    assert data["first"] == ["a", "b"] and data["second"] == {"x": 1, "y": ["a", "b"]}


def test_an_alias_bomb_is_refused_naming_the_file_and_line(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 7):  # 10^6 values from seven short lines
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LoaderError) as caught:
        read_yaml(path)
    (error,) = caught.value.errors
    assert str(error).startswith(f"{path}:")
    assert error.line and "aliases expand to more than" in error.message
