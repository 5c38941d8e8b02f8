"""The agreement timeline, drawn as SVG on the server.

One row per obligation: each deadline (a diamond), each agreed move of a deadline
(an arrow from the old date to the new one: Kalbajar 15 -> 25 November), each
completion (a circle), overdue stretches and violation spans of ongoing terms
(hatched bars). Only facts that held at the page's instant are drawn. Every mark
carries a text label and a <title>, and the whole figure has a <title>/<desc>, so
the picture never depends on colour alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from django.utils.formats import date_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from deadlines import engine
from tracker import vocabulary as V

WIDTH = 960
LEFT = 12
RIGHT = 24
TOP = 52
ROW = 72
# A row: its title, then the track with one lane of labels above it and two below.
TITLE_Y = 13
TRACK_Y = 36
ABOVE, BELOW, BELOW_2 = -9, 16, 29
WINDOWS = ("around", "deadlines", "all")
# Statuses that end a term without completing it.
ENDED = (V.TERMINATED, V.SUPERSEDED, V.OVERTAKEN)
WINDOW_LABELS = {
    "around": gettext_lazy("six weeks around the date shown"),
    "deadlines": gettext_lazy("around the deadlines"),
    "all": gettext_lazy("whole period"),
}


def text_width(text: str, size: float = 11) -> float:
    """A generous estimate of `text`'s width at `size` px in the dashboard's sans-serif
    (wider than any glyph's average), so labels placed apart never touch."""
    return len(text) * size * 0.62 + 2


class Lanes:
    """Where a row's mark labels go, so that none overlaps another or runs past the
    figure's edge: a label sits right of its mark (left of it near the right edge) in
    the first lane, in the order asked, where it meets no label already placed. When no
    lane has room it is left out: the mark's <title> and the figure's <desc> say it."""

    def __init__(self, *baselines: float) -> None:
        self.taken: dict[float, list[tuple[float, float]]] = {y: [] for y in baselines}

    def place(
        self, x: float, text: str, order: tuple[float, ...] | None = None, size: float = 11
    ) -> tuple[float, float] | None:
        width = text_width(text, size)
        start = x + 8
        if start + width > WIDTH - 2:
            start = x - 8 - width
        start = min(max(2.0, start), WIDTH - 2 - width)
        for y in order or tuple(self.taken):
            if all(start + width + 4 <= a or start >= b + 4 for a, b in self.taken[y]):
                self.taken[y].append((start, start + width))
                return round(start, 1), y
        return None

    def text(self, x: float, text: str, order: tuple[float, ...] | None = None,
             css: str = "tl-mark-label", size: float = 11) -> str:
        """The <text> for `text` where `place` puts it; "" when it has no room."""
        spot = self.place(x, text, order, size)
        if spot is None:
            return ""
        return f'<text class="{css}" x="{spot[0]}" y="{spot[1]}">{escape(text)}</text>'


# Dates in the active language's formats (config/formats): "16 Nov 2020", "16.11.2020".
def _date(day: date) -> str:
    return date_format(day, "SHORT_DATE_FORMAT")


def _md(day: date) -> str:
    return date_format(day, "MONTH_DAY_FORMAT")


def _day(at: datetime, zone: ZoneInfo) -> str:
    return _date(at.astimezone(zone))


def _short(at: datetime, zone: ZoneInfo) -> str:
    return _md(at.astimezone(zone))


def _term_dates(facts: engine.Facts, at: datetime) -> list[tuple[str, datetime]]:
    """A renewable term's notice deadline and end ahead at `at`, as the engine counts
    them (renewals rolled forward), each with its words ("notice by %(date)s")."""
    dates = [
        (_("notice by %(date)s"), engine.notice_deadline(facts, at)),
        (_("term ends %(date)s"), engine.term_end(facts, at)),
    ]
    return [(words, when) for words, when in dates if when is not None and when > at]


def window_for(
    rows: list[tuple[str, str, str, engine.Facts]], start: datetime, at: datetime, which: str
) -> tuple[datetime, datetime]:
    """The drawn period: six weeks around `at`, around the deadlines, or everything."""
    begin = start - timedelta(days=2)
    if which == "around":
        first = max(begin, at - timedelta(days=28))
        return first, max(at + timedelta(days=14), first + timedelta(days=42))
    due_dates = []
    last_fact = start
    for _title, _kind, status, facts in rows:
        zone = facts.zone
        if status not in ENDED:
            due_dates += [when for _words, when in _term_dates(facts, at)]
        # Only what held at `at`: a deadline moved later must not stretch the window
        # (and its axis labels) to a date nobody knew of yet.
        changes = [c for c in facts.changes if c.agreed_at <= at]
        for due in {facts.original_due_date, *(c.due_date for c in changes)} - {None}:
            due_dates.append(engine.due_instant(due, zone))
        for instant in [c.agreed_at for c in changes] + [
            r.occurred_at for r in facts.reports if r.occurred_at <= at
        ]:
            last_fact = max(last_fact, instant)
    if which == "deadlines" and due_dates:
        end = max(max(due_dates) + timedelta(days=7), begin + timedelta(days=21))
        return begin, end
    end = max(at, last_fact, begin + timedelta(days=21))
    return begin, end + (end - begin) * 0.03


def ticks(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, str]]:
    """Labelled tick instants for a time axis from `start` to `end`: weeks, months,
    quarters or years, whichever the span suits (local to `zone`)."""
    span = end - start
    local = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    found = []
    if span <= timedelta(days=75):
        t = local + timedelta(days=(7 - local.weekday()) % 7)  # Mondays
        while t <= end:
            found.append((t, _md(t)))
            t += timedelta(days=7)
    elif span <= timedelta(days=900):
        y, m = local.year, local.month
        step = 1 if span <= timedelta(days=240) else 3
        while True:
            m += 1
            if m > 12:
                y, m = y + 1, 1
            t = local.replace(year=y, month=m, day=1)
            if t > end:
                break
            if (m - 1) % step == 0:
                found.append((t, date_format(t, "YEAR_MONTH_FORMAT")))
    else:
        for year in range(local.year + 1, end.year + 1):
            found.append((local.replace(year=year, month=1, day=1), str(year)))
    return found


@dataclass(frozen=True)
class _Scale:
    """Places instants between `start` and `end` across the drawing's width."""

    start: datetime
    end: datetime

    def x(self, t: datetime) -> float:
        span = (self.end - self.start).total_seconds() or 1.0
        inner = WIDTH - LEFT - RIGHT
        clamped = min(max(t, self.start), self.end)
        return round(LEFT + (clamped - self.start).total_seconds() / span * inner, 1)

    def inside(self, t: datetime) -> bool:
        return self.start <= t <= self.end


@dataclass
class _Row:
    """One obligation's track: the facts that held at the page's instant `at`, the marks
    drawn for them, where their labels went, and the same said in words (the figure's
    description)."""

    scale: _Scale
    zone: ZoneInfo
    at: datetime
    top: int
    status: str
    facts: engine.Facts
    changes: list[engine.DeadlineChangeFact]
    reports: list[engine.ReportFact]
    marks: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)
    # The engine's status changes up to `at`: what the bars show (a contested account
    # or contested text is never drawn as a breach).
    history: list[engine.Transition] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.track = self.top + TRACK_Y
        self.lanes = Lanes(self.track + ABOVE, self.track + BELOW, self.track + BELOW_2)
        # Label lanes to try, nearest first: the one above the track, or the two below.
        self.above = (self.track + ABOVE, self.track + BELOW, self.track + BELOW_2)
        self.below = (self.track + BELOW, self.track + BELOW_2, self.track + ABOVE)


def draw(
    rows: list[tuple[str, str, str, engine.Facts]],
    start: datetime,
    end: datetime,
    at: datetime,
    zone: ZoneInfo,
    label: str,
) -> SafeString:
    """SVG for `rows` = (title, kind, status at `at`, facts) between `start` and `end`."""
    scale = _Scale(start, end)
    height = TOP + ROW * len(rows) + 16
    # The instant shown is labelled above the tick labels, and placed first so that a
    # tick label gives way to it, never the reverse.
    header = Lanes(TOP - 34, TOP - 18)
    now_label = _now_label(scale, at, label, header) if scale.inside(at) else ""
    parts = [_axis(scale, zone, height, header)]
    sentences: list[str] = []
    for i, (title, kind, status, facts) in enumerate(rows):
        row = _Row(
            scale, zone, at, TOP + i * ROW, status, facts,
            changes=sorted(
                (c for c in facts.changes if c.agreed_at <= at),
                key=lambda c: (c.agreed_at, c.id or 0),
            ),
            reports=sorted(
                (r for r in facts.reports if r.occurred_at <= at),
                key=lambda r: (r.occurred_at, r.id or 0),
            ),
        )
        row.history = engine.timeline(facts, at)
        _DRAW_BY_KIND.get(kind, _draw_open)(row)
        _draw_disputes(row)
        if kind != V.ONGOING:
            _draw_end(row)
        if facts.text_dispute:
            title = f"{title} ⚑ {_('contested text')}"
        status_label = V.STATUS_LABELS.get(status, status)
        parts.append(_row_group(row, title, status_label))
        facts_said = ", ".join(row.said) or _("nothing yet")
        sentences.append(f"{title} ({status_label}): {facts_said}.")
    if scale.inside(at):
        parts.append(_now_line(scale, at, height, now_label))
    desc = " ".join(sentences) or _("No obligation to draw.")
    return _figure(parts, height, scale, zone, label, desc)


def _axis(scale: _Scale, zone: ZoneInfo, height: int, header: Lanes) -> str:
    """The time axis with a tick line at each period's start, labelled where there is
    room in the header."""
    x = scale.x
    parts = [
        f'<line class="tl-axis" x1="{LEFT}" y1="{TOP - 14}" x2="{WIDTH - RIGHT}" y2="{TOP - 14}"/>'
    ]
    for t, text in ticks(scale.start, scale.end, zone):
        parts.append(
            f'<line class="tl-tick" x1="{x(t)}" y1="{TOP - 16}" x2="{x(t)}" y2="{height - 10}"/>'
            + header.text(x(t) - 5, text, (TOP - 18,), css="tl-tick-label")
        )
    return "".join(parts)


def _row_group(row: _Row, title: str, status_label: str) -> str:
    """The row's title, its track line and its marks, titled with its status."""
    label_text = escape(title)
    return (
        f'<g class="tl-row tl-status-{escape(row.status)}"><title>{label_text}: '
        f"{escape(status_label)}</title>"
        f'<text class="tl-row-label" x="{LEFT}" y="{row.top + TITLE_Y}">{label_text}</text>'
        f'<line class="tl-track" x1="{LEFT}" y1="{row.track}" x2="{WIDTH - RIGHT}" '
        f'y2="{row.track}"/>'
        f"{''.join(row.marks)}</g>"
    )


def _draw_deadline(row: _Row) -> None:
    due = _draw_moves(row)
    done = next((t.at for t in row.history
                 if t.to_status in (V.COMPLETED, V.COMPLETED_LATE)), None)
    if due:
        _draw_due(row, due)
    if done:
        _draw_done(row, done)


def _draw_moves(row: _Row) -> date | None:
    """Each agreed move of the deadline, as an arrow from the old date to the new one;
    returns the deadline in force at the page's instant."""
    x, zone, track = row.scale.x, row.zone, row.track
    due = row.facts.original_due_date
    if due:
        row.said.append(_("due by %(date)s") % {"date": _date(due)})
    for c in row.changes:
        old_at = engine.due_instant(due, zone) if due else None
        new_at = engine.due_instant(c.due_date, zone)
        if old_at and (row.scale.inside(old_at) or row.scale.inside(new_at)):
            x1, x2 = x(old_at), x(new_at)
            mid = (x1 + x2) / 2
            row.marks.append(_mark(
                "tl-move",
                _("Deadline moved from %(old)s to %(new)s, agreed %(agreed)s")
                % {"old": _md(due), "new": _date(c.due_date), "agreed": _day(c.agreed_at, zone)},
                f'<path class="tl-move-arrow" d="M{x1},{track} Q{mid},{track - 26} '
                f'{x2},{track}" marker-end="url(#tl-arrow)"/>'
                f'<rect class="tl-old-due" x="{x1 - 4}" y="{track - 4}" width="8" '
                f'height="8" transform="rotate(45 {x1} {track})"/>',
                row.lanes.text(min(x1, x2), _("moved %(old)s → %(new)s")
                               % {"old": _md(due), "new": _md(c.due_date)}, row.above),
            ))
        row.said.append(
            _("moved to %(new)s (agreed %(agreed)s)")
            % {"new": _date(c.due_date), "agreed": _day(c.agreed_at, zone)}
        )
        due = c.due_date
    return due


def _spans(row: _Row, status: str) -> list[tuple[datetime, datetime | None]]:
    """The stretches of the row's history in `status`: (from, to), `to` None while it
    still holds at the page's instant."""
    spans: list[tuple[datetime, datetime | None]] = []
    began = None
    for t in row.history:
        if t.to_status == status and began is None:
            began = t.at
        elif t.to_status != status and began is not None:
            spans.append((began, t.at))
            began = None
    if began is not None:
        spans.append((began, None))
    return spans


def _draw_due(row: _Row, due: date) -> None:
    """The deadline in force, and each stretch the term was overdue (until done, or
    now)."""
    x, zone, track = row.scale.x, row.zone, row.track
    due_at = engine.due_instant(due, zone)
    if row.scale.inside(due_at):
        row.marks.append(_mark(
            "tl-due", _("Due by %(date)s") % {"date": _date(due)},
            f'<rect class="tl-due-mark" x="{x(due_at) - 5}" y="{track - 5}" '
            f'width="10" height="10" transform="rotate(45 {x(due_at)} {track})"/>',
            row.lanes.text(x(due_at), _("due %(date)s") % {"date": _md(due)}, row.below),
        ))
    for began, until in _spans(row, V.OVERDUE):
        row.marks.append(_bar(
            "tl-span-overdue", x(began), x(until or row.at), track, 8,
            _("Overdue from %(date)s") % {"date": _day(began, zone)},
        ))
        row.said.append(_("overdue from %(date)s") % {"date": _day(began, zone)})


def _draw_done(row: _Row, done_at: datetime) -> None:
    x, zone, track = row.scale.x, row.zone, row.track
    late = row.status == V.COMPLETED_LATE
    css = "tl-done-late" if late else "tl-done"
    words = _("done late %(date)s") if late else _("done %(date)s")
    if row.scale.inside(done_at):
        cx = x(done_at)
        row.marks.append(_mark(
            css, _("Completed %(date)s") % {"date": _day(done_at, zone)},
            f'<circle cx="{cx}" cy="{track}" r="6"/>',
            row.lanes.text(cx, words % {"date": _short(done_at, zone)}, row.above),
        ))
    row.said.append(words % {"date": _day(done_at, zone)})


def _draw_ongoing(row: _Row) -> None:
    """The bar while in force, its violations, and its end once it has come (or, while
    a renewable term runs, its notice deadline and end ahead)."""
    x, zone, track, facts = row.scale.x, row.zone, row.track, row.facts
    begin = facts.starts_at or facts.effective_at
    # Its end: terminated (its term's end, a report, a later agreement), superseded or
    # overtaken, whichever the engine found first.
    finish = next((t.at for t in row.history if t.to_status in ENDED), None)
    bar_end = finish or row.at
    if bar_end > begin:
        row.marks.append(_bar(
            "tl-span-force", x(begin), x(bar_end), track, 6,
            _("In force from %(date)s") % {"date": _day(begin, zone)},
        ))
    row.said.append(_("in force from %(date)s") % {"date": _day(begin, zone)})
    _draw_violations(row)
    if finish and row.scale.inside(finish):
        row.marks.append(_mark(
            "tl-ended", _("Ended %(date)s") % {"date": _day(finish, zone)},
            f'<rect x="{x(finish) - 5}" y="{track - 5}" width="10" height="10"/>',
            row.lanes.text(x(finish), _("ended %(date)s") % {"date": _short(finish, zone)},
                           row.above),
        ))
        row.said.append(_("ended %(date)s") % {"date": _day(finish, zone)})
    elif row.status not in ENDED:
        _draw_term_dates(row)


def _draw_violations(row: _Row) -> None:
    """Each stretch the term stood violated, from its start to its end (or now)."""
    zone = row.zone
    for began, until in _spans(row, V.VIOLATED):
        if until is None:
            row.marks.append(_violation(row, began, row.at, ongoing=True))
            row.said.append(_("violated since %(date)s") % {"date": _day(began, zone)})
        else:
            row.marks.append(_violation(row, began, until))
            row.said.append(
                _("violated %(start)s to %(end)s")
                % {"start": _day(began, zone), "end": _day(until, zone)}
            )


def _draw_disputes(row: _Row) -> None:
    """Each stretch the term stood disputed (conflicting accounts, or contested text),
    drawn apart from any breach."""
    x, zone, track = row.scale.x, row.zone, row.track
    for began, until in _spans(row, V.DISPUTED):
        end = until or row.at
        if row.facts.text_dispute:
            words = _("contested text from %(date)s") % {"date": _day(began, zone)}
        elif until is None:
            words = _("disputed since %(date)s") % {"date": _day(began, zone)}
        else:
            words = _("disputed %(start)s to %(end)s") % {
                "start": _day(began, zone), "end": _day(until, zone)}
        row.marks.append(_mark(
            "tl-disputed", words,
            f'<rect class="tl-span tl-span-disputed" x="{x(began)}" y="{track - 5}" '
            f'width="{max(2.0, x(end) - x(began))}" height="10"/>',
            row.lanes.text(x(began) - 8, words, row.below),
        ))
        row.said.append(words)



def _draw_end(row: _Row) -> None:
    """A deadline or open term's end without completion: superseded, overtaken or
    terminated, from the engine's history."""
    x, zone, track = row.scale.x, row.zone, row.track
    end = next((t for t in row.history if t.to_status in ENDED), None)
    if end is None:
        return
    words = _("%(status)s %(date)s") % {
        "status": str(V.STATUS_LABELS.get(end.to_status, end.to_status)).lower(),
        "date": _day(end.at, zone)}
    if row.scale.inside(end.at):
        row.marks.append(_mark(
            "tl-ended", words,
            f'<rect x="{x(end.at) - 5}" y="{track - 5}" width="10" height="10"/>',
            row.lanes.text(x(end.at), words, row.above),
        ))
    row.said.append(words)


def _draw_term_dates(row: _Row) -> None:
    """A running renewable term's notice deadline and end ahead, as deadlines."""
    x, zone, track = row.scale.x, row.zone, row.track
    for words, when in _term_dates(row.facts, row.at):
        if row.scale.inside(when):
            row.marks.append(_mark(
                "tl-term-date", words % {"date": _day(when, zone)},
                f'<rect class="tl-due-mark" x="{x(when) - 5}" '
                f'y="{track - 5}" width="10" height="10" '
                f'transform="rotate(45 {x(when)} {track})"/>',
                row.lanes.text(x(when), words % {"date": _short(when, zone)}, row.below),
            ))
        row.said.append(words % {"date": _day(when, zone)})


def _draw_open(row: _Row) -> None:
    """Progress and completion reports of a term with no date set."""
    x, zone, track = row.scale.x, row.zone, row.track
    for r in row.reports:
        if r.claim not in (V.CLAIM_PROGRESS, V.CLAIM_COMPLETED):
            continue
        css = "progress" if r.claim == V.CLAIM_PROGRESS else "done"
        words, title_words = (
            (_("progress %(date)s"), _("Progress %(date)s")) if css == "progress"
            else (_("done %(date)s"), _("Done %(date)s"))
        )
        if row.scale.inside(r.occurred_at):
            cx = x(r.occurred_at)
            row.marks.append(_mark(
                f"tl-{css}", title_words % {"date": _day(r.occurred_at, zone)},
                f'<path d="M{cx - 6},{track + 5} L{cx},{track - 6} L{cx + 6},{track + 5}Z"/>',
                row.lanes.text(cx, words % {"date": _short(r.occurred_at, zone)}, row.above),
            ))
        row.said.append(words % {"date": _day(r.occurred_at, zone)})
    if not row.reports:
        row.said.append(_("no date set, nothing reported"))


def _violation(row: _Row, begin: datetime, end: datetime, ongoing: bool = False) -> str:
    """A violation's hatched span, labelled below the track."""
    x, zone = row.scale.x, row.zone
    until = _("ongoing") if ongoing else _("to %(date)s") % {"date": _short(end, zone)}
    return _mark(
        "tl-violation",
        _("Violated from %(date)s %(until)s") % {"date": _day(begin, zone), "until": until},
        f'<rect class="tl-span tl-span-violated" x="{x(begin)}" y="{row.track - 6}" '
        f'width="{max(2.0, x(end) - x(begin))}" height="12"/>',
        row.lanes.text(x(begin) - 8, _("violated %(date)s %(until)s")
                       % {"date": _short(begin, zone), "until": until}, row.below),
    )


def _mark(css: str, title: str, shape: str, label: str) -> str:
    """A mark on the track: its <title>, its shape and its placed label (SVG or "")."""
    return f'<g class="{css}"><title>{escape(title)}</title>{shape}{label}</g>'


def _bar(css: str, x1: float, x2: float, track: int, height: int, title: str) -> str:
    """A stretch of time on the track (at least a pixel wide, so it is never lost)."""
    return (
        f'<rect class="tl-span {css}" x="{x1}" y="{track - height // 2}" '
        f'width="{max(1.0, x2 - x1)}" height="{height}"><title>{escape(title)}</title></rect>'
    )


# Any other kind draws as an open term: its reports alone.
_DRAW_BY_KIND: dict[str, Callable[[_Row], None]] = {
    V.DEADLINE: _draw_deadline,
    V.ONGOING: _draw_ongoing,
}


def _now_label(scale: _Scale, at: datetime, label: str, header: Lanes) -> str:
    return header.text(scale.x(at) - 16 - text_width(label, 12), label, (TOP - 34,),
                       css="tl-now-label", size=12)


def _now_line(scale: _Scale, at: datetime, height: int, now_label: str) -> str:
    x = scale.x(at)
    return (
        f'<g class="tl-now"><line x1="{x}" y1="{TOP - 30}" x2="{x}" '
        f'y2="{height - 6}"/>{now_label}</g>'
    )


def _figure(
    parts: list[str], height: int, scale: _Scale, zone: ZoneInfo, label: str, desc: str
) -> SafeString:
    """The <svg> element: its title and description, the shared arrow head and hatching."""
    title = _("Timeline from %(start)s to %(end)s, %(shown)s") % {
        "start": _day(scale.start, zone), "end": _day(scale.end, zone), "shown": label,
    }
    svg = (
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="tl-title tl-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="tl-title">{escape(title)}</title><desc id="tl-desc">{escape(desc)}</desc>'
        '<defs><marker id="tl-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10z" '
        'class="tl-arrow-head"/></marker>'
        '<pattern id="tl-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="tl-hatch-bg"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="tl-hatch-line"/></pattern></defs>'
        f"{''.join(parts)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every interpolated text is escaped above
