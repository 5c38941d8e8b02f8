"""Subscriptions: an Atom feed of status changes and an iCalendar of deadlines.

* `/feeds/events.atom[?agreement=<slug>]`: the newest status transitions, each linked
  to its obligation's dashboard page. Conditional GET (ETag, Last-Modified) answers a
  feed reader's poll with 304 when nothing changed; a bad parameter is a plain-text
  400 or 404 that says what was wrong (a feed reader shows the text, not a page).
* `/api/v1/calendar.ics[?agreement=&status=&responsible=...]`: one all-day event per
  deadline, on the local due date. Each event's UID is fixed per obligation and its
  SEQUENCE counts the deadline changes in force, so when a deadline is moved (Kalbajar:
  15 → 25 November 2020) calendar apps update the event instead of adding another.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta

from django.contrib.syndication.views import Feed
from django.core.validators import slug_re as SLUG
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import get_conditional_response
from django.utils.feedgenerator import Atom1Feed
from django.utils.http import parse_http_date
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from tracker import query_names, statuses
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, DeadlineChange, Obligation, StatusEvent

FEED_SIZE = 100
UID_DOMAIN = "ceasefire-tracker"

CALENDAR_HELP = (
    "An iCalendar (RFC 5545) feed: one all-day event per deadline obligation, dated the "
    "local due date in the agreement's time zone (\"by 20 November\" is an event on 20 "
    "November). Filters as on /obligations/. UID is stable per obligation; SEQUENCE is "
    "the number of deadline changes in force, so a moved deadline updates the event."
)


def _label(status: str) -> str:
    return V.STATUS_LABELS.get(status, status or "—")


def calendar_for(obligations: list[Obligation], request: HttpRequest | None = None) -> bytes:
    """The .ics body for these obligations (deadlines only; others have no date), with
    their statuses now."""
    ids = [o.pk for o in obligations]
    state = statuses.states_for(obligations, AsOf())
    # Deadline changes in force now, per obligation, in one query.
    changes: dict[int, int] = {}
    now = timezone.now()
    for row in (
        DeadlineChange.objects.filter(
            obligation_id__in=ids, review_state=V.PUBLISHED, agreed_at__lte=now
        )
        .values("obligation_id")
        .annotate(n=Count("pk"))
    ):
        changes[row["obligation_id"]] = row["n"]

    cal = Calendar()
    cal.add("prodid", "-//Ceasefire-terms compliance tracker//API v1//EN")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", "Ceasefire deadlines")
    for o in obligations:
        if not o.due_date:
            continue
        path = reverse("api:obligation-detail", args=[o.pk])
        url = request.build_absolute_uri(path) if request is not None else path
        event = Event()
        event.add("uid", f"obligation-{o.pk}@{UID_DOMAIN}")
        event.add("sequence", changes.get(o.pk, 0))
        event.add("dtstamp", now)
        event.add("dtstart", o.due_date)
        event.add("dtend", o.due_date + timedelta(days=1))
        status = state[o.pk].status
        event.add("summary", f"Due: {o.title} [{_label(status)}]")
        lines = [
            f"Agreement: {o.agreement.title}",
            f"Status: {_label(status)}",
            f"Responsible: {', '.join(p.name for p in o.responsible.all()) or '—'}",
        ]
        if o.original_due_date and o.original_due_date != o.due_date:
            lines.append(f"Originally due: {o.original_due_date.isoformat()}")
        lines += [f"Source: {s.url}" for s in o.sources.all()]
        event.add("description", "\n".join(lines))
        event.add("url", url)
        event.add("categories", [o.category])
        places = ", ".join(loc.label for loc in o.locations.all())
        if places:
            event.add("location", places)
        cal.add_component(event)
    return cal.to_ical()


class EventsFeed(Feed):
    """Status transitions, newest first; `?agreement=<slug>` narrows it to one agreement."""

    feed_type = Atom1Feed
    description_template = None

    def get_object(self, request: HttpRequest, *args, **kwargs) -> Agreement | None:
        slug = request.GET.get("agreement")
        if not slug:
            return None
        # Only a well-formed slug reaches the database (a NUL in it would be a 500).
        agreement = (
            Agreement.objects.filter(slug=slug).first() if SLUG.fullmatch(slug) else None
        )
        if agreement is None:
            known = ", ".join(Agreement.objects.order_by("slug").values_list("slug", flat=True))
            raise Http404(_("agreement=%(slug)r is not an agreement in the tracker; one "
                            "of: %(known)s.") % {"slug": slug, "known": known})
        return agreement

    def title(self, obj: Agreement | None) -> str:
        return f"Status changes: {obj.title}" if obj else "Status changes of tracked obligations"

    def link(self, obj: Agreement | None) -> str:
        # The dashboard page a reader of the feed wants: the agreement, or the overview.
        return reverse("web:agreement", args=[obj.slug]) if obj else reverse("web:overview")

    def subtitle(self, obj: Agreement | None) -> str:
        return "Every change of an obligation's status, with the instant it took effect."

    def items(self, obj: Agreement | None):
        events = StatusEvent.current.select_related("obligation__agreement", "report").order_by(
            "-effective_at", "-id"
        )
        if obj is not None:
            events = events.filter(obligation__agreement=obj)
        return events[:FEED_SIZE]

    def item_title(self, item: StatusEvent) -> str:
        return f"{item.obligation.title}: {_label(item.to_status)}"

    def item_description(self, item: StatusEvent) -> str:
        text = (
            f"{_label(item.from_status)} → {_label(item.to_status)} on "
            f"{item.effective_at.astimezone(item.obligation.agreement.zone):%Y-%m-%d %H:%M %Z}."
        )
        if item.report_id:
            text += f" {item.report.summary}"
        return text

    def item_link(self, item: StatusEvent) -> str:
        obligation = item.obligation
        return reverse("web:obligation", args=[obligation.agreement.slug, obligation.slug])

    def item_guid(self, item: StatusEvent) -> str:
        return f"tag:{UID_DOMAIN},2020:status-event:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: StatusEvent):
        return item.effective_at

    def item_updateddate(self, item: StatusEvent):
        return item.detected_at

    def item_categories(self, item: StatusEvent):
        return [item.to_status, item.obligation.agreement.slug]


FEED_PARAMETERS = ("agreement",)


def _plain(message: str, status: int) -> HttpResponse:
    return HttpResponse(message + "\n", status=status,
                        content_type="text/plain; charset=utf-8")


def events_feed(request: HttpRequest) -> HttpResponse:
    """The Atom feed of status changes with conditional GET; bad parameters in plain
    text."""
    try:
        query_names.check(request.GET, FEED_PARAMETERS)
    except query_names.UnknownParameters as exc:
        return _plain(str(exc), 400)
    try:
        response = EventsFeed()(request)
    except Http404 as exc:
        return _plain(str(exc), 404)
    # The body is the feed: its hash is an exact ETag. Last-Modified (set by Django's
    # Feed) is the newest entry's date.
    response["ETag"] = f'"{hashlib.sha256(response.content).hexdigest()[:32]}"'
    response["Cache-Control"] = "public, max-age=60"
    modified = response.get("Last-Modified")
    return get_conditional_response(
        request, etag=response["ETag"],
        last_modified=parse_http_date(modified) if modified else None,
        response=response,
    )
