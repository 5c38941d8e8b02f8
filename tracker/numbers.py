"""Whole numbers from text a client sent: a URL part, a form field, a POST name."""

from __future__ import annotations

# PostgreSQL's bigint: a larger number names no row (and fails as a query parameter).
_BIGINT_LIMIT = 2**63


def whole_number(text: object) -> int | None:
    """`text` as an int if it is ASCII digits below the bigint limit, else None.
    `str.isdigit` alone also accepts digits such as '²', which `int()` refuses."""
    text = str(text)
    if not (text.isascii() and text.isdigit()):
        return None
    number = int(text)
    return number if number < _BIGINT_LIMIT else None
