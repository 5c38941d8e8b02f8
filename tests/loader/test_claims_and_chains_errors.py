"""Every refusal of the new keys names file, line and key, and changes nothing, whether
the file's own checks find it or the checks against the agreements already loaded."""

from __future__ import annotations

import pytest

from tests.loader.conftest import ACCORD, dump_database, edited, line_with
from tracker.loader import LoaderError, load

# (id, replacements in the accord file, key path, part of the message, text on the line)
CASES = [
    ("actor-not-a-party",
     [("shelled the ferry landing.\n        actors: [example-west]",
       "shelled the ferry landing.\n        actors: [example-nobody]")],
     "obligations[1].reports[0].actors[0]",
     "actor 'example-nobody' is not a party of this agreement", "[example-nobody]"),
    ("unknown-claimant",
     [("claimant: example-river-news", "claimant: example-nobody-press")],
     "obligations[1].reports[3].claimant", "unknown claimant 'example-nobody-press'",
     "claimant: example-nobody-press"),
    ("contests-unknown-key",
     [("contests: east-claims-shelling\n        sources: [west-statement]",
       "contests: no-such-report\n        sources: [west-statement]")],
     "obligations[1].reports[1].contests", "contests an unknown report key 'no-such-report'",
     "contests: no-such-report"),
    ("contests-another-term",
     [("joint commission.\n        sources: [observer-report]\n",
       "joint commission.\n        sources: [observer-report]\n"
       "    reports:\n      - claim: progress\n        occurred_at: 2023-04-10\n"
       "        summary: Half the islands cleared.\n"
       "        contests: finding-shelling  # here\n        sources: [observer-report]\n")],
     "obligations[2].reports[0].contests",
     "a report of another term ('example-accord-ceasefire')", "contests: finding-shelling"),
    ("finding-without-sources",
     [("        claimant: tracker\n        contests: east-claims-shelling\n"
       "        sources: [observer-report]",
       "        claimant: tracker\n        contests: east-claims-shelling\n"
       "        sources: []  # here")],
     "obligations[1].reports[2].sources",
     "a finding (claimant 'tracker') must cite at least one source", "sources: []  # here"),
    ("denial-without-contests",
     [("        contests: east-claims-shelling\n        sources: [west-statement]",
       "        sources: [west-statement]")],
     "obligations[1].reports[1].claim", "a denial must say which report it denies",
     "claim: denial"),
    ("contests-in-a-circle",
     [("        claimant: example-east-mod\n",
       "        claimant: example-east-mod\n        contests: west-denies-shelling\n")],
     "obligations[1].reports[0].contests", "contest each other in a circle",
     "contests: west-denies-shelling"),
    ("duplicate-report-key",
     [("key: finding-shelling", "key: west-denies-shelling  # twice")],
     "obligations[1].reports[2].key", "duplicate report key 'west-denies-shelling'",
     "# twice"),
    ("published-before-it-happened",
     [("published_at: 2023-04-07T09:30:00+03:00", "published_at: 2023-04-01")],
     "obligations[1].reports[3].published_at", "published before it could be known",
     "published_at: 2023-04-01"),
    ("published-in-the-future",
     [("published_at: 2023-04-07T09:30:00+03:00", "published_at: 2999-01-01")],
     "obligations[1].reports[3].published_at", "is after the present",
     "published_at: 2999-01-01"),
    ("relation-published-before-signing",
     [("published_at: 2023-05-15", "published_at: 2023-02-15")],
     "relations[2].published_at", "published before it could be known",
     "published_at: 2023-02-15"),
    ("relation-to-an-unknown-agreement",
     [("  - kind: amends\n    agreement: example-river-truce-2022",
       "  - kind: amends\n    agreement: example-nowhere")],
     "relations[0].agreement", "unknown agreement 'example-nowhere'",
     "agreement: example-nowhere"),
    ("relation-to-an-unknown-term",
     [("term: example-observer-mandate", "term: example-nothing")],
     "relations[2].term", "agreement 'example-river-truce-2022' has no term 'example-nothing'",
     "term: example-nothing"),
    ("relation-before-this-agreement-was-signed",
     [("    at: 2023-06-01\n", "    at: 2023-02-01\n")],
     "relations[2].at", "a relation before this agreement was signed", "at: 2023-02-01"),
    ("replacement-not-a-term-of-this-file",
     [("replacement: example-river-schedule", "replacement: example-river-traffic")],
     "relations[1].replacement",
     "replacement 'example-river-traffic' is not a term of this file",
     "replacement: example-river-traffic"),
    ("replacement-of-another-kind",
     [("  - kind: supersedes", "  - kind: terminates")],
     "relations[1].replacement", "only a relation of kind 'supersedes' has a replacement",
     "replacement: example-river-schedule"),
    ("unknown-language-of-a-title",
     [("titles: {ru: Опубликовать", "titles: {en: Опубликовать")],
     "obligations[0].titles.en", "unknown language code 'en' (English is the plain `title`)",
     "titles: {en:"),
    ("unknown-language-of-the-agreement",
     [("az: Nümunə çay sazişi", "tr: Nümunə çay sazişi")],
     "titles.tr", "unknown language code 'tr'", "tr: Nümunə"),
    ("unknown-language-of-a-clause-text",
     [("{language: ru, text:", "{language: fr, text:")],
     "clauses[0].texts[0].language", "unknown language code 'fr'", "language: fr"),
    ("two-texts-in-one-language",
     [("{language: az, text:", "{language: ru, text:")],
     "clauses[0].texts[1].language", "a second text in 'ru'", "text: Tərəflər"),
    ("redefined-built-in-claimant",
     [("{slug: example-river-news, name: River News (fictional), kind: press}",
       "{slug: tracker, name: River News (fictional), kind: press}")],
     "claimants[2].slug", "'tracker' is built in", "{slug: tracker,"),
    ("claimant-of-an-unknown-party",
     [("kind: government, party: example-west}", "kind: government, party: example-south}")],
     "claimants[1].party", "unknown party 'example-south'", "party: example-south"),
]


@pytest.mark.parametrize(("replacements", "key", "fragment", "on_line"),
                         [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_refused_with_file_line_and_key_and_nothing_changed(accord, tmp_path, replacements,
                                                            key, fragment, on_line):
    path = edited(tmp_path, ACCORD, *replacements)
    before = dump_database()

    with pytest.raises(LoaderError) as caught:
        load(path)

    assert dump_database() == before
    matching = [e for e in caught.value.errors if e.key == key and fragment in e.message]
    assert matching, "\n".join(map(str, caught.value.errors))
    line = line_with(path, on_line)
    assert str(matching[0]).startswith(f"{path}:{line}: {key}: "), str(matching[0])


def test_a_relation_before_the_earlier_agreement_was_signed(accord, tmp_path):
    """Checked against the database: the agreement it refers to was signed later."""
    later = tmp_path / "later.yaml"
    later.write_text(
        "slug: example-later\ntitle: Signed in 2024 (fictional)\n"
        "signed_at: 2024-01-10T12:00:00+02:00\neffective_at: 2024-01-10T12:00:00+02:00\n"
        "timezone: Europe/Kyiv\nparties: []\nlocations: []\nsources: []\nclauses: []\n"
        "obligations: []\n", encoding="utf-8")
    load(later)
    path = edited(tmp_path, ACCORD, (
        "    agreement: example-river-truce-2022\n    term: example-observer-mandate\n",
        "    agreement: example-later\n",
    ))
    before = dump_database()
    with pytest.raises(LoaderError) as caught:
        load(path)
    assert dump_database() == before
    [error] = caught.value.errors
    assert str(error) == (
        f"{path}:{line_with(path, 'at: 2023-06-01')}: relations[2].at: a relation before "
        "'example-later' was signed (at is before its signed_at, 2024-01-10T12:00:00+02:00)"
    )


def test_an_unknown_agreement_is_refused_before_anything_is_written(db):
    """Loaded alone (the truce not loaded): nothing at all is written."""
    before = dump_database()
    with pytest.raises(LoaderError) as caught:
        load(ACCORD)
    assert dump_database() == before
    assert {e.key for e in caught.value.errors} == {
        "relations[0].agreement", "relations[1].agreement", "relations[2].agreement"}
    assert all(e.line for e in caught.value.errors)
