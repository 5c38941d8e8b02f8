"""The analyst dashboard: thin views over `tracker.statuses` and `tracker.web.queries`.

Every page takes `?as_of=` (a date or an instant) and answers for that instant; a
bad value, or a filter naming nothing, gets a 400 page that says what was wrong.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from itertools import groupby
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from deadlines import engine
from deadlines.facts import fact_changes, facts_of, published_by, with_facts
from tracker import instants, knowledge, known_texts, naming, query_names, statuses, texts
from tracker import scores as scoring
from tracker import vocabulary as V
from tracker.credits import credits
from tracker.instants import AsOf, InstantError
from tracker.models import (
    Agreement,
    AgreementRelation,
    ClauseText,
    ClauseVariant,
    Location,
    Obligation,
    Party,
    Report,
    Source,
)
from tracker.search import matching
from tracker.web import chain, data_links, map_svg, queries, scores_svg, timeline_svg

AGREEMENT_ROWS = 500  # obligations listed on one agreement page; filters narrow further
TIMELINE_ROWS = 60
# A clause's texts per language with their sources, for `texts.clause_text`.
_CLAUSE_TEXTS = Prefetch("clause__texts",
                         queryset=ClauseText.objects.prefetch_related("sources"))
SYMBOLS = {
    V.OVERDUE: "!", V.VIOLATED: "✗", V.DUE_SOON: "◷", V.PENDING: "○", V.IN_PROGRESS: "◐",
    V.IN_FORCE: "●", V.COMPLETED_LATE: "✓", V.COMPLETED: "✓", V.TERMINATED: "■",
    V.DISPUTED: "⇄", V.SUPERSEDED: "↪", V.OVERTAKEN: "⊘",
}


def status_info(status: str) -> dict:
    status = status or V.PENDING
    return {"key": status, "label": str(V.STATUS_LABELS.get(status, status)),
            "symbol": SYMBOLS.get(status, "•")}


def _url(request: HttpRequest, path: str | None = None, **changes) -> str:
    """This page's URL (or `path`) with its query string changed; None drops a key."""
    params = {k: v for k, v in request.GET.items()}
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    query = urlencode(params)
    return f"{path or request.path}{'?' + query if query else ''}"


class BadParameter(ValueError):
    """A query-string value the page cannot use; the page answers 400 with this text."""


def page(*accepts: str) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """A dashboard page reading the query parameters `accepts` (and `as_of`, and the
    older names of any of them): any other parameter, or a `BadParameter` anywhere in
    it, is a 400 page saying why."""
    accepted = query_names.with_aliases({"as_of", "known_at", *accepts})

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def answer(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                query_names.check(request.GET, accepted)
                return view(request, *args, **kwargs)
            except (BadParameter, query_names.UnknownParameters) as exc:
                return render(request, "web/error.html",
                              {"message": str(exc), "home": reverse("web:overview")},
                              status=400)

        answer.accepts = accepted
        return answer

    return decorate


def _as_of(request: HttpRequest, zone: ZoneInfo) -> AsOf:
    """`?as_of=` and `?known_at=`, where a time written without an offset is local to the
    page's `zone`."""
    try:
        return instants.as_of(
            request.GET.get("as_of"), known_at=request.GET.get("known_at"), local_zone=zone
        )
    except InstantError as exc:
        raise BadParameter(f"{exc.parameter or 'as_of'}={exc}") from exc


def iso(at: datetime) -> str:
    """An instant for a URL: UTC with Z, microseconds only when present."""
    at = at.astimezone(UTC)
    spec = "microseconds" if at.microsecond else "seconds"
    return at.replace(tzinfo=None).isoformat(timespec=spec) + "Z"


def _countdown(due_at: datetime, at: datetime) -> str:
    delta = due_at - at
    if delta.total_seconds() <= 0:
        return _("due now")
    days, rest = divmod(int(delta.total_seconds()), 86400)
    hours = rest // 3600
    if days and hours:
        return ngettext("in %(days)d day %(hours)d h", "in %(days)d days %(hours)d h",
                        days) % {"days": days, "hours": hours}
    if days:
        return ngettext("in %(days)d day", "in %(days)d days", days) % {"days": days}
    return _("in %(hours)d h") % {"hours": hours} if hours else _("in less than an hour")


def _local(at: datetime | None, zone: ZoneInfo) -> datetime | None:
    return at.astimezone(zone) if at else None


def _neighbours(
    agreements: list[Agreement], chosen: Agreement | None, at: datetime
) -> tuple[datetime | None, ...]:
    """The status changes either side of `at` for the time control: of the chosen
    agreement, else of every one (none when there are no agreements)."""
    if not agreements:
        return None, None
    return queries.neighbour_events(
        queries.StatusEvent.current.filter(obligation__agreement=chosen)
        if chosen else queries.StatusEvent.current.all(),
        at,
    )


def _shown(asof: AsOf, at: datetime, zone: ZoneInfo) -> str:
    """How a drawing names the instant it shows."""
    if not asof.explicit:
        return _("now")
    return _("as of %(date)s") % {
        "date": date_format(at.astimezone(zone), "SHORT_DATE_FORMAT")}


def time_control(
    request: HttpRequest,
    asof: AsOf,
    zone: ZoneInfo,
    start: datetime | None,
    prev: datetime | None,
    nxt: datetime | None,
    each_zone: bool = False,
    scope: QuerySet[Obligation] | None = None,
) -> dict:
    """The banner and the step/slide control every page shows, in the page's `zone`.
    `each_zone`: a date is read in each agreement's own zone (agreements in several
    zones are shown). With it, the page's permalink (as_of and known_at pinned) and,
    for a page pinned to an earlier `known_at`, whether the tracker has published more
    about `scope` (None: anything) since."""
    at = asof.at(zone)
    pinned_as_of, pinned_known = asof.pinned()
    learned = knowledge.learned_since(asof.known, scope) if asof.known else None
    keep_params = [(k, request.GET[k]) for k in ("as_of", "known_at") if request.GET.get(k)]
    now = asof.now
    first = (start or at).astimezone(zone).date()
    last = max(now, at).astimezone(zone).date()
    value = at.astimezone(zone).date()
    return {
        "asof": asof,
        "at": at,
        "is_now": not asof.explicit,
        "each_zone": each_zone,
        "future": asof.explicit and at > now,
        "shown_at": at.astimezone(zone),
        "zone": str(zone),
        "value_date": value.isoformat(),
        "min_date": first.isoformat(),
        "max_date": last.isoformat(),
        "slider_max": max(0, (last - first).days),
        "slider_value": min(max(0, (value - first).days), max(0, (last - first).days)),
        "prev_url": _url(request, as_of=iso(prev)) if prev else None,
        "prev_at": _local(prev, zone),
        "next_url": _url(request, as_of=iso(nxt)) if nxt else None,
        "next_at": _local(nxt, zone),
        "now_url": _url(request, as_of=None),
        "keep": [(k, v) for k, v in request.GET.items() if k != "as_of"],
        "keep_params": keep_params,
        "keep_query": f"?{urlencode(keep_params)}" if keep_params else "",
        "known": asof.known,
        # The link stays on this site (relative); its text is the address to cite.
        "permalink": (permalink := _url(request, as_of=pinned_as_of, known_at=pinned_known)),
        "permalink_text": request.build_absolute_uri(permalink),
        "learned": learned,
        "today_url": _url(request, known_at=None),
    }


def _as_of_param(request: HttpRequest) -> dict:
    """`as_of` and `known_at` to carry into links to other pages."""
    return {k: request.GET[k] for k in ("as_of", "known_at") if request.GET.get(k)}


def _link(path: str, **params) -> str:
    params = {k: v for k, v in params.items() if v}
    return f"{path}?{urlencode(params)}" if params else path


def _obligation_url(o: Obligation, keep: dict) -> str:
    return _link(reverse("web:obligation", args=[o.agreement.slug, o.slug]), **keep)


# ---------------------------------------------------------------- overview


@page()
def overview(request: HttpRequest) -> HttpResponse:
    every = list(Agreement.objects.order_by("-signed_at", "slug"))
    zone = queries.overview_zone(every)
    asof = _as_of(request, zone)
    at = asof.at(zone)
    # As the tracker had published them by `known_at` (none it had not).
    every = known_texts.as_known(every, asof.known)
    # An agreement not yet signed at the instant shown has nothing to show.
    agreements = [a for a in every if statuses.signed_by(a, asof)]
    data = queries.overview(agreements, asof, at)
    keep = _as_of_param(request)
    start = min((a.signed_at for a in every), default=None)
    return render(request, "web/overview.html", {
        "unsigned": len(every) - len(agreements),
        "agreements": (cards := _agreement_cards(data.agreements, keep)),
        "titles_notice": texts.fallback_notice("titles", [c["title"] for c in cards]),
        "chain": _chain(agreements, zone, at, keep),
        "upcoming": _upcoming(data.next_deadlines, asof, keep),
        "overdue": (overdue := _overdue(data.overdue, asof, keep)),
        "overdue_total": data.overdue_total,
        "overdue_more": data.overdue_total > len(overdue),
        "see_all": [
            {"agreement": c.agreement, "n": c.counts[V.OVERDUE],
             "url": _agreement_url(c.agreement, keep, status=V.OVERDUE)}
            for c in data.agreements if c.counts[V.OVERDUE]
        ],
        "parties": data.parties,
        "groups": [(key, label) for key, label, _ in queries.COMPLIANCE_GROUPS],
        "scores_url": _link(reverse("web:scores"), **keep),
        "events": _event_rows(data.events, keep),
        "time": time_control(request, asof, zone, start, data.prev_event, data.next_event,
                             queries.each_zone(asof, agreements, at) is not None),
        "data": data_links.overview(_when(asof)),
    })


def _agreement_url(a: Agreement, keep: dict, **extra) -> str:
    return _link(reverse("web:agreement", args=[a.slug]), **keep, **extra)


def _agreement_cards(counted: list[queries.AgreementCounts], keep: dict) -> list[dict]:
    """Each agreement with its obligations counted by status, each count a link."""
    return [
        {
            "agreement": c.agreement,
            "title": texts.title(c.agreement),
            "url": _agreement_url(c.agreement, keep),
            "total": c.total,
            "counts": [
                {"status": status_info(s), "n": n,
                 "url": _agreement_url(c.agreement, keep, status=s)}
                for s, n in c.ordered
            ],
        }
        for c in counted
    ]


def _held(relations: Iterable[AgreementRelation], at: datetime) -> list[AgreementRelation]:
    """The relations that held at the page's instant: a later agreement's relation is
    not shown before it took hold (no hindsight)."""
    return [r for r in relations if r.at <= at]


def _relation_row(r: AgreementRelation, zone: ZoneInfo, at: datetime, keep: dict) -> dict:
    """One relation as a page names it: what it does, to which agreement or term, from
    when (in the page's `zone`; `held` when it had taken hold by the page's `at`), the
    term that takes the target's place, and its sources."""
    return {
        "r": r,
        "kind": str(dict(V.RELATION_KINDS).get(r.kind, r.kind)),
        "ends": r.kind in V.RELATION_ENDINGS,
        "at": r.at.astimezone(zone),
        "held": r.at <= at,
        "agreement_url": _agreement_url(r.agreement, keep),
        "target_agreement_url": _agreement_url(r.target_agreement, keep),
        "target_url": _obligation_url(r.target, keep) if r.target else None,
        "replacement_url": _obligation_url(r.replacement, keep) if r.replacement else None,
        "sources": list(r.sources.all()),
    }


def _chain(agreements: list[Agreement], zone: ZoneInfo, at: datetime, keep: dict) -> list[dict]:
    """The agreements in signing order, each with what it does to the earlier ones."""
    return [
        {
            "agreement": link.agreement,
            "title": texts.title(link.agreement),
            "url": _agreement_url(link.agreement, keep),
            "signed": link.agreement.signed_at.astimezone(link.agreement.zone),
            "builds_on": [_relation_row(r, zone, at, keep) for r in _held(link.builds_on, at)],
            "followed_by": [_relation_row(r, zone, at, keep)
                            for r in _held(link.followed_by, at)],
        }
        for link in chain.chain(agreements)
    ]


def _upcoming(rows: list[queries.DeadlineRow], asof: AsOf, keep: dict) -> list[dict]:
    """The next deadlines, each with the time left at its agreement's instant."""
    return [
        {
            "obligation": d.obligation,
            "url": _obligation_url(d.obligation, keep),
            "agreement": d.agreement,
            "status": status_info(d.status),
            "due_date": d.due_date,
            "due_at": d.due_at,
            "what": d.what,
            "countdown": _countdown(d.due_at, asof.at(d.agreement.zone)),
        }
        for d in rows
    ]


def _overdue(rows: list[queries.DeadlineRow], asof: AsOf, keep: dict) -> list[dict]:
    """The longest-overdue deadlines, each with its local days overdue."""
    overdue = []
    for d in rows:
        zone = d.agreement.zone
        _, days = engine.days_left(V.OVERDUE, d.due_date, asof.at(zone), zone)
        overdue.append({
            "obligation": d.obligation, "url": _obligation_url(d.obligation, keep),
            "agreement": d.agreement, "due_date": d.due_date, "days": days,
            "status": status_info(V.OVERDUE),
        })
    return overdue


def _event_rows(events: list[queries.EventRow], keep: dict) -> list[dict]:
    return [
        {
            "event": e,
            "from": status_info(e.from_status) if e.from_status else None,
            "to": status_info(e.to_status),
            "url": _link(
                reverse("web:obligation", args=[e.agreement_slug, e.obligation_slug]), **keep
            ),
            "at": e.effective_at.astimezone(ZoneInfo(e.timezone)),
        }
        for e in events
    ]


# ---------------------------------------------------------------- agreement


FILTERS = ("status", "party", "category", "place")


@dataclass(frozen=True)
class AgreementFilters:
    """What an agreement page may be narrowed by, and what the request chose."""

    parties: list[Party]
    categories: list[str]
    places: list[Location]
    chosen: dict[str, str]
    window: str
    place_slugs: list[str]  # the places the `place` filter names here (any spelling)


def _agreement_filters(request: HttpRequest, agreement: Agreement) -> AgreementFilters:
    """The filters offered under `agreement` and those chosen; `BadParameter` naming
    every chosen value that names nothing here."""
    parties = list(
        Party.objects.filter(obligations__agreement=agreement).distinct().order_by("name")
    )
    categories = list(
        agreement.obligations.order_by("category").values_list("category", flat=True).distinct()
    )
    places = sorted(
        Location.objects.filter(obligations__agreement=agreement).distinct(),
        key=lambda loc: loc.label.casefold(),
    )
    older = {new: old for old, new in query_names.ALIASES.items()}
    chosen = {
        k: (request.GET.get(k) or request.GET.get(older.get(k, k)) or "").strip()
        for k in FILTERS
    }
    place_slugs: list[str] = []
    # Default period: around the date asked for when travelling in time (so the
    # Kalbajar move shows on 16 November 2020), around the deadlines otherwise.
    default_window = "around" if request.GET.get("as_of", "").strip() else "deadlines"
    window = request.GET.get("window", "").strip() or default_window
    problems = []
    if chosen["status"] and chosen["status"] not in V.ALL_STATUSES:
        problems.append(_("status=%(value)r is not a status; use one of %(known)s.") % {
            "value": chosen["status"], "known": ", ".join(V.ALL_STATUSES)})
    if chosen["party"] and chosen["party"] not in {p.slug for p in parties}:
        problems.append(_("party=%(value)r has no obligation under this agreement.")
                        % {"value": chosen["party"]})
    if chosen["category"] and chosen["category"] not in categories:
        problems.append(_("category=%(value)r is not used in this agreement; use one of "
                          "%(known)s.") % {"value": chosen["category"],
                                           "known": ", ".join(categories)})
    if chosen["place"]:
        # Any spelling of the place (Kelbajar, Kəlbəcər); the page then shows its slug.
        named = set(query_names.places_named(chosen["place"]).values_list("slug", flat=True))
        here = [p.slug for p in places if p.slug in named]
        if len(here) == 1:
            chosen["place"] = here[0]  # shown selected in the form
        if here:
            place_slugs = here
        else:
            problems.append(_("place=%(value)r names no place with an obligation under "
                              "this agreement.") % {"value": chosen["place"]})
    if window not in timeline_svg.WINDOWS:
        problems.append(_("window=%(value)r must be one of %(known)s.") % {
            "value": window, "known": ", ".join(timeline_svg.WINDOWS)})
    if problems:
        raise BadParameter(" ".join(problems))
    return AgreementFilters(parties, categories, places, chosen, window, place_slugs)


def _narrowed(qs: QuerySet[Obligation], chosen: dict[str, str], place_slugs: list[str],
              asof: AsOf) -> QuerySet:
    """`qs` narrowed by the chosen filters (the status as it stood at `asof`), in clause
    order."""
    if chosen["party"]:
        qs = qs.filter(responsible__slug=chosen["party"])
    if chosen["category"]:
        qs = qs.filter(category=chosen["category"])
    if chosen["place"]:
        qs = qs.filter(locations__slug__in=place_slugs)
    if chosen["status"]:
        qs = statuses.filter_status(qs, [chosen["status"]], asof)
    return qs.distinct().order_by("clause__position", "clause__number", "position", "pk")


@page(*FILTERS, "window")
def agreement(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = get_object_or_404(Agreement, slug=slug)
    asof = _as_of(request, agreement.zone)
    if known_texts.overlay([agreement], asof.known):
        return _not_published(request, agreement.slug, agreement.zone, asof,
                              agreement.obligations.all())
    zone = agreement.zone
    at = asof.at(zone)
    if not statuses.signed_by(agreement, asof):
        return _not_signed(request, agreement, asof)
    filters = _agreement_filters(request, agreement)
    terms = agreement.obligations.filter(known_texts.terms_published(asof.known))
    qs = _narrowed(terms, filters.chosen, filters.place_slugs, asof)
    total = qs.count()
    rows = list(
        with_facts(qs[:AGREEMENT_ROWS], asof.known)
        .select_related("clause")
        .prefetch_related("responsible", "locations", _CLAUSE_TEXTS)
    )
    # (states_for also sets the rows to what they were at `known_at`; their clauses too.)
    states = statuses.states_for(rows, asof)
    known_texts.clauses_as_known([o.clause for o in rows], asof.known)
    keep = _as_of_param(request)
    replaced = chain.replacements([o.pk for o in rows])
    # Parties and places as named at the page's instant (today's names without as_of).
    names_at = naming.instant(asof, zone)
    items = [
        {"o": o, "state": states[o.pk], "status": status_info(states[o.pk].status),
         "title": texts.title(o),
         "responsible": _named(o.responsible.all(), names_at),
         "places": _named(o.locations.all(), names_at),
         "replaced_by": _relation_row(replaced[o.pk], zone, at, keep)
         if o.pk in replaced and replaced[o.pk].at <= at else None,
         "url": _obligation_url(o, keep), "due_local": states[o.pk].due_date,
         "category": V.category_label(o.category),
         "terms": statuses.term_dates_of(o, states[o.pk])}
        for o in rows
    ]
    counts = Counter(i["status"]["key"] for i in items)
    shown = _shown(asof, at, zone)
    markers = _markers(
        [(o, states[o.pk].status) for o in rows],
        lambda loc: _url(request, place=loc.slug, status=None), names_at,
    )
    prev, nxt = queries.neighbours(queries.event_instants(rows, at, asof.known), at)
    return render(request, "web/agreement.html", {
        "agreement": agreement,
        "title": texts.title(agreement),
        "description": texts.description(agreement),
        "builds_on": [_relation_row(r, zone, at, keep)
                      for r in _held(chain.builds_on(agreement), at)],
        "followed_by": [_relation_row(r, zone, at, keep)
                        for r in _held(chain.followed_by(agreement), at)],
        "clauses": [
            {"clause": clause, "text": texts.clause_text(clause) if clause else None,
             "items": list(group)}
            for clause, group in groupby(items, key=lambda i: i["o"].clause)
        ],
        "titles_notice": texts.fallback_notice("titles", [i["title"] for i in items]),
        "total": total,
        "truncated": total > len(rows),
        "limit": AGREEMENT_ROWS,
        "counts": [(status_info(s), counts[s]) for s in queries.STATUS_ORDER if counts[s]],
        "parties": sorted(_named(filters.parties, names_at), key=lambda p: p.name),
        "categories": [{"key": c, "label": V.category_label(c)} for c in filters.categories],
        "places": sorted(_named(filters.places, names_at), key=lambda loc: loc.label.casefold()),
        "status_choices": [status_info(s) for s in queries.STATUS_ORDER],
        "chosen": filters.chosen,
        "filtered": any(filters.chosen.values()),
        "clear_url": _link(request.path, **keep),
        "window": filters.window,
        "window_links": [
            (str(timeline_svg.WINDOW_LABELS[w]), _url(request, window=w), w == filters.window)
            for w in timeline_svg.WINDOWS
            if w != "around" or asof.explicit
        ],
        "timeline": _agreement_timeline(agreement, rows, states, at, filters.window, shown),
        "timeline_more": len(rows) > TIMELINE_ROWS,
        "map": map_svg.draw(markers, _("Places under %(title)s, %(shown)s")
                            % {"title": texts.title(agreement).text, "shown": shown}),
        "legend": [
            {"m": m, "status": status_info(m.status),
             "counts": [(status_info(st), n) for st, n in m.counts]}
            for m in markers
        ],
        "time": time_control(request, asof, zone, agreement.signed_at, prev, nxt,
                             scope=agreement.obligations.all()),
        "changes_url": _link(reverse("web:agreement-changes", args=[agreement.slug]),
                             **_changes_window(asof)),
        "data": data_links.agreement(agreement, filters.chosen, _when(asof)),
    })


def _agreement_timeline(
    agreement: Agreement, rows: list[Obligation], states: dict, at: datetime, window: str,
    shown: str,
) -> str:
    """The agreement's first TIMELINE_ROWS obligations drawn over the chosen window."""
    tl_rows = [(o.title, o.kind, states[o.pk].status, facts_of(o)) for o in rows[:TIMELINE_ROWS]]
    begin, end = timeline_svg.window_for(tl_rows, agreement.effective_at, at, window)
    return timeline_svg.draw(tl_rows, begin, end, at, agreement.zone, shown)


def _named[T](objs: Iterable[T], at: datetime | None) -> list[T]:
    """Parties or places as named at `at` (`tracker.naming`; None: today's names)."""
    return [naming.named_at(x, at) for x in objs]


def _markers(pairs, url_for, names_at: datetime | None) -> list[map_svg.Marker]:
    """One marker per place with coordinates, showing its most pressing status, the
    place named as at `names_at`."""
    per_place: dict[int, Counter] = {}
    where: dict[int, Location] = {}
    for o, status in pairs:
        for loc in o.locations.all():
            where[loc.pk] = naming.named_at(loc, names_at)
            per_place.setdefault(loc.pk, Counter())[status] += 1
    return _numbered(where, per_place, url_for)


def _numbered(where: dict[int, Location], per_place: dict[int, Counter], url_for):
    """A numbered marker per place that has a position (a point, or a line's middle),
    north to south, with its obligations counted by status."""
    at = {pk: map_svg.position(loc.latitude, loc.longitude, loc.line)
          for pk, loc in where.items()}
    places = sorted(
        (loc for loc in where.values() if at[loc.pk] is not None),
        key=lambda loc: (-at[loc.pk][0], at[loc.pk][1]),
    )
    return [
        map_svg.Marker(
            number=n,
            label=loc.label,
            status=queries.worst_status(per_place[loc.pk]),
            latitude=at[loc.pk][0],
            longitude=at[loc.pk][1],
            url=url_for(loc),
            key=loc.pk,
            counts=tuple((s, per_place[loc.pk][s]) for s in queries.STATUS_ORDER
                         if per_place[loc.pk][s]),
            line=tuple((lat, lon) for lat, lon in loc.line or ()),
            note=loc.coordinates_note,
        )
        for n, loc in enumerate(places, start=1)
    ]


# ---------------------------------------------------------------- obligation


@page()
def obligation(request: HttpRequest, slug: str, obligation_slug: str) -> HttpResponse:
    o = get_object_or_404(
        Obligation.objects.select_related("agreement", "clause").prefetch_related(
            "responsible", "monitors", "locations",
            Prefetch("sources", queryset=Source.objects.order_by("publisher", "published_at")),
            Prefetch(
                "clause__variants",
                queryset=ClauseVariant.objects.prefetch_related("sources").order_by("version"),
            ),
            _CLAUSE_TEXTS,
        ),
        agreement__slug=slug,
        slug=obligation_slug,
    )
    asof = _as_of(request, o.agreement.zone)
    # The term, its agreement and its clause as the tracker had published them then.
    if known_texts.terms_as_known([o], asof.known):
        return _not_published(request, f"{o.agreement.slug}/{o.slug}", o.agreement.zone,
                              asof, Obligation.objects.filter(pk=o.pk))
    known_texts.clauses_as_known([o.clause], asof.known)
    agreement = o.agreement
    zone = agreement.zone
    at = asof.at(zone)
    if not statuses.signed_by(agreement, asof):
        return _not_signed(request, agreement, asof)
    facts = facts_of(o, known_at=asof.known)
    state = statuses.states_for([o], asof)[o.pk]
    # Which report the status rests on: the stored columns do not say, the engine does.
    assessed = engine.assess(facts, at)
    decider = state.report_id or (
        assessed.report_id if assessed.status == state.status else None
    )
    changes = list(
        fact_changes(asof.known).filter(obligation=o)
        .prefetch_related("sources")
        .order_by("agreed_at", "pk")
    )
    known_changes = [c for c in changes if c.agreed_at <= at]
    keep = _as_of_param(request)
    # Parties and places as named at the page's instant (today's names without as_of).
    names_at = naming.instant(asof, zone)
    report_rows = _report_rows(o, decider, asof.known, names_at)
    known_reports = [row for row in report_rows if row["r"].occurred_at <= at]
    touching = chain.of_term(o)
    window_rows = [(o.title, o.kind, state.status, facts)]
    which = "deadlines" if o.kind == V.DEADLINE else "all"
    begin, end = timeline_svg.window_for(window_rows, agreement.effective_at, at, which)
    prev, nxt = queries.neighbours(queries.event_instants([o], at, asof.known), at)
    return render(request, "web/obligation.html", {
        "o": o,
        "title": texts.title(o),
        "description": texts.description(o),
        "agreement_title": texts.title(agreement),
        "clause_text": texts.clause_text(o.clause) if o.clause else None,
        "category": V.category_label(o.category),
        "agreement": agreement,
        "agreement_url": _link(reverse("web:agreement", args=[agreement.slug]), **keep),
        "state": state,
        "status": status_info(state.status),
        "since": _local(state.status_since, zone),
        "changes": known_changes,
        "later_changes": len(changes) - len(known_changes),
        "reports": known_reports,
        "later_reports": len(report_rows) - len(known_reports),
        "ending": _ending(state.status, assessed, touching, known_reports, zone, at, keep),
        "dispute": _dispute(state.status, assessed, known_reports),
        "standings": _standings(o, facts, at, names_at),
        "responsible": _named(o.responsible.all(), names_at),
        "monitors": _named(o.monitors.all(), names_at),
        "replaces": [_relation_row(r, zone, at, keep) for r in _held(touching.replaces, at)],
        "relations": [_relation_row(r, zone, at, keep)
                      for r in _held([*touching.endings, *touching.links], at)],
        "versions": _versions(o),
        "history": _history_rows(engine.timeline(facts, at), zone),
        "timeline": timeline_svg.draw(window_rows, begin, end, at, zone,
                                      _shown(asof, at, zone)),
        "places": [
            {"loc": loc, "url": _link(reverse("web:places"), q=loc.name, **keep)}
            for loc in _named(o.locations.all(), names_at)
        ],
        "time": time_control(request, asof, zone, agreement.signed_at, prev, nxt,
                             scope=Obligation.objects.filter(pk=o.pk)),
        "changes_url": _link(
            reverse("web:obligation-changes", args=[agreement.slug, o.slug]),
            **_changes_window(asof),
        ),
        "data": data_links.obligation(o, _when(asof)),
    })


def _not_signed(request: HttpRequest, agreement: Agreement, asof: AsOf) -> HttpResponse:
    """The page for an agreement (or a term of it) at an instant before its signing:
    nothing of it held then, so nothing of it is shown but that."""
    zone = agreement.zone
    return render(request, "web/not_signed.html", {
        "agreement": agreement,
        "shown_at": asof.at(zone).astimezone(zone),
        "signed_url": _url(request, as_of=iso(agreement.signed_at)),
        "time": time_control(request, asof, zone, agreement.signed_at, None,
                             agreement.signed_at),
    })


def _not_published(request: HttpRequest, name: str, zone: ZoneInfo, asof: AsOf,
                   scope: QuerySet[Obligation]) -> HttpResponse:
    """The page for an agreement or a term the tracker had not yet published at
    `known_at`: it said nothing of it then, so nothing of it is shown but that (and the
    link to today's view)."""
    return render(request, "web/not_published.html", {
        "name": name,
        "time": time_control(request, asof, zone, None, None, None, scope=scope),
    })


def _when(asof: AsOf) -> dict[str, str]:
    """The page's `as_of` and `known_at`, as its data links carry them."""
    return {"as_of": asof.label or "", "known_at": asof.known_label or ""}


def _changes_window(asof: AsOf) -> dict:
    """The change log a page pinned to `known_at` links to: what was published since."""
    return {"since": asof.known_label} if asof.known_label else {}


ENDED = (V.SUPERSEDED, V.OVERTAKEN, V.TERMINATED)


def _ending(
    status: str, assessed: engine.Assessment, touching: chain.TermRelations,
    reports: list[dict], zone: ZoneInfo, at: datetime, keep: dict,
) -> dict | None:
    """How the term ended, when it has: the relation that superseded or terminated it
    (with the term that replaced it), or the report whose claim ended it (its summary
    and sources give the cause), or the end of its own term."""
    if status not in ENDED:
        return None
    named = assessed.ending.relation_id if assessed.ending else None
    relation = touching.ending_at(at, named) if (named or not assessed.report) else None
    if relation is not None and V.RELATION_ENDINGS.get(relation.kind) == status:
        return {"status": status_info(status), "relation": _relation_row(relation, zone, at, keep)}
    report = next((row for row in reports if row["r"].pk == assessed.report_id), None)
    return {"status": status_info(status), "report": report}


def _dispute(status: str, assessed: engine.Assessment, reports: list[dict]) -> dict | None:
    """When the term is disputed: why (conflicting claims, or contested text) and every
    account of the disputes, side by side, as the report rows show them."""
    if status != V.DISPUTED or assessed.status != V.DISPUTED:
        return None
    by_id = {row["r"].pk: row for row in reports}
    accounts = [by_id[r.id] for r in assessed.accounts if r.id in by_id]
    return {"reason": assessed.disputed_reason, "accounts": accounts}


def _standings(o: Obligation, facts: engine.Facts, at: datetime,
               names_at: datetime | None) -> list[dict]:
    """Each party's own standing on the term: the parties it binds, and any other
    party whose act on it was reported (charged with its breach as such), each named as
    at `names_at` (None: today's names)."""
    if at < facts.effective_at:
        return []
    names = {p.slug: naming.name_at(p, names_at) for p in o.responsible.all()}
    found = engine.standings(facts, at)
    missing = [slug for slug in found if slug not in names]
    if missing:
        names.update((p.slug, naming.name_at(p, names_at))
                     for p in Party.objects.filter(slug__in=missing))
    return [
        {"s": st, "name": names.get(slug, slug), "status": status_info(st.status)}
        for slug, st in sorted(found.items(), key=lambda kv: names.get(kv[0], kv[0]))
    ]


def _versions(o: Obligation) -> dict:
    """The clause's readings side by side: its text in each language (with the source
    each is read from) and the variants between versions; `contested` when the term
    itself exists only in some of them."""
    clause = o.clause
    names = dict(settings.LANGUAGES)
    readings = [{"t": t, "name": names.get(t.language, t.language)}
                for t in (clause.texts.all() if clause else [])]
    variants = list(clause.variants.all()) if clause else []
    return {"contested": o.text_dispute, "texts": readings, "variants": variants}


def _report_rows(o: Obligation, decider: int | None, known_at: datetime | None,
                 names_at: datetime | None = None) -> list[dict]:
    """Every report on `o` published by `known_at` (None: now), oldest first, with its
    correction (if published by then), whether it is the one the status rests on, who
    says so and whose act it is (the parties named as at `names_at`; None: today's
    names), and the reports it contests or that contest it."""
    reports = (
        Report.objects.filter(published_by(known_at), obligation=o, review_state=V.PUBLISHED)
        .select_related("superseded_by", "supersedes", "author", "reviewer", "claimant",
                        "contests")
        .prefetch_related("sources", "actors", "contested_by")
        .order_by("occurred_at", "pk")
    )
    rows = []
    for r in reports:
        try:
            newer = r.superseded_by
        except Report.DoesNotExist:
            newer = None
        corrected = r.superseded_at is not None and (
            known_at is None or r.superseded_at <= known_at
        )
        if not corrected:
            newer = None
        rows.append({
            "r": r,
            "claim": dict(V.CLAIMS).get(r.claim, r.claim),
            "corrected": corrected,
            "newer": newer,
            "decides": decider == r.pk,
            "occurred": r.occurred_at.astimezone(o.agreement.zone),
            "credits": credits(r),
            "actors": _named(r.actors.all() or o.responsible.all(), names_at),
            "actors_default": not r.actors.all(),
            "claimant_kind": dict(V.CLAIMANT_KINDS).get(r.claimant.kind, "") if r.claimant else "",
            "finding": bool(r.claimant and r.claimant.kind == V.CLAIMANT_TRACKER),
            "contested_by": [
                c for c in r.contested_by.all()
                if c.review_state == V.PUBLISHED
                and (known_at is None or (c.published_at and c.published_at <= known_at))
            ],
        })
    return rows


def _history_rows(history: list[engine.Transition], zone: ZoneInfo) -> list[dict]:
    """The status changes, newest first, in the agreement's zone."""
    return [
        {
            "at": t.at.astimezone(zone),
            "from": status_info(t.from_status) if t.from_status else None,
            "to": status_info(t.to_status),
            "report_id": t.report.id if t.report else None,
        }
        for t in reversed(history)
    ]


# ---------------------------------------------------------------- places (search) and map


PLACE_OBLIGATIONS_SHOWN = 10


@page("q")
def places(request: HttpRequest) -> HttpResponse:
    agreements = list(Agreement.objects.all())
    zone = queries.overview_zone(agreements)
    asof = _as_of(request, zone)
    q = request.GET.get("q", "").strip()
    if len(q) > 100:
        raise BadParameter(_("The search text is too long (100 characters at most)."))
    if "\x00" in q:  # PostgreSQL text cannot hold NUL: a 500 otherwise
        raise BadParameter(_("The search text contains a NUL character."))
    found = Location.objects.order_by("slug")
    if q:
        found = found.filter(matching("search_text", q))
    found = list(found)
    # A place may be named by thousands of obligations: each shows its first few and,
    # per agreement, how many there are, with a link to that agreement's list filtered
    # by the place. The page's cost stays bounded by the number of places.
    first, per_agreement = queries.place_obligations([loc.pk for loc in found],
                                                     PLACE_OBLIGATIONS_SHOWN, asof.known)
    # Terms of an agreement not yet signed at the instant shown are left out.
    first = {loc: [o for o in rows if statuses.signed_by(o.agreement, asof)]
             for loc, rows in first.items()}
    shown = [o for rows in first.values() for o in rows]
    states = statuses.states_for(shown, asof)
    keep = _as_of_param(request)
    names_at = naming.instant(asof, zone)
    results = []
    for loc in found:
        counts = per_agreement.get(loc.pk, [])
        results.append({
            "loc": naming.named_at(loc, names_at),
            # The renamings that had happened by the page's instant, none still to come.
            "former": [(name, until.astimezone(zone).date())
                       for name, until in naming.history(loc, names_at)],
            "names": naming.forms_at(loc, names_at),
            "total": sum(n for _, n in counts),
            "obligations": [
                {
                    "o": o,
                    "status": status_info(states[o.pk].status),
                    "url": _link(reverse("web:obligation", args=[o.agreement.slug, o.slug]),
                                 **keep),
                }
                for o in first.get(loc.pk, [])
            ],
            "agreements": [
                {"agreement": a, "count": n,
                 "url": _link(reverse("web:agreement", args=[a.slug]), place=loc.slug, **keep)}
                for a, n in counts
            ],
        })
    start = min((a.signed_at for a in agreements), default=None)
    return render(request, "web/places.html", {
        "q": q,
        "results": results,
        "time": time_control(request, asof, zone, start, None, None,
                             queries.each_zone(asof, agreements, asof.at(zone)) is not None),
        "data": data_links.places(q, _when(asof)),
    })


def _chosen_agreement(request: HttpRequest, agreements: list[Agreement]) -> Agreement | None:
    """The agreement `?agreement=` names among `agreements` (None when not given); an
    unknown slug is a 400 naming the parameter."""
    slug = request.GET.get("agreement", "").strip()
    if not slug:
        return None
    chosen = next((a for a in agreements if a.slug == slug), None)
    if chosen is None:
        raise BadParameter(_("agreement=%(value)r is not an agreement in the tracker.")
                           % {"value": slug})
    return chosen


@page("agreement")
def map_view(request: HttpRequest) -> HttpResponse:
    agreements = list(Agreement.objects.all())
    chosen = _chosen_agreement(request, agreements)
    zone = chosen.zone if chosen else queries.overview_zone(agreements)
    asof = _as_of(request, zone)
    at = asof.at(zone)
    agreements = known_texts.as_known(agreements, asof.known)
    qs = Obligation.objects.filter(statuses.signed_q(asof, "agreement__"))
    if chosen:
        qs = qs.filter(agreement=chosen)
    shown_agreements = [a for a in ([chosen] if chosen else agreements)
                        if statuses.signed_by(a, asof)]
    per_place = queries.location_statuses(qs, asof, shown_agreements)
    names_at = naming.instant(asof, zone)
    where = {loc.pk: naming.named_at(loc, names_at)
             for loc in Location.objects.filter(pk__in=list(per_place))}
    keep = _as_of_param(request)
    markers = _numbered(
        where, per_place, lambda loc: _link(reverse("web:places"), q=loc.name, **keep)
    )
    unplaced = sorted(
        (loc for loc in where.values()
         if map_svg.position(loc.latitude, loc.longitude, loc.line) is None),
        key=lambda loc: loc.label,
    )
    counts = {m.number: per_place[m.key] for m in markers}
    legend = [
        {
            "m": m,
            "status": status_info(m.status),
            "counts": [(status_info(s), counts[m.number][s]) for s in queries.STATUS_ORDER
                       if counts[m.number][s]],
        }
        for m in markers
    ]
    shown = _shown(asof, at, zone)
    start = min((a.signed_at for a in agreements), default=None)
    prev, nxt = _neighbours(agreements, chosen, at)
    return render(request, "web/map.html", {
        "agreements": agreements,
        "chosen": chosen,
        "map": map_svg.draw(markers, _("Places with obligations, %(shown)s")
                            % {"shown": shown}),
        "legend": legend,
        "unplaced": unplaced,
        "time": time_control(request, asof, zone, start, prev, nxt,
                             queries.each_zone(asof, shown_agreements, at) is not None),
        "data": data_links.map_page(chosen.slug if chosen else "", _when(asof)),
    })


# ---------------------------------------------------------------- what changed


def _change_bounds(request: HttpRequest) -> tuple[datetime | None, datetime]:
    try:
        since = instants.known(request.GET.get("since") or None, "since")
        until = instants.known(request.GET.get("until") or None, "until")
    except InstantError as exc:
        raise BadParameter(f"{exc.parameter}={exc}") from exc
    return since, until or timezone.now()


def _changes_page(
    request: HttpRequest, agreement: Agreement, obligation: Obligation | None
) -> HttpResponse:
    """Every change to the published facts of `agreement` (or one term of it) between
    two `known_at` instants: the public correction log."""
    since, until = _change_bounds(request)
    scope = (Obligation.objects.filter(pk=obligation.pk) if obligation
             else agreement.obligations.all())
    zone = agreement.zone
    rows = [
        {
            "c": c,
            "at": c.at.astimezone(zone),
            "old": _said(c.old),
            "new": _said(c.new),
            "url": (_obligation_url(c.obligation, {"known_at": iso(c.at)})
                    if c.obligation else None),
            "before_url": (_obligation_url(c.obligation, {"known_at": iso(
                c.at - timedelta(microseconds=1))}) if c.obligation else None),
        }
        for c in knowledge.changes(scope, since, until)
    ]
    api = (reverse("api:obligation-changes", args=[obligation.pk]) if obligation
           else reverse("api:agreement-changes", args=[agreement.slug]))
    query = {k: request.GET[k] for k in ("since", "until") if request.GET.get(k)}
    return render(request, "web/changes.html", {
        "agreement": agreement,
        "o": obligation,
        "agreement_url": reverse("web:agreement", args=[agreement.slug]),
        "obligation_url": _obligation_url(obligation, {}) if obligation else None,
        "since": since.astimezone(zone) if since else None,
        "until": until.astimezone(zone),
        "since_value": request.GET.get("since", ""),
        "until_value": request.GET.get("until", ""),
        "rows": rows,
        "api_url": _link(api, **query),
        "permalink": (permalink := _url(
            request, until=iso(until), **({"since": iso(since)} if since else {})
        )),
        "permalink_text": request.build_absolute_uri(permalink),
    })


def _said(value: dict | None) -> list[tuple[str, str]]:
    """A change's old or new value as (field, text) pairs."""
    if not value:
        return []
    return [(k, str(knowledge.plain(v))) for k, v in value.items() if k != "id"]


@page("since", "until")
def agreement_changes(request: HttpRequest, slug: str) -> HttpResponse:
    agreement = get_object_or_404(Agreement, slug=slug)
    return _changes_page(request, agreement, None)


@page("since", "until")
def obligation_changes(request: HttpRequest, slug: str, obligation_slug: str) -> HttpResponse:
    o = get_object_or_404(Obligation.objects.select_related("agreement"),
                          agreement__slug=slug, slug=obligation_slug)
    return _changes_page(request, o.agreement, o)


# ---------------------------------------------------------------- party scores


@page("agreement")
def party_scores(request: HttpRequest) -> HttpResponse:
    agreements = list(Agreement.objects.order_by("signed_at", "slug"))
    chosen = _chosen_agreement(request, agreements)
    zone = chosen.zone if chosen else queries.overview_zone(agreements)
    asof = _as_of(request, zone)
    at = asof.at(zone)
    agreements = known_texts.as_known(agreements, asof.known)
    keep = _as_of_param(request)
    shown = _shown(asof, at, zone)
    start = min((a.signed_at for a in ([chosen] if chosen else agreements)), default=None)
    table = scoring.party_scores(asof, chosen, zone)
    chart = _score_chart(table, chosen, start, max(asof.now, at), zone, shown, keep,
                         asof.known) if start else None
    prev, nxt = _neighbours(agreements, chosen, at)
    return render(request, "web/scores.html", {
        "agreements": agreements,
        "chosen": chosen,
        "parties": _score_rows(table, keep, asof.known),
        "chart": chart,
        "time": time_control(request, asof, zone, start, prev, nxt,
                             queries.each_zone(asof, agreements, at) is not None),
    })


def _points(points: int | None) -> str:
    return "—" if points is None else str(points)


def _score_rows(table: list[scoring.PartyScore], keep: dict,
                known_at: datetime | None = None) -> list[dict]:
    """Each party's score and the terms behind it, each linked to the term's page (and
    to the report its standing rests on), titled as published by `known_at`."""
    ids = {t.obligation_id for p in table for t in p.terms}
    titles = {o.pk: o.title for o in known_texts.as_known(
        Obligation.objects.filter(pk__in=ids).only("pk", "title"), known_at)}
    rows = []
    for p in table:
        terms = []
        for t in p.terms:
            url = _link(reverse("web:obligation", args=[t.agreement_slug, t.obligation_slug]),
                        **keep)
            terms.append({
                "t": t, "title": titles.get(t.obligation_id, t.obligation_slug), "url": url,
                "status": status_info(t.status), "points": _points(t.points),
                "reason": str(scoring.REASON_LABELS.get(t.reason, t.reason)),
                "actor_breach": t.reason == scoring.ACTOR_BREACH,
                "report_url": f"{url}#report-{t.report_id}" if t.report_id else None,
            })
        scored = [x for x in terms if x["t"].points is not None]
        rows.append({
            "p": p, "score": p.score, "scored": scored,
            "excluded": [x for x in terms if x["t"].points is None],
            "breaches": sum(1 for x in terms if x["t"].status in V.BREACHES),
        })
    return rows


def _score_chart(table: list[scoring.PartyScore], chosen: Agreement | None, start: datetime,
                 end: datetime, zone: ZoneInfo, shown: str, keep: dict,
                 known_at: datetime | None = None) -> dict:
    """The chart of every party's score over the whole period, its figures as a table,
    and the breaches and disputes that moved it as a list of links (from the facts and
    terms published by `known_at`)."""
    series = []
    moves = []
    for p in table:
        points = scoring.score_series(p.party, start, end, chosen, known_at=known_at)
        marks = scoring.score_moves(p.party, start, end, chosen, known_at=known_at)
        if not any(score is not None for _, score in points) and not marks:
            continue
        series.append((p, points, marks))
    ids = {oid for _, _, marks in series for _, _, oid in marks}
    terms = Obligation.objects.select_related("agreement").in_bulk(ids)
    known_texts.terms_as_known(terms.values(), known_at)
    drawn = []
    for p, points, marks in series:
        drawn.append(scores_svg.Series(
            p.party, p.name, tuple(points),
            tuple(scores_svg.Mark(at, st, terms[oid].title if oid in terms else str(oid))
                  for at, st, oid in marks),
        ))
        for at, st, oid in marks:
            o = terms.get(oid)
            moves.append({
                "at": at.astimezone(zone), "party": p.name, "status": status_info(st),
                "title": o.title if o else str(oid),
                "url": _link(reverse("web:obligation", args=[o.agreement.slug, o.slug]),
                             as_of=iso(at)) if o else None,
            })
    months = sorted({at for _, points, _ in series for at, _ in points})
    by_party = [dict(points) for _, points, _ in series]
    return {
        "svg": scores_svg.draw(drawn, start, end, zone, shown),
        "parties": [p.name for p, _, _ in series],
        "table": [
            {"at": m.astimezone(zone), "scores": [row.get(m) for row in by_party]}
            for m in months
        ],
        "moves": sorted(moves, key=lambda m: (m["at"], m["party"])),
    }
