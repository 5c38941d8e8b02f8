"""Where each dashboard page's own data is, machine-readable: the API's JSON and CSV
with the page's filters, the calendar, the Atom feed, and the API reference.

The dashboard never imports the API: it names its URLs. `when` (the page's `as_of` and
`known_at`) goes only to the endpoints that travel in time (the others refuse it with
a 400).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from django.urls import reverse
from django.utils.translation import gettext as _

from tracker.models import Agreement, Obligation


@dataclass(frozen=True)
class DataLinks:
    """(label, url) pairs for the page's data, and its Atom feed if it has one."""

    links: list[tuple[str, str]] = field(default_factory=list)
    feed: str | None = None

    @property
    def feed_title(self) -> str:
        return _("Status changes (Atom)")


def _to(name: str, *args, **params) -> str:
    path = reverse(name, args=args)
    params = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(params)}" if params else path


def _json_csv(label: str, name: str, *args, **params) -> list[tuple[str, str]]:
    return [
        (_("%(what)s as JSON") % {"what": label}, _to(name, *args, **params)),
        (_("%(what)s as CSV") % {"what": label}, _to(name, *args, format="csv", **params)),
    ]


def _common(feed: str, **calendar_filters) -> list[tuple[str, str]]:
    return [
        (_("Deadlines as a calendar (.ics)"), _to("api:calendar", **calendar_filters)),
        (_("Status changes as an Atom feed"), feed),
        (_("API index"), _to("api:index")),
        (_("API reference"), _to("api:docs")),
    ]


def overview(when: dict[str, str]) -> DataLinks:
    feed = _to("feed-events")
    return DataLinks(
        [
            *_json_csv(_("Agreements with counts by status"), "api:agreement-list",
                       **when),
            *_json_csv(_("All obligations"), "api:obligation-list", **when),
            *_json_csv(_("Status changes"), "api:event-list", **when),
            *_common(feed),
        ],
        feed,
    )


def agreement(a: Agreement, chosen: dict[str, str], when: dict[str, str]) -> DataLinks:
    """`chosen`: the page's filters by their shared names (status, party, category,
    place), which the API reads alike."""
    filters = {"agreement": a.slug, **chosen}
    feed = _to("feed-events", agreement=a.slug)
    return DataLinks(
        [
            *_json_csv(_("These obligations"), "api:obligation-list", **when,
                       **filters),
            *_json_csv(_("This agreement's status changes"), "api:event-list", **when,
                       agreement=a.slug),
            *_common(feed, **filters),
        ],
        feed,
    )


def obligation(o: Obligation, when: dict[str, str]) -> DataLinks:
    feed = _to("feed-events", agreement=o.agreement.slug)
    return DataLinks(
        [
            (_("This obligation as JSON"), _to("api:obligation-detail", o.pk, **when)),
            (_("Its status history as JSON"),
             _to("api:obligation-history", o.pk, **when)),
            *_json_csv(_("Its reports"), "api:report-list", obligation=o.pk),
            *_json_csv(_("Its status changes"), "api:event-list", **when,
                       obligation=o.pk),
            *_common(feed, agreement=o.agreement.slug),
        ],
        feed,
    )


def places(q: str, when: dict[str, str]) -> DataLinks:
    feed = _to("feed-events")
    return DataLinks([*_json_csv(_("These places"), "api:location-list", q=q, **when),
                      *_common(feed)], feed)


def map_page(agreement_slug: str, when: dict[str, str]) -> DataLinks:
    feed = _to("feed-events", agreement=agreement_slug)
    return DataLinks(
        [
            *_json_csv(_("Places"), "api:location-list", **when, agreement=agreement_slug),
            *_json_csv(_("Obligations"), "api:obligation-list", **when,
                       agreement=agreement_slug),
            *_common(feed, agreement=agreement_slug),
        ],
        feed,
    )
