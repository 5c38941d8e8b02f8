"""Page-number pagination with a capped page size and the answered `as_of` in the envelope."""

from __future__ import annotations

from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response

from tracker.instants import AsOf


class Pagination(PageNumberPagination):
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_paginated_response(self, data, as_of: AsOf | None = None) -> Response:
        return Response(
            {
                "count": self.page.paginator.count,
                "next": self.get_next_link(),
                "previous": self.get_previous_link(),
                "as_of": as_of.label if as_of else None,
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
        envelope["required"] = ["count", "results", "as_of"]
        return envelope
