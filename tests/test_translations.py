"""The translation catalogues: complete for the code as it is, and compiled.

`makemessages` is run over the project into a copy of locale/, so a string added to
the code or a template without its three translations fails here; the committed .mo
files must be what `msgfmt` makes of the committed .po files (they are committed so
that the app runs without gettext installed).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

from django.conf import settings
from django.core.management import call_command
from django.test import override_settings

from tests.catalogue import entries

ROOT = Path(settings.BASE_DIR)
LANGUAGES = ("az", "hy", "ru")
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]")
# Where interface strings live (tests, bench and tools print none to users).
SOURCES = ["config", "deadlines", "templates", "tracker", "locale"]


def statistics(po: Path) -> str:
    run = subprocess.run(
        ["msgfmt", "--check", "--statistics", "-o", "/dev/null", str(po)],
        capture_output=True, text=True, check=True,
    )
    return run.stderr


def test_makemessages_leaves_nothing_untranslated(tmp_path, monkeypatch):
    # makemessages writes into ./locale whatever LOCALE_PATHS says: it runs in a copy
    # of the sources, so the committed catalogues stay as they are.
    for folder in SOURCES:
        shutil.copytree(ROOT / folder, tmp_path / folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
    copy = tmp_path / "locale"
    monkeypatch.chdir(tmp_path)
    with override_settings(LOCALE_PATHS=[copy]):
        call_command("makemessages", locale=list(LANGUAGES), no_location=True,
                     no_obsolete=True, verbosity=0)
    for language in LANGUAGES:
        po = copy / language / "LC_MESSAGES" / "django.po"
        stats = statistics(po)
        assert "untranslated" not in stats and "fuzzy" not in stats, (language, stats)
        translated = int(re.search(r"(\d+) translated", stats).group(1))
        assert translated > 300, (language, stats)
        # Nothing in the catalogue that the code no longer uses, either.
        assert translated == int(re.search(
            r"(\d+) translated", statistics(ROOT / "locale" / language / "LC_MESSAGES"
                                            / "django.po")).group(1)), language


def test_the_check_sees_a_new_string(tmp_path):
    po = tmp_path / "django.po"
    po.write_text('msgid ""\nmsgstr "Content-Type: text/plain; charset=UTF-8\\n"\n\n'
                  'msgid "A new sentence"\nmsgstr ""\n', encoding="utf-8")
    assert "1 untranslated" in statistics(po)


def test_compiled_catalogues_match_their_sources(tmp_path):
    for language in LANGUAGES:
        folder = ROOT / "locale" / language / "LC_MESSAGES"
        fresh = tmp_path / f"{language}.mo"
        subprocess.run(["msgfmt", "-o", str(fresh), str(folder / "django.po")], check=True)
        assert fresh.read_bytes() == (folder / "django.mo").read_bytes(), (
            f"locale/{language}: run `make messages` and commit the .mo"
        )


def test_every_placeholder_survives_translation():
    """A translation that drops or renames %(name)s would raise KeyError at render time."""
    for language in LANGUAGES:
        for entry in entries(language):
            wanted = set(PLACEHOLDER.findall(entry.msgid))
            for text in entry.translations:
                assert set(PLACEHOLDER.findall(text)) == wanted, (language, entry.msgid, text)
