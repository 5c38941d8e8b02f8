"""One search key for every script and spelling a reader may type.

"Qarabağ", "Qarabag", "Karabakh", "Ղարաբաղ" and "Карабах" are one name written five
ways. `search_key` brings each to the same plain Latin skeleton: anyascii
transliterates any script to ASCII, then the letters that transliterations of
Azerbaijani, Armenian and Russian spell differently are merged into one class each
(q/g/k/gh/kh/x; c/ch/j/dzh/zh; s/sh; e/a; y/i; ow/u) and doubled letters are
collapsed. Stored keys and query keys are made by this one function, so a query
matches when its key is contained in a stored one.
"""

from __future__ import annotations

import re
import unicodedata

from anyascii import anyascii
from django.db.models import Q

# Azerbaijani letters that anyascii flattens onto another letter's sound.
_AZ = str.maketrans({"ç": "ch", "Ç": "ch", "ş": "sh", "Ş": "sh", "ğ": "gh", "Ğ": "gh",
                     "ə": "a", "Ə": "a"})
# Longer spellings first: "dzh" must not become "d" + "zh".
_CLASSES = [
    ("dzh", "j"), ("zh", "j"), ("kh", "k"), ("gh", "k"), ("ch", "j"), ("sh", "s"),
    ("ow", "u"), ("x", "k"), ("q", "k"), ("g", "k"), ("c", "j"), ("e", "a"), ("y", "i"),
]
_CLASS_RE = re.compile("|".join(a for a, _ in _CLASSES))
_CLASS_MAP = dict(_CLASSES)
_NOT_WORD = re.compile(r"[^a-z0-9]+")
_DOUBLE = re.compile(r"([a-z])\1+")

def fold(text: str) -> str:
    """Lower-case and strip diacritics, so "Kəlbəcər", "Kelbajar" and "KALBAJAR" meet.

    Azerbaijani schwa (ə/Ə) has no decomposition; it is read as "a" like the press does.
    """
    text = text.replace("ə", "a").replace("Ə", "a").replace("ı", "i")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


def matching(field: str, text: str) -> Q:
    """Rows whose search column `field` holds `text` folded, or its key."""
    condition = Q(**{f"{field}__contains": fold(text)})
    key = query_key(text)
    if key:
        condition |= Q(**{f"{field}__contains": key})
    return condition


# Shorter keys match too much of everything ("ak" is in most names).
MIN_KEY_LENGTH = 3


def search_key(text: str) -> str:
    """The skeleton of `text`: "Qarabağ", "Karabakh", "Карабах" and "Ղարաբաղ" all give
    "karabak"; words are kept apart by single spaces."""
    text = unicodedata.normalize("NFC", text).translate(_AZ)
    ascii_text = anyascii(text).lower().replace("'", "")
    merged = _CLASS_RE.sub(lambda m: _CLASS_MAP[m.group(0)], ascii_text)
    spaced = _NOT_WORD.sub(" ", merged).strip()
    return _DOUBLE.sub(r"\1", spaced)


def query_key(text: str) -> str | None:
    """The key to search with, or None when it is too short to mean anything."""
    key = search_key(text)
    return key if len(key) >= MIN_KEY_LENGTH else None
