"""Page-number pagination with a capped page size and the answered `as_of` in the envelope."""

from __future__ import annotations

from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from tracker.instants import AsOf
from tracker.numbers import whole_number


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500
    invalid_page_message = "Page {page_number} is past the last page ({message})."

    # DRF falls back to the default for a malformed page size and answers a malformed
    # page number with 404: a client's typo then looks like a result. Both are the
    # client's mistake, so a 400 names the parameter; 404 stays for a page past the end.
    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        number = whole_number(raw)
        if not number:
            raise ValidationError({self.page_size_query_param: [
                f"Give a whole number from 1 to {self.max_page_size} (larger sizes are "
                f"capped at {self.max_page_size})."
            ]})
        return min(number, self.max_page_size)

    def get_page_number(self, request, paginator) -> int:
        raw = request.query_params.get(self.page_query_param)
        if raw is None:
            return 1
        if raw in self.last_page_strings:
            return paginator.num_pages
        number = whole_number(raw)
        if not number:
            raise ValidationError({self.page_query_param: [
                "Give a page number from 1 (or `last`)."
            ]})
        return number

    def get_paginated_response(self, data, as_of: AsOf | None = None) -> Response:
        return Response(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "as_of": as_of.label if as_of else None,
                "known_at": as_of.known_label if as_of else None,
                "results": data,
            }
        )

    def get_paginated_response_schema(self, schema: dict) -> dict:
        envelope = super().get_paginated_response_schema(schema)
        envelope["properties"]["as_of"] = {
            "type": "string",
            "nullable": True,
            "description": "The point in time answered for (null: the current stored status).",
            "example": "2020-11-21",
        }
        envelope["properties"]["known_at"] = {
            "type": "string",
            "nullable": True,
            "description": "The tracker's knowledge answered from (null: everything "
            "published so far).",
            "example": "2023-01-01",
        }
        envelope["required"] = ["count", "results", "as_of", "known_at"]
        return envelope
