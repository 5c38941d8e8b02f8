"""`/api/v1/`: where everything is, for a reader who starts at the API's root."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.views.decorators.http import require_safe

# Each resource's path segment → its router basename.
RESOURCES = {"agreements": "agreement", "obligations": "obligation", "events": "event",
             "reports": "report", "locations": "location", "parties": "party",
             "sources": "source", "claimants": "claimant", "relations": "relation"}


@require_safe
def index(request: HttpRequest) -> JsonResponse:
    """Each resource's list, the calendar, the feeds, the schema and the reference."""

    def url(name: str) -> str:
        return request.build_absolute_uri(reverse(name))

    return JsonResponse({
        "resources": {r: url(f"api:{name}-list") for r, name in RESOURCES.items()},
        "calendar": url("api:calendar"),
        "scores": url("api:scores"),
        "feeds": {
            "events": url("feed-events"),
            "events_of_one_agreement": url("feed-events") + "?agreement={agreement_slug}",
        },
        "schema": url("api:schema"),
        "docs": url("api:docs"),
        "dashboard": url("web:overview"),
        "formats": "Every list answers in JSON and, with ?format=csv, in CSV with the "
                   "same filters.",
    }, json_dumps_params={"indent": 2})
