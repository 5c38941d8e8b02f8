"""The agreement timeline, drawn as SVG on the server.

One row per obligation: each deadline (a diamond), each agreed move of a deadline
(an arrow from the old date to the new one: Kalbajar 15 -> 25 November), each
completion (a circle), overdue stretches and violation spans of ongoing terms
(hatched bars). Only facts that held at the page's instant are drawn. Every mark
carries a text label and a <title>, and the whole figure has a <title>/<desc>, so
the picture never depends on colour alone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import escape
from zoneinfo import ZoneInfo

from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

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
WINDOW_LABELS = {
    "around": "six weeks around the date shown",
    "deadlines": "around the deadlines",
    "all": "whole period",
}


@dataclass
class Row:
    title: str
    kind: str
    status: str
    facts: engine.Facts
    marks: list[str] = field(default_factory=list)
    sentence: list[str] = field(default_factory=list)


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


def _day(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.day} {local:%b %Y}"


def _short(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.day} {local:%b}"


def _term_dates(facts: engine.Facts, at: datetime) -> list[tuple[str, datetime]]:
    """A renewable term's notice deadline and end ahead at `at`, as the engine counts
    them (renewals rolled forward)."""
    dates = [
        (gettext("notice by"), engine.notice_deadline(facts, at)),
        (gettext("term ends"), engine.term_end(facts, at)),
    ]
    return [(what, when) for what, when in dates if when is not None and when > at]


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
    for _, _, status, facts in rows:
        zone = facts.zone
        if status != V.TERMINATED:
            due_dates += [when for _, when in _term_dates(facts, at)]
        for due in {facts.original_due_date, *(c.due_date for c in facts.changes)} - {None}:
            due_dates.append(engine.due_instant(due, zone))
        for instant in [c.agreed_at for c in facts.changes] + [
            r.occurred_at for r in facts.reports
        ]:
            last_fact = max(last_fact, instant)
    if which == "deadlines" and due_dates:
        end = max(max(due_dates) + timedelta(days=7), begin + timedelta(days=21))
        return begin, end
    end = max(at, last_fact, begin + timedelta(days=21))
    return begin, end + (end - begin) * 0.03


def _ticks(start: datetime, end: datetime, zone: ZoneInfo) -> list[tuple[datetime, str]]:
    span = end - start
    local = start.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
    ticks = []
    if span <= timedelta(days=75):
        t = local + timedelta(days=(7 - local.weekday()) % 7)  # Mondays
        while t <= end:
            ticks.append((t, f"{t.day} {t:%b}"))
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
                ticks.append((t, f"{t:%b %Y}"))
    else:
        for year in range(local.year + 1, end.year + 1):
            ticks.append((local.replace(year=year, month=1, day=1), str(year)))
    return ticks


def draw(
    rows: list[tuple[str, str, str, engine.Facts]],
    start: datetime,
    end: datetime,
    at: datetime,
    zone: ZoneInfo,
    label: str,
) -> SafeString:
    """SVG for `rows` = (title, kind, status at `at`, facts) between `start` and `end`."""
    span = (end - start).total_seconds() or 1.0
    inner = WIDTH - LEFT - RIGHT

    def x(t: datetime) -> float:
        clamped = min(max(t, start), end)
        return round(LEFT + (clamped - start).total_seconds() / span * inner, 1)

    def inside(t: datetime) -> bool:
        return start <= t <= end

    height = TOP + ROW * len(rows) + 16
    parts: list[str] = []
    sentences: list[str] = []

    # Axis with ticks; the instant shown is labelled above the tick labels.
    header = Lanes(TOP - 34, TOP - 18)
    now_label = ""
    if inside(at):
        # Placed first so that a tick label gives way to it, never the reverse.
        now_label = header.text(x(at) - 16 - text_width(label, 12), label, (TOP - 34,),
                                css="tl-now-label", size=12)
    parts.append(
        f'<line class="tl-axis" x1="{LEFT}" y1="{TOP - 14}" x2="{WIDTH - RIGHT}" y2="{TOP - 14}"/>'
    )
    for t, text in _ticks(start, end, zone):
        parts.append(
            f'<line class="tl-tick" x1="{x(t)}" y1="{TOP - 16}" x2="{x(t)}" y2="{height - 10}"/>'
            + header.text(x(t) - 5, text, (TOP - 18,), css="tl-tick-label")
        )

    for i, (title, kind, status, facts) in enumerate(rows):
        y0 = TOP + i * ROW
        track = y0 + TRACK_Y
        lanes = Lanes(track + ABOVE, track + BELOW, track + BELOW_2)
        above = (track + ABOVE, track + BELOW, track + BELOW_2)
        below = (track + BELOW, track + BELOW_2, track + ABOVE)
        marks: list[str] = []
        said: list[str] = []
        label_text = escape(title)
        marks.append(
            f'<text class="tl-row-label" x="{LEFT}" y="{y0 + TITLE_Y}">{label_text}</text>'
        )
        marks.append(
            f'<line class="tl-track" x1="{LEFT}" y1="{track}" x2="{WIDTH - RIGHT}" y2="{track}"/>'
        )
        changes = sorted(
            (c for c in facts.changes if c.agreed_at <= at), key=lambda c: (c.agreed_at, c.id or 0)
        )
        reports = sorted(
            (r for r in facts.reports if r.occurred_at <= at),
            key=lambda r: (r.occurred_at, r.id or 0),
        )
        if kind == V.DEADLINE:
            due = facts.original_due_date
            if due:
                said.append(f"due by {due:%-d %b %Y}")
            for c in changes:
                old_at = engine.due_instant(due, zone) if due else None
                new_at = engine.due_instant(c.due_date, zone)
                if old_at and (inside(old_at) or inside(new_at)):
                    x1, x2 = x(old_at), x(new_at)
                    mid = (x1 + x2) / 2
                    marks.append(
                        f'<g class="tl-move"><title>Deadline moved from {due:%-d %b} to '
                        f'{c.due_date:%-d %b %Y}, agreed {_day(c.agreed_at, zone)}</title>'
                        f'<path class="tl-move-arrow" d="M{x1},{track} Q{mid},{track - 26} '
                        f'{x2},{track}" marker-end="url(#tl-arrow)"/>'
                        f'<rect class="tl-old-due" x="{x1 - 4}" y="{track - 4}" width="8" '
                        f'height="8" transform="rotate(45 {x1} {track})"/>'
                        + lanes.text(min(x1, x2), f"moved {due:%-d %b} → {c.due_date:%-d %b}",
                                     above)
                        + "</g>"
                    )
                said.append(
                    f"moved to {c.due_date:%-d %b %Y} (agreed {_day(c.agreed_at, zone)})"
                )
                due = c.due_date
            done = next((r for r in reports if r.claim == V.CLAIM_COMPLETED), None)
            if due:
                due_at = engine.due_instant(due, zone)
                if inside(due_at):
                    marks.append(
                        f'<g class="tl-due"><title>Due by {due:%-d %b %Y}</title>'
                        f'<rect class="tl-due-mark" x="{x(due_at) - 5}" y="{track - 5}" '
                        f'width="10" height="10" transform="rotate(45 {x(due_at)} {track})"/>'
                        + lanes.text(x(due_at), f"due {due:%-d %b}", below)
                        + "</g>"
                    )
                late_until = done.occurred_at if done else at
                if late_until > due_at:
                    marks.append(
                        f'<rect class="tl-span tl-span-overdue" x="{x(due_at)}" y="{track - 4}" '
                        f'width="{max(1.0, x(late_until) - x(due_at))}" height="8">'
                        f"<title>Overdue from {_day(due_at, zone)}</title></rect>"
                    )
                    said.append(f"overdue from {_day(due_at, zone)}")
            if done:
                css = "tl-done-late" if status == V.COMPLETED_LATE else "tl-done"
                word = "done late" if status == V.COMPLETED_LATE else "done"
                if inside(done.occurred_at):
                    marks.append(
                        f'<g class="{css}"><title>Completed {_day(done.occurred_at, zone)}</title>'
                        f'<circle cx="{x(done.occurred_at)}" cy="{track}" r="6"/>'
                        + lanes.text(x(done.occurred_at),
                                     f"{word} {_short(done.occurred_at, zone)}", above)
                        + "</g>"
                    )
                said.append(f"{word} {_day(done.occurred_at, zone)}")
        elif kind == V.ONGOING:
            begin = facts.starts_at or facts.effective_at
            finish = None
            termination = next((r for r in reports if r.claim == V.CLAIM_TERMINATED), None)
            for candidate in (facts.ends_at, termination.occurred_at if termination else None):
                if candidate and candidate <= at:
                    finish = min(finish or candidate, candidate)
            bar_end = finish or at
            if bar_end > begin:
                marks.append(
                    f'<rect class="tl-span tl-span-force" x="{x(begin)}" y="{track - 3}" '
                    f'width="{max(1.0, x(bar_end) - x(begin))}" height="6">'
                    f"<title>In force from {_day(begin, zone)}</title></rect>"
                )
            said.append(f"in force from {_day(begin, zone)}")
            open_from = None
            for r in reports:
                if r.claim == V.CLAIM_VIOLATION and open_from is None:
                    open_from = r.occurred_at
                elif r.claim in (V.CLAIM_VIOLATION_ENDED, V.CLAIM_TERMINATED) and open_from:
                    marks.append(_violation(x, open_from, r.occurred_at, track, zone, lanes,
                                            below))
                    said.append(
                        f"violated {_day(open_from, zone)} to {_day(r.occurred_at, zone)}"
                    )
                    open_from = None
            if open_from:
                marks.append(_violation(x, open_from, at, track, zone, lanes, below,
                                        ongoing=True))
                said.append(f"violated since {_day(open_from, zone)}")
            if finish and inside(finish):
                marks.append(
                    f'<g class="tl-ended"><title>Ended {_day(finish, zone)}</title>'
                    f'<rect x="{x(finish) - 5}" y="{track - 5}" width="10" height="10"/>'
                    + lanes.text(x(finish), f"ended {_short(finish, zone)}", above)
                    + "</g>"
                )
                said.append(f"ended {_day(finish, zone)}")
            elif status != V.TERMINATED:
                for what, when in _term_dates(facts, at):
                    if inside(when):
                        marks.append(
                            f'<g class="tl-term-date"><title>{escape(what)} {_day(when, zone)}'
                            f'</title><rect class="tl-due-mark" x="{x(when) - 5}" '
                            f'y="{track - 5}" width="10" height="10" '
                            f'transform="rotate(45 {x(when)} {track})"/>'
                            + lanes.text(x(when), f"{what} {_short(when, zone)}", below)
                            + "</g>"
                        )
                    said.append(f"{what} {_day(when, zone)}")
        else:  # open
            for r in reports:
                if r.claim not in (V.CLAIM_PROGRESS, V.CLAIM_COMPLETED):
                    continue
                word = "progress" if r.claim == V.CLAIM_PROGRESS else "done"
                if inside(r.occurred_at):
                    cx = x(r.occurred_at)
                    marks.append(
                        f'<g class="tl-{"progress" if word == "progress" else "done"}">'
                        f"<title>{word.capitalize()} {_day(r.occurred_at, zone)}</title>"
                        f'<path d="M{cx - 6},{track + 5} L{cx},{track - 6} '
                        f'L{cx + 6},{track + 5}Z"/>'
                        + lanes.text(cx, f"{word} {_short(r.occurred_at, zone)}", above)
                        + "</g>"
                    )
                said.append(f"{word} {_day(r.occurred_at, zone)}")
            if not reports:
                said.append("no date set, nothing reported")
        status_label = V.STATUS_LABELS.get(status, status)
        parts.append(
            f'<g class="tl-row tl-status-{escape(status)}"><title>{label_text}: '
            f"{escape(status_label)}</title>{''.join(marks)}</g>"
        )
        sentences.append(f"{title} ({status_label}): {', '.join(said) or 'nothing yet'}.")

    if inside(at):
        parts.append(
            f'<g class="tl-now"><line x1="{x(at)}" y1="{TOP - 30}" x2="{x(at)}" '
            f'y2="{height - 6}"/>{now_label}</g>'
        )
    desc = " ".join(sentences) or "No obligation to draw."
    svg = (
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="tl-title tl-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="tl-title">Timeline from {_day(start, zone)} to {_day(end, zone)}, '
        f"{escape(label)}</title><desc id=\"tl-desc\">{escape(desc)}</desc>"
        '<defs><marker id="tl-arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10z" '
        'class="tl-arrow-head"/></marker>'
        '<pattern id="tl-hatch" width="6" height="6" patternUnits="userSpaceOnUse" '
        'patternTransform="rotate(45)"><rect width="6" height="6" class="tl-hatch-bg"/>'
        '<line x1="0" y1="0" x2="0" y2="6" class="tl-hatch-line"/></pattern></defs>'
        f"{''.join(parts)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every interpolated text is escaped above


def _violation(
    x, begin: datetime, end: datetime, track: float, zone, lanes: Lanes,
    order: tuple[float, ...], ongoing: bool = False,
) -> str:
    until = "ongoing" if ongoing else f"to {_short(end, zone)}"
    return (
        f'<g class="tl-violation"><title>Violated from {_day(begin, zone)} {until}</title>'
        f'<rect class="tl-span tl-span-violated" x="{x(begin)}" y="{track - 6}" '
        f'width="{max(2.0, x(end) - x(begin))}" height="12"/>'
        + lanes.text(x(begin) - 8, f"violated {_short(begin, zone)} {until}", order)
        + "</g>"
    )
