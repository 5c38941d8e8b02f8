"""Reading the .po files the tests check (GNU gettext's format, as makemessages writes it)."""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

LOCALE = Path(__file__).resolve().parent.parent / "locale"
KEYWORD = re.compile(r'^(msgctxt|msgid_plural|msgid|msgstr(?:\[\d+\])?) (".*")$')


@dataclass
class Entry:
    msgid: str
    context: str | None = None
    plural: str | None = None
    translations: list[str] = field(default_factory=list)


def entries(language: str) -> list[Entry]:
    """Every message of locale/<language>/LC_MESSAGES/django.po but the header."""
    text = (LOCALE / language / "LC_MESSAGES" / "django.po").read_text(encoding="utf-8")
    found = []
    for block in text.split("\n\n"):
        parts: dict[str, str] = {}
        key = None
        for line in block.splitlines():
            if line.startswith("#") or not line.strip():
                continue
            m = KEYWORD.match(line)
            if m:
                key = m.group(1)
                parts[key] = ast.literal_eval(m.group(2))
            elif key and line.startswith('"'):
                parts[key] += ast.literal_eval(line)  # a continued string
        if parts.get("msgid"):
            found.append(Entry(
                msgid=parts["msgid"], context=parts.get("msgctxt"),
                plural=parts.get("msgid_plural"),
                translations=[v for k, v in sorted(parts.items()) if k.startswith("msgstr")],
            ))
    return found
