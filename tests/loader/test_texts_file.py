"""fixtures/texts/: the clause texts per language waiting to be folded into an agreement
file. Each names clauses the agreement has, quotes only with a source it lists, marks
translations, and says which language's texts are missing rather than leaving a gap
unexplained."""

from __future__ import annotations

import yaml

from tests.conftest import FIXTURES, NOV_2020

TEXTS = FIXTURES / "texts" / "nov-2020-trilateral.texts.yaml"
LANGUAGES = {"az", "hy", "ru"}


def _load(path):
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def test_the_texts_file_fits_its_agreement():
    texts, agreement = _load(TEXTS), _load(NOV_2020)
    assert texts["agreement"] == agreement["slug"]
    numbers = [c["number"] for c in agreement["clauses"]]
    assert [c["number"] for c in texts["clauses"]] == numbers
    keys = {s["key"] for s in texts["sources"]} | {s["key"] for s in agreement["sources"]}
    assert set(texts["titles"]) <= LANGUAGES
    found = set()
    for clause in texts["clauses"]:
        seen = set()
        for t in clause["texts"]:
            assert t["language"] in LANGUAGES and t["language"] not in seen
            seen.add(t["language"])
            assert t["text"].strip() and "…" not in t["text"]  # whole clauses, no fragments
            assert t["sources"] and set(t["sources"]) <= keys
            assert isinstance(t["translation"], bool)
        found |= seen
    # A language with a clause that has no text is named as missing, with where to look.
    missing = {m["language"] for m in texts["missing"]}
    for language in LANGUAGES:
        if any(language not in {t["language"] for t in c["texts"]} for c in texts["clauses"]):
            assert language in missing, language
    assert all(m["leads"] for m in texts["missing"])
