"""Dated names in agreement files: a party's or a place's `former_names` are checked like
the rest of the file, stored with their instants and sources' addresses, searchable,
and exported back unchanged."""

from __future__ import annotations

import pytest

from tests.loader.conftest import EXAMPLES, RIVER, dump_database, edited, line_with
from tests.loader.test_roundtrip import round_trip
from tracker.exporter import export_agreement
from tracker.loader import LoaderError, check_file, load
from tracker.models import Location, Party

RENAMED = EXAMPLES / "renamed-2021.yaml"


def test_former_names_are_stored_with_their_instants_and_sources(db):
    load(RENAMED)
    north = Party.objects.get(slug="example-north")
    harbour = Location.objects.get(slug="example-harbour")

    # A date is 00:00 in the agreement's zone (Asia/Tbilisi, UTC+4); a key becomes the
    # address of its source (parties and places are shared, sources are the file's).
    assert north.former_names == [{
        "name": "North Province (fictional)", "until": "2021-06-14T20:00:00+00:00",
        "sources": ["https://example.org/renaming-act"],
    }]
    assert [e["until"] for e in harbour.former_names] == [
        "2021-05-01T08:00:00+00:00", "2021-06-14T20:00:00+00:00"]
    assert harbour.former_names[0] == {
        "names": {"en": "Old Fishport"}, "until": "2021-05-01T08:00:00+00:00",
        "sources": ["https://example.org/earlier-renaming"],
    }
    assert harbour.former_names[1]["alt_name"] == "Bay Town"
    assert harbour.former_names[1]["note"].startswith("renamed by the North's parliament")
    # Today's names stay today's.
    assert north.name == "North Republic (fictional)"
    assert harbour.label == "New Harbour / Bay Town"


def test_former_names_are_searchable(db):
    load(RENAMED)
    assert Location.objects.get(slug="example-harbour").all_names() == [
        "New Harbour", "Новая Гавань", "Bay Town", "Old Fishport", "Fishport", "Рыбпорт"]
    assert "fishport" in Location.objects.get(slug="example-harbour").search_text
    assert "north province" in Party.objects.get(slug="example-north").search_text
    assert list(Party.objects.filter(search_text__contains="north republic")
                .values_list("slug", flat=True)) == ["example-north"]


def test_reloading_the_same_file_changes_nothing(db):
    load(RENAMED)
    before = dump_database()
    assert not load(RENAMED).changed
    assert dump_database() == before


def test_round_trip_through_the_exporter(db, tmp_path):
    agreement = load(RENAMED).agreement
    exported = export_agreement(agreement)
    north = next(p for p in exported["parties"] if p["slug"] == "example-north")
    # As the file wrote them: a date where the instant is 00:00 local, keys for the
    # file's own sources, an address for one the file gave as an address.
    assert north["former_names"] == [{"name": "North Province (fictional)",
                                      "until": "2021-06-15",
                                      "sources": ["example-renaming-act"]}]
    [harbour] = exported["locations"]
    assert [e["until"] for e in harbour["former_names"]] == [
        "2021-05-01T12:00:00+04:00", "2021-06-15"]
    assert harbour["former_names"][0]["sources"] == ["https://example.org/earlier-renaming"]
    round_trip(agreement, tmp_path)


def test_another_files_former_names_export_by_address(db, tmp_path):
    """A place shared with an agreement whose file cited its own source: the other
    agreement's export names that source by its address, and reloads unchanged."""
    river = load(RIVER).agreement
    load(RENAMED)
    bridge = Location.objects.get(slug="example-bridge")
    bridge.former_names = [{"names": {"en": "Toll Bridge"}, "until": "2022-01-01T00:00:00+00:00",
                            "sources": ["https://example.org/renaming-act"]}]
    bridge.save()
    exported = next(loc for loc in export_agreement(river)["locations"]
                    if loc["slug"] == "example-bridge")
    assert exported["former_names"] == [{
        "names": {"en": "Toll Bridge"}, "until": "2022-01-01T02:00:00+02:00",
        "sources": ["https://example.org/renaming-act"],
    }]
    round_trip(river, tmp_path)


@pytest.mark.parametrize(
    ("old", "new", "key", "fragment", "needle"),
    [
        ("        until: 2021-06-15\n        sources: [example-renaming-act]\n  - {slug",
         "        until: 2021-06-31\n        sources: [example-renaming-act]\n  - {slug",
         "parties[0].former_names[0].until", "is not a valid date", "until: 2021-06-31"),
        ("      - name: North Province (fictional)\n",
         "      - nme: North Province (fictional)\n",
         "parties[0].former_names[0].name", "required key is missing", "nme: North"),
        ("      - names: {en: Old Fishport}\n", "      - names: {ru: Старый Рыбпорт}\n",
         "locations[0].former_names[0].names.en", "required key is missing",
         "names: {ru: Старый"),
        ("        until: 2021-05-01T12:00:00+04:00\n",
         "        until: 2021-05-01T12:00:00\n",
         "locations[0].former_names[0].until", "has no UTC offset", "until: 2021-05-01T"),
        ("        until: 2021-05-01T12:00:00+04:00\n", "        until: 2999-05-01\n",
         "locations[0].former_names[0].until", "is after the present", "until: 2999"),
        ("        until: 2021-05-01T12:00:00+04:00\n", "        until: 2021-06-14T20:00:00Z\n",
         "locations[0].former_names[1].until", "ends at the same instant",
         "note: renamed"),
        ('        sources: ["https://example.org/earlier-renaming"]\n',
         "        sources: [example-nowhere]\n",
         "locations[0].former_names[0].sources[0]", "unknown source 'example-nowhere'",
         "[example-nowhere]"),
        ('        sources: ["https://example.org/earlier-renaming"]\n',
         "        sources: []\n",
         "locations[0].former_names[0].sources", "should be non-empty", "sources: []"),
    ],
    ids=["bad-date", "no-name", "no-en-name", "no-offset", "future", "same-until",
         "unknown-source", "no-source"],
)
def test_bad_former_names_name_file_line_and_key_and_store_nothing(db, tmp_path, old, new,
                                                                   key, fragment, needle):
    load(RIVER)
    before = dump_database()
    path = edited(tmp_path, RENAMED, (old, new))

    with pytest.raises(LoaderError) as caught:
        load(path)

    found = [e for e in caught.value.errors if e.key == key]
    assert found, "\n".join(map(str, caught.value.errors))
    assert any(fragment in e.message for e in found), found
    error = found[0]
    # The line of the bad value, or of the entry a missing key belongs to (`needle`;
    # for two entries ending together, the second's `until`, two lines above its note).
    expected = line_with(path, needle) - (2 if needle == "note: renamed" else 0)
    assert error.line == expected
    assert str(error).startswith(f"{path}:{error.line}: {key}: ")
    assert dump_database() == before


def test_an_error_points_at_the_line_of_the_bad_value(tmp_path):
    path = edited(tmp_path, RENAMED, ("        until: 2021-05-01T12:00:00+04:00\n",
                                      "        until: 1 May 2021\n"))
    with pytest.raises(LoaderError) as caught:
        check_file(path)
    [error] = caught.value.errors
    assert error.key == "locations[0].former_names[0].until"
    assert error.line == line_with(path, "until: 1 May 2021")
