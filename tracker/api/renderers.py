"""CSV (streamed, spreadsheet-safe) and iCalendar renderers.

Lists stream CSV themselves (see `views.ListFormatsMixin`); the renderer classes
exist so that `?format=csv` / `Accept: text/csv` negotiate, and the schema says so.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable, Iterator

from rest_framework.renderers import BaseRenderer

# Cells a spreadsheet would run as a formula (CWE-1236) get a leading apostrophe.
_FORMULA_START = ("=", "+", "@", "\t", "\r")


def cell(value) -> str:
    """One value of a serialized row as a flat CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        for key in ("slug", "url", "id"):
            if value.get(key) not in (None, ""):
                return str(value[key])
        return json.dumps(value, sort_keys=True, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "; ".join(cell(v) for v in value)
    text = str(value)
    if text.startswith(_FORMULA_START) or (
        text.startswith("-") and not text[1:].replace(".", "", 1).isdigit()
    ):
        return "'" + text
    return text


def csv_lines(columns: list[str], rows: Iterable[dict]) -> Iterator[str]:
    """Header then one line per row, yielded as text chunks for a streaming response."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    for i, row in enumerate(rows):
        writer.writerow([cell(row.get(c)) for c in columns])
        if i % 200 == 199:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


class CSVRenderer(BaseRenderer):
    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        # Lists bypass this (they stream); a single object renders as a one-row table.
        if data is None:
            return b""
        rows = data if isinstance(data, list) else [data]
        columns = list(rows[0]) if rows and isinstance(rows[0], dict) else []
        return "".join(csv_lines(columns, rows)).encode()


class ICalendarRenderer(BaseRenderer):
    media_type = "text/calendar"
    format = "ics"
    charset = "utf-8"

    def render(self, data, accepted_media_type=None, renderer_context=None):
        return data if isinstance(data, bytes) else str(data or "").encode()
