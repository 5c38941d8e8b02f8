"""Which language's words a reader is shown, and whether they are the ones asked for.

An agreement file gives English in its main fields (an agreement's or an obligation's
`title` and `description`, a clause's `text`) and, optionally, the same in other
languages: `titles`/`descriptions` (language code -> text) and a clause's `texts`
(`ClauseText`: the text as published in that language, with its sources, or a
translation marked as one). A reader asks for a language (the interface language:
`?lang=`, the cookie, `Accept-Language`). Where that language has no text, English is
shown and the reader is told so, in words: never silently. The dashboard and the API
both choose here, so they cannot disagree (docs/translations.md, "The agreement's own
words").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from django.conf import settings
from django.utils import translation
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from tracker import known_texts
from tracker.models import Clause, ClauseText, Source

MAIN = "en"  # the language of the main fields; required in every agreement file

# Whole sentences per language (each language orders and inflects its own words):
# what a reader is told when the language asked for has no text of that kind.
NOTICES: dict[str, dict[str, Promise]] = {
    "clause": {
        "az": _("No Azerbaijani text of this clause is recorded; showing English."),
        "hy": _("No Armenian text of this clause is recorded; showing English."),
        "ru": _("No Russian text of this clause is recorded; showing English."),
    },
    "title": {
        "az": _("No Azerbaijani title is recorded; showing English."),
        "hy": _("No Armenian title is recorded; showing English."),
        "ru": _("No Russian title is recorded; showing English."),
    },
    "description": {
        "az": _("No Azerbaijani description is recorded; showing English."),
        "hy": _("No Armenian description is recorded; showing English."),
        "ru": _("No Russian description is recorded; showing English."),
    },
    "titles": {
        "az": _("Titles with no Azerbaijani version recorded are shown in English."),
        "hy": _("Titles with no Armenian version recorded are shown in English."),
        "ru": _("Titles with no Russian version recorded are shown in English."),
    },
}


@dataclass(frozen=True)
class Shown:
    """A text as shown to a reader who asked for `requested`."""

    text: str
    language: str  # the language `text` is in: `requested`, or English in its place
    requested: str
    kind: str = "title"  # a key of NOTICES
    translation: bool = False  # not a published text of that language: a translation
    note: str = ""
    sources: tuple[Source, ...] = ()

    @property
    def fallback(self) -> bool:
        """English given in place of the language asked for."""
        return self.language != self.requested

    @property
    def notice(self) -> str:
        """What the reader is told when English stands in ("" when it does not)."""
        if not self.fallback or not self.text:
            return ""
        return str(NOTICES[self.kind].get(self.requested, ""))

    def __str__(self) -> str:
        return self.text


class Worded(Protocol):
    """An agreement or an obligation: English main fields, other languages beside."""

    title: Any
    description: Any
    titles: Any
    descriptions: Any


def codes() -> list[str]:
    return [code for code, _name in settings.LANGUAGES]


def requested_language(code: str | None = None) -> str:
    """`code` (default: the active interface language) as one of the tracker's language
    codes; anything else reads as English."""
    raw = (code or translation.get_language() or settings.LANGUAGE_CODE).lower()
    base = raw.split("-")[0]
    return base if base in codes() else MAIN


def pick(main: str, per_language: Mapping[str, str] | None, language: str | None = None,
         kind: str = "title") -> Shown:
    """The text in `language` from `per_language`, else the English `main`."""
    wanted = requested_language(language)
    if wanted != MAIN:
        text = (per_language or {}).get(wanted, "")
        if text and text.strip():
            return Shown(text=text, language=wanted, requested=wanted, kind=kind)
    return Shown(text=main, language=MAIN, requested=wanted, kind=kind)


def title(obj: Worded, language: str | None = None) -> Shown:
    """An agreement's or obligation's title in the reader's language."""
    return pick(obj.title, obj.titles, language, "title")


def description(obj: Worded, language: str | None = None) -> Shown:
    """An agreement's or obligation's description in the reader's language."""
    return pick(obj.description, obj.descriptions, language, "description")


def _from_row(row: ClauseText, wanted: str) -> Shown:
    return Shown(text=row.text, language=row.language, requested=wanted, kind="clause",
                 translation=row.translation, note=row.note,
                 sources=tuple(row.sources.all()))


def clause_text(clause: Clause, language: str | None = None) -> Shown:
    """A clause's text in the reader's language: the recorded text of that language
    (or its marked translation), else the English main text. Reads `clause.texts`
    through a prefetch when there is one."""
    wanted = requested_language(language)
    if wanted != MAIN:
        for row in clause.texts.all():
            if row.language == wanted:
                return _from_row(row, wanted)
    return Shown(text=clause.text, language=MAIN, requested=wanted, kind="clause")


def clause_texts(clause_ids: Iterable[int], language: str | None = None,
                 known_at: datetime | None = None) -> dict[int, Shown]:
    """`clause_text` for many clauses at once (two queries, three with sources), as the
    tracker had published them by `known_at` (None: now; two queries more)."""
    wanted = requested_language(language)
    ids = {pk for pk in clause_ids if pk is not None}
    if not ids:
        return {}
    clauses = known_texts.as_known(Clause.objects.filter(pk__in=ids).only("pk", "text"),
                                   known_at)
    shown = {c.pk: Shown(text=c.text, language=MAIN, requested=wanted, kind="clause")
             for c in clauses}
    if wanted != MAIN:
        rows = ClauseText.objects.filter(clause_id__in=ids, language=wanted)
        for row in known_texts.as_known(rows.prefetch_related("sources"), known_at):
            shown[row.clause_id] = _from_row(row, wanted)
    return shown


def fallback_notice(kind: str, shown: Iterable[Shown]) -> str:
    """One notice for a list of texts of `kind` ("titles"), when any fell back."""
    for item in shown:
        if item.fallback and item.text:
            return str(NOTICES[kind].get(item.requested, ""))
    return ""


def languages_of(shown: Mapping[str, Shown]) -> dict[str, str]:
    """The language actually given for each named text (the API's `language` field)."""
    return {name: item.language for name, item in shown.items()}

