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
from datetime import UTC, datetime, timedelta

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
from django.utils.translation import gettext_lazy
from icalendar import Calendar, Event

from deadlines.facts import fact_changes
from tracker import instants, known_texts, naming, query_names, statuses
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, Obligation, Report, StatusEvent

FEED_SIZE = 100
UID_DOMAIN = "ceasefire-tracker"

CALENDAR_HELP = (
    "An iCalendar (RFC 5545) feed: one all-day event per deadline obligation, dated the "
    "local due date in the agreement's time zone (\"by 20 November\" is an event on 20 "
    "November), and one per notice deadline and per term end of a renewable term still "
    "ahead at `as_of` (default now). Filters as on /obligations/. UID is stable per "
    "obligation (per term date for a term); SEQUENCE is the number of deadline changes "
    "in force, so a moved deadline updates the event."
)
TERM_SUMMARY = {
    statuses.NOTICE: gettext_lazy("Last day to give notice ending the term"),
    statuses.TERM_END: gettext_lazy("Term ends"),
}


def _label(status: str) -> str:
    return str(V.STATUS_LABELS.get(status, status or "—"))


def calendar_for(
    obligations: list[Obligation], request: HttpRequest | None = None, asof: AsOf | None = None
) -> bytes:
    """The .ics body for these obligations (deadlines, and renewable terms' notice
    deadlines and ends; others have no date), with their statuses at `asof` (now)."""
    asof = asof or AsOf()
    ids = [o.pk for o in obligations]
    state = statuses.states_for(obligations, asof)
    # Deadline changes in force at `asof`, per obligation, in one query.
    changes: dict[int, int] = {}
    now = timezone.now()
    for row in (
        fact_changes(asof.known).filter(obligation_id__in=ids, agreed_at__lte=asof.at(UTC))
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
        path = reverse("api:obligation-detail", args=[o.pk])
        url = request.build_absolute_uri(path) if request is not None else path
        # Parties and places as named at `asof` (today's names without it).
        names_at = naming.instant(asof, o.agreement.zone)
        responsible = ", ".join(naming.name_at(p, names_at) for p in o.responsible.all())
        for term_date in statuses.term_dates_of(o, state[o.pk]):
            cal.add_component(_term_event(term_date, url, now, responsible))
        if o.kind != V.DEADLINE or not o.due_date:
            continue
        due = state[o.pk].due_date or o.due_date  # the deadline in force at `asof`
        event = Event()
        event.add("uid", f"obligation-{o.pk}@{UID_DOMAIN}")
        event.add("sequence", changes.get(o.pk, 0))
        event.add("dtstamp", now)
        event.add("dtstart", due)
        event.add("dtend", due + timedelta(days=1))
        status = state[o.pk].status
        event.add("summary", _("Due: %(title)s [%(status)s]")
                  % {"title": o.title, "status": _label(status)})
        lines = [
            _("Agreement: %(title)s") % {"title": o.agreement.title},
            _("Status: %(status)s") % {"status": _label(status)},
            _("Responsible: %(parties)s") % {"parties": responsible or "—"},
        ]
        if o.original_due_date and o.original_due_date != due:
            lines.append(_("Originally due: %(date)s") % {"date": o.original_due_date.isoformat()})
        lines += [_("Source: %(url)s") % {"url": s.url} for s in o.sources.all()]
        event.add("description", "\n".join(lines))
        event.add("url", url)
        event.add("categories", [o.category])
        places = ", ".join(naming.name_at(loc, names_at) for loc in o.locations.all())
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


def _term_event(term_date: statuses.TermDate, url: str, now: datetime,
                responsible: str) -> Event:
    """One all-day event for a notice deadline or a term end, on its local date. Its UID
    names the date: a renewed term's next end is another event, not a moved one.
    `responsible`: the term's parties, as the calendar names them."""
    o = term_date.obligation
    day = term_date.local_date
    event = Event()
    event.add("uid", f"obligation-{o.pk}-{term_date.what.replace('_', '-')}-{day:%Y-%m-%d}"
                     f"@{UID_DOMAIN}")
    event.add("sequence", 0)
    event.add("dtstamp", now)
    event.add("dtstart", day)
    event.add("dtend", day + timedelta(days=1))
    event.add("summary", f"{TERM_SUMMARY[term_date.what]}: {o.title} [{_label(term_date.status)}]")
    lines = [
        _("Agreement: %(title)s") % {"title": o.agreement.title},
        _("Status: %(status)s") % {"status": _label(term_date.status)},
        _("Responsible: %(parties)s") % {"parties": responsible or "—"},
    ]
    if term_date.what == statuses.NOTICE and o.renews_years:
        lines.append(_("Without notice by this date the term renews automatically."))
    lines += [_("Source: %(url)s") % {"url": s.url} for s in o.sources.all()]
    event.add("description", "\n".join(lines))
    event.add("url", url)
    event.add("categories", [o.category])
    return event


class EventsFeed(Feed):
    """Status transitions, newest first; `?agreement=<slug>` narrows it to one agreement."""

    feed_type = TextAtom1Feed
    description_template = None

    def __init__(self, asof: AsOf | None = None) -> None:
        super().__init__()
        self.asof = asof or AsOf()

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
        known_texts.overlay([agreement], self.asof.known)  # its title as published then
        return agreement

    def title(self, obj: Agreement | None) -> str:
        if obj:
            return _("Status changes: %(title)s") % {"title": obj.title}
        return _("Status changes of tracked obligations")

    def link(self, obj: Agreement | None) -> str:
        # The dashboard page a reader of the feed wants: the agreement, or the overview.
        return reverse("web:agreement", args=[obj.slug]) if obj else reverse("web:overview")

    def subtitle(self, obj: Agreement | None) -> str:
        return _("Every change of an obligation's status, with the instant it took effect.")

    def items(self, obj: Agreement | None):
        # Those that had taken effect by `as_of`, as published by `known_at`.
        events = statuses.events_known(self.asof).select_related(
            "obligation__agreement", "report__claimant", "report__contests__claimant"
        ).prefetch_related("report__actors", "report__contests__actors").order_by(
            "-effective_at", "-id"
        )
        if obj is not None:
            events = events.filter(obligation__agreement=obj)
        found = list(statuses.events_until(events, self.asof)[:FEED_SIZE])
        # Each term's title as the tracker had published it by `known_at`.
        known_texts.terms_as_known([e.obligation for e in found], self.asof.known)
        return found

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
            # The actors as named at the feed's `as_of` (today's names without it).
            names_at = naming.instant(self.asof, item.obligation.agreement.zone)
            text += " " + account(item.report, names_at)
            contested = item.report.contests
            if contested is not None:
                text += " " + _("It contests: %(account)s") % {
                    "account": account(contested, names_at)}
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


def account(report: Report, names_at: datetime | None = None) -> str:
    """A report as a feed entry tells it: its summary, whose act (the parties named as
    at `names_at`; None: today's names) and who says so."""
    text = report.summary
    actors = ", ".join(naming.name_at(p, names_at) for p in report.actors.all())
    if actors:
        text += " " + _("Actors: %(actors)s.") % {"actors": actors}
    claimant = report.claimant
    if claimant is not None and claimant.kind == V.CLAIMANT_TRACKER:
        text += " " + _("Editorial finding: %(claimant)s.") % {"claimant": claimant.name}
    elif claimant is not None:
        text += " " + _("Claimed by %(claimant)s.") % {"claimant": claimant.name}
    return text


FEED_PARAMETERS = ("agreement", "as_of", "known_at")


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
        asof = instants.as_of(request.GET.get("as_of"), known_at=request.GET.get("known_at"))
    except instants.InstantError as exc:
        return _plain(f"{exc.parameter}={exc}", 400)
    try:
        response = EventsFeed(asof)(request)
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
