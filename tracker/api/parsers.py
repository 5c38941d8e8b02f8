"""The API's JSON body parser: bounded in size and in nesting, errors in the API's shape.

DRF's own parser reads the WSGI stream whatever its length (Django's
DATA_UPLOAD_MAX_MEMORY_SIZE guards only `request.body` and forms) and lets Python's
RecursionError out of `json.load` on deeply nested input, which becomes a 500.
"""

from __future__ import annotations

from django.conf import settings
from rest_framework import exceptions, parsers, status

# The deepest body the API takes is a report with a new source: three levels. Anything
# much deeper is no request a client meant, and deep structures cost recursion later.
MAX_DEPTH = 32


class BodyTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_code = "too_large"

    def __init__(self, limit: int | None = None):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE if limit is None else limit
        super().__init__(f"Request body too large: this API takes at most {limit} bytes.")


def check_length(meta: dict) -> None:
    """Refuse a body whose declared length is over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    try:
        length = int(meta.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if limit is not None and length > limit:
        raise BodyTooLarge(limit)


def _depth(value: object) -> int:
    """How deeply lists and objects nest in `value` (iteratively: no recursion limit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, level + 1) for child in children)
    return deepest


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        request = (parser_context or {}).get("request")
        if request is not None:
            check_length(request.META)
        too_deep = exceptions.ParseError(
            f"JSON parse error - nested more than {MAX_DEPTH} levels deep."
        )
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise too_deep from None
        if _depth(data) > MAX_DEPTH:
            raise too_deep
        return data
