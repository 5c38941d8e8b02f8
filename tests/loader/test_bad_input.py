"""Bad files: every problem is reported with file, key path and line; nothing is written."""

from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command

from tests.loader.conftest import BAD, EXAMPLES, RIVER, dump_database, edited, expected_errors
from tracker.loader import LoaderError, check_file, load


def test_every_bad_example_marks_its_errors():
    names = {p.name for p in BAD}
    assert {
        "broken-yaml.yaml", "unknown-key.yaml", "unknown-reference.yaml", "bad-date.yaml",
        "no-offset.yaml", "change-before-agreement.yaml", "claim-kind.yaml",
        "actor-not-a-party.yaml", "relation-unknown-term.yaml", "relation-replacement.yaml",
    } <= names
    for path in BAD:
        assert expected_errors(path), f"{path.name} marks no expected error"


@pytest.mark.parametrize("path", BAD, ids=lambda p: p.stem)
def test_bad_file_names_file_key_and_line_and_changes_nothing(db, path):
    load(RIVER)  # something in the database that a failed load must not disturb
    before = dump_database()

    with pytest.raises(LoaderError) as caught:
        load(path)

    found = {(e.line, e.key) for e in caught.value.errors}
    assert found == expected_errors(path), "\n".join(map(str, caught.value.errors))
    for error in caught.value.errors:
        text = str(error)
        assert text.startswith(f"{path}:{error.line}: {error.key}: ")
        assert error.message
    assert dump_database() == before


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("broken-yaml.yaml", "broken YAML"),
        ("unknown-key.yaml", "unknown key 'ocurred_at'"),
        ("unknown-reference.yaml", "unknown party 'example-nobody'"),
        ("unknown-reference.yaml", "unknown source 'example-missing-source'"),
        ("bad-date.yaml", "'2021-02-30' is not a valid date"),
        ("no-offset.yaml", "has no UTC offset"),
        ("change-before-agreement.yaml", "a deadline change before the agreement"),
        ("claim-kind.yaml", "claim 'violation' does not fit a deadline obligation"),
        ("facts-from-the-future.yaml", "is after the present: a fact records what already"),
        ("actor-not-a-party.yaml", "actor 'example-stranger' is not a party of this agreement"),
        ("actor-not-a-party.yaml", "unknown claimant 'example-press'"),
        ("actor-not-a-party.yaml", "a denial must say which report it denies"),
        ("actor-not-a-party.yaml", "a finding (claimant 'tracker') must cite at least one"),
        ("relation-replacement.yaml", "only a relation of kind 'supersedes' has a replacement"),
        ("relation-replacement.yaml", "replacement 'example-elsewhere' is not a term of this"),
        ("relation-replacement.yaml", "unknown language code 'en'"),
    ],
)
def test_messages_say_what_is_wrong(name, fragment):
    with pytest.raises(LoaderError) as caught:
        check_file(EXAMPLES / "bad" / name)
    assert fragment in str(caught.value)


def test_all_errors_are_collected_not_just_the_first(tmp_path):
    path = edited(
        tmp_path, RIVER,
        ("timezone: Europe/Kyiv", "timezone: Europe/Atlantis"),
        ("    responsible: [example-east]\n", "    responsible: [example-south]\n"),
        ("        occurred_at: 2022-10-21\n", "        occurred_at: 21.10.2022\n"),
        ("warning_days: 5", "warning_days: 400"),
    )
    with pytest.raises(LoaderError) as caught:
        check_file(path)
    keys = {e.key for e in caught.value.errors}
    assert {"timezone", "warning_days", "obligations[1].responsible[0]"} <= keys
    # With the zone unknown a local date cannot be placed in time: that one is not
    # reported as a second, misleading error, but the zone's own error is.
    assert any("Europe/Atlantis" in e.message for e in caught.value.errors)


@pytest.mark.parametrize(
    ("replacements", "key", "fragment"),
    [
        ((("slug: example-ferry", "slug: example-bridge"),), "locations[1].slug", "duplicate"),
        ((("  - number: 4\n", "  - number: 2\n"),), "clauses[3].number", "duplicate"),
        ((("lat: 50.45", "lat: 95"),), "locations[0].lat", "maximum"),
        ((("effective_at: 2022-10-02T00:00:00+03:00", "effective_at: 2022-09-01T00:00:00Z"),),
         "effective_at", "before signed_at"),
        ((("    term: {years: 1, renews_years: 1, notice_months: 2}\n",
           "    term: {years: 1, renews_years: 1, notice_months: 2}\n"
           "    ends_at: 2022-10-01T00:00:00+03:00\n"),), "obligations[2].ends_at", "after"),
        ((("    sources: [example-text]\n    starts_at: 2022-10-02T00:00:00+03:00\n    term",
           "    sources: []\n    starts_at: 2022-10-02T00:00:00+03:00\n    term"),),
         "obligations[2].sources", "should be non-empty"),
        ((("names: {en: Ferry Landing}", "names: {uk: Пором}"),), "locations[1].names.en",
         "required"),
        ((("kind: monitor", "kind: referee"),), "parties[2].kind", "is not one of"),
        ((("    due: 2022-10-29\n", ""),), "obligations[1].due", "needs a due date"),
        ((("timezone: Europe/Kyiv", "timezone: Europe/Kyiv\ntimezone: UTC"),), "timezone",
         "duplicate key"),
    ],
    ids=["dup-location", "dup-clause", "lat-range", "effective-before-signed", "ends-before",
         "no-sources", "no-en-name", "party-kind", "deadline-without-due", "duplicate-key"],
)
def test_semantic_and_schema_rules(tmp_path, replacements, key, fragment):
    path = edited(tmp_path, RIVER, *replacements)
    with pytest.raises(LoaderError) as caught:
        check_file(path)
    matching = [e for e in caught.value.errors if e.key == key]
    assert matching, "\n".join(map(str, caught.value.errors))
    assert any(fragment in e.message for e in matching), matching
    assert all(e.line for e in matching)


def test_not_a_mapping_and_empty_and_missing_files(tmp_path):
    listing = tmp_path / "list.yaml"
    listing.write_text("- just\n- a list\n")
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    for path, fragment in (
        (listing, "is not of type 'object'"),
        (empty, "empty"),
        (tmp_path / "missing.yaml", "cannot read"),
    ):
        with pytest.raises(LoaderError) as caught:
            check_file(path)
        assert fragment in str(caught.value)
        assert str(caught.value).startswith(str(path))


def test_command_prints_each_error_and_exits_non_zero(db, capsys):
    path = EXAMPLES / "bad" / "unknown-reference.yaml"
    before = dump_database()
    with pytest.raises(CommandError):
        call_command("load_agreement", str(path))
    err = capsys.readouterr().err
    for line, key in expected_errors(path):
        assert f"{path}:{line}: {key}: " in err
    assert "nothing was changed" in err
    assert dump_database() == before


def test_a_failure_while_writing_rolls_everything_back(db, tmp_path):
    """A removal that would lose history fails after other rows were already written."""
    load(RIVER)
    before = dump_database()
    text = RIVER.read_text()
    start = text.index("  - slug: example-ceasefire")
    end = text.index("  - slug: example-bridge-withdrawal")
    path = tmp_path / "river.yaml"
    path.write_text(
        (text[:start] + text[end:]).replace("East Side (fictional)", "East Side (renamed)")
    )
    with pytest.raises(LoaderError) as caught:
        load(path)
    assert "example-ceasefire" in str(caught.value)
    assert "history is never deleted" in str(caught.value)
    assert dump_database() == before


def test_alias_bombs_are_refused(tmp_path):
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    for i in range(1, 9):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LoaderError, match="aliases expanding too far"):
        check_file(path)
