"""Subscriptions: an Atom feed of status changes and an iCalendar of deadlines.

* `/feeds/events.atom[?agreement=<slug>]`: the newest status transitions.
* `/api/v1/calendar.ics[?agreement=&status=&responsible=...]`: one all-day event per
  deadline, on the local due date. Each event's UID is fixed per obligation and its
  SEQUENCE counts the deadline changes in force, so when a deadline is moved (Kalbajar:
  15 → 25 November 2020) calendar apps update the event instead of adding another.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib.syndication.views import Feed
from django.core.validators import slug_re as SLUG
from django.db.models import Count
from django.http import Http404, HttpRequest
from django.urls import reverse
from django.utils import timezone
from django.utils.feedgenerator import Atom1Feed
from django.utils.translation import gettext as _
from icalendar import Calendar, Event

from tracker import statuses
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
    return str(V.STATUS_LABELS.get(status, status or "—"))


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
    cal.add("x-wr-calname", _("Ceasefire deadlines"))
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
        event.add("summary", _("Due: %(title)s [%(status)s]")
                  % {"title": o.title, "status": _label(status)})
        lines = [
            _("Agreement: %(title)s") % {"title": o.agreement.title},
            _("Status: %(status)s") % {"status": _label(status)},
            _("Responsible: %(parties)s")
            % {"parties": ", ".join(p.name for p in o.responsible.all()) or "—"},
        ]
        if o.original_due_date and o.original_due_date != o.due_date:
            lines.append(_("Originally due: %(date)s") % {"date": o.original_due_date.isoformat()})
        lines += [_("Source: %(url)s") % {"url": s.url} for s in o.sources.all()]
        event.add("description", "\n".join(lines))
        event.add("url", url)
        event.add("categories", [o.category])
        places = ", ".join(loc.label for loc in o.locations.all())
        if places:
            event.add("location", places)
        cal.add_component(event)
    return cal.to_ical()


class TextAtom1Feed(Atom1Feed):
    """Atom whose entry summaries are plain text. Django's Atom1Feed marks them
    type="html", so a reader would render an editor's "<script>" as markup: here every
    title, subtitle and summary is text, escaped once for XML and shown as typed."""

    def add_item_elements(self, handler, item) -> None:
        super().add_item_elements(handler, {**item, "description": None})
        if item["description"] is not None:
            handler.addQuickElement("summary", item["description"], {"type": "text"})


class EventsFeed(Feed):
    """Status transitions, newest first; `?agreement=<slug>` narrows it to one agreement."""

    feed_type = TextAtom1Feed
    description_template = None

    def get_object(self, request: HttpRequest, *args, **kwargs) -> Agreement | None:
        slug = request.GET.get("agreement")
        if not slug:
            return None
        # Only a well-formed slug reaches the database (a NUL in it would be a 500).
        if not SLUG.fullmatch(slug):
            raise Http404(_("No agreement with that slug."))
        agreement = Agreement.objects.filter(slug=slug).first()
        if agreement is None:
            raise Http404(_("No agreement with that slug."))
        return agreement

    def title(self, obj: Agreement | None) -> str:
        if obj:
            return _("Status changes: %(title)s") % {"title": obj.title}
        return _("Status changes of tracked obligations")

    def link(self, obj: Agreement | None) -> str:
        base = reverse("api:event-list")
        return f"{base}?agreement={obj.slug}" if obj else base

    def subtitle(self, obj: Agreement | None) -> str:
        return _("Every change of an obligation's status, with the instant it took effect.")

    def items(self, obj: Agreement | None):
        events = StatusEvent.current.select_related("obligation__agreement", "report").order_by(
            "-effective_at", "-id"
        )
        if obj is not None:
            events = events.filter(obligation__agreement=obj)
        return events[:FEED_SIZE]

    def item_title(self, item: StatusEvent) -> str:
        return _("%(title)s: %(status)s") % {"title": item.obligation.title,
                                              "status": _label(item.to_status)}

    def item_description(self, item: StatusEvent) -> str:
        at = item.effective_at.astimezone(item.obligation.agreement.zone)
        text = _("%(from)s → %(to)s on %(at)s.") % {
            "from": _label(item.from_status), "to": _label(item.to_status),
            "at": f"{at:%Y-%m-%d %H:%M %Z}",
        }
        if item.report_id:
            text += f" {item.report.summary}"
        return text

    def item_link(self, item: StatusEvent) -> str:
        return reverse("api:obligation-detail", args=[item.obligation_id])

    def item_guid(self, item: StatusEvent) -> str:
        return f"tag:{UID_DOMAIN},2020:status-event:{item.pk}"

    item_guid_is_permalink = False

    def item_pubdate(self, item: StatusEvent):
        return item.effective_at

    def item_updateddate(self, item: StatusEvent):
        return item.detected_at

    def item_categories(self, item: StatusEvent):
        return [item.to_status, item.obligation.agreement.slug]
