"""Any value of any type in any place gives a LoaderError (or loads), never a crash."""

from __future__ import annotations

import copy

import pytest

from tests.loader.conftest import ACCORD, RIVER
from tracker.loader import LoaderError, check_data, check_file, read_yaml

REPLACEMENTS = [None, 7, "2022-13-45", [], {"x": 1}]


def leaves(data, path=()):
    if isinstance(data, dict):
        for key, value in data.items():
            yield from leaves(value, (*path, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            yield from leaves(value, (*path, i))
    yield path


def replaced(data, path, value):
    out = copy.deepcopy(data)
    if not path:
        return value
    target = out
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return out


@pytest.mark.parametrize("example", [RIVER, ACCORD], ids=lambda p: p.stem)
def test_every_place_every_type(example):
    data, _ = read_yaml(example)
    paths = list(leaves(data))
    assert len(paths) > 150
    outcomes = {"loaded": 0, "refused": 0}
    for path in paths:
        for value in REPLACEMENTS:
            try:
                check_data(replaced(data, path, value))
                outcomes["loaded"] += 1
            except LoaderError as exc:
                assert exc.errors and all(e.message for e in exc.errors)
                outcomes["refused"] += 1
    assert outcomes["refused"] > outcomes["loaded"] > 0


@pytest.mark.parametrize("text", ["", "null", "[]", "42", "'text'", "{}", "a: [", "\t- x",
                                  "--- a\n--- b\n", "!!python/object:os.system {}",
                                  "? [a, b]\n: c\n"])
def test_odd_documents(tmp_path, text):
    path = tmp_path / "odd.yaml"
    path.write_text(text)
    with pytest.raises(LoaderError):
        check_file(path)
