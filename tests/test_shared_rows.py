"""tests/shared.py's promise, which much of the suite leans on: rows shared by a
module's tests are seen as built by every test that asks for them, whatever an earlier
test wrote or changed in memory, and by no test that does not ask for them.

Each test holds whatever the order (pytest-django runs the transactional one last).
"""

from __future__ import annotations

import pytest

from tests.shared import SharedRows, shared_rows
from tracker.models import Party


def build() -> dict[str, Party]:
    return {"party": Party.objects.create(slug="shared-party", name="As built")}


_rows = shared_rows(build)


@pytest.fixture
def rows(_rows, db) -> dict[str, Party]:
    return _rows.copy() if _rows.is_open else build()


def shared_parties() -> list[str]:
    return list(Party.objects.filter(slug__startswith="shared-").values_list("name", flat=True))


def test_a_test_may_write_to_the_rows_and_change_their_objects(rows, _rows):
    assert _rows.is_open
    party = rows["party"]
    party.name = "Changed"
    party.save()
    Party.objects.create(slug="shared-extra", name="Extra")
    assert sorted(shared_parties()) == ["Changed", "Extra"]


def test_a_test_that_does_not_ask_sees_none_of_them(db):
    assert shared_parties() == []
    assert not any(rows.is_open for rows in SharedRows.alive)


def test_the_next_test_that_asks_finds_them_as_built(rows, _rows):
    assert _rows.is_open
    assert shared_parties() == ["As built"]
    assert rows["party"].name == "As built"
    assert rows["party"] is not _rows.value["party"]  # a copy of its own


def test_objects_changed_in_memory_stay_with_their_test(rows, _rows):
    rows["party"].name = "Only in memory"
    assert _rows.value["party"].name == "As built"


@pytest.mark.django_db(transaction=True)
def test_a_transactional_test_gets_rows_of_its_own(rows, _rows):
    assert not _rows.is_open
    assert shared_parties() == ["As built"]
