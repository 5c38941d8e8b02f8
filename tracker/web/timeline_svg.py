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

from django.utils.safestring import SafeString, mark_safe

from deadlines import engine
from tracker import vocabulary as V

WIDTH = 960
LEFT = 12
RIGHT = 24
TOP = 40
ROW = 46
WINDOWS = ("around", "deadlines", "all")
WINDOW_LABELS = {
    "around": "six weeks around the date shown",
    "deadlines": "around the deadlines",
    "all": "whole period",
}


def _day(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.day} {local:%b %Y}"


def _short(at: datetime, zone: ZoneInfo) -> str:
    local = at.astimezone(zone)
    return f"{local.day} {local:%b}"


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
    for _, _, _, facts in rows:
        zone = facts.zone
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
    drawn for them and the same said in words (the figure's description)."""

    scale: _Scale
    zone: ZoneInfo
    at: datetime
    track: int
    status: str
    facts: engine.Facts
    changes: list[engine.DeadlineChangeFact]
    reports: list[engine.ReportFact]
    marks: list[str] = field(default_factory=list)
    said: list[str] = field(default_factory=list)


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
    parts = [_axis(scale, zone, height)]
    sentences: list[str] = []
    for i, (title, kind, status, facts) in enumerate(rows):
        row = _Row(
            scale, zone, at, TOP + i * ROW + 30, status, facts,
            changes=sorted(
                (c for c in facts.changes if c.agreed_at <= at),
                key=lambda c: (c.agreed_at, c.id or 0),
            ),
            reports=sorted(
                (r for r in facts.reports if r.occurred_at <= at),
                key=lambda r: (r.occurred_at, r.id or 0),
            ),
        )
        _DRAW_BY_KIND.get(kind, _draw_open)(row)
        status_label = V.STATUS_LABELS.get(status, status)
        parts.append(_row_group(row, title, status_label))
        sentences.append(f"{title} ({status_label}): {', '.join(row.said) or 'nothing yet'}.")
    if scale.inside(at):
        parts.append(_now_line(scale, at, height, label))
    desc = " ".join(sentences) or "No obligation to draw."
    return _figure(parts, height, scale, zone, label, desc)


def _axis(scale: _Scale, zone: ZoneInfo, height: int) -> str:
    """The time axis with a tick line and label at each period's start."""
    x = scale.x
    parts = [
        f'<line class="tl-axis" x1="{LEFT}" y1="{TOP - 14}" x2="{WIDTH - RIGHT}" y2="{TOP - 14}"/>'
    ]
    for t, text in _ticks(scale.start, scale.end, zone):
        parts.append(
            f'<line class="tl-tick" x1="{x(t)}" y1="{TOP - 18}" x2="{x(t)}" y2="{height - 10}"/>'
            f'<text class="tl-tick-label" x="{x(t) + 3}" y="{TOP - 20}">{escape(text)}</text>'
        )
    return "".join(parts)


def _row_group(row: _Row, title: str, status_label: str) -> str:
    """The row's label, its track line and its marks, titled with its status."""
    track = row.track
    label_text = escape(title)
    return (
        f'<g class="tl-row tl-status-{escape(row.status)}"><title>{label_text}: '
        f"{escape(status_label)}</title>"
        f'<text class="tl-row-label" x="{LEFT}" y="{track - 18}">{label_text}</text>'
        f'<line class="tl-track" x1="{LEFT}" y1="{track}" x2="{WIDTH - RIGHT}" y2="{track}"/>'
        f"{''.join(row.marks)}</g>"
    )


def _draw_deadline(row: _Row) -> None:
    due = _draw_moves(row)
    done = next((r for r in row.reports if r.claim == V.CLAIM_COMPLETED), None)
    if due:
        _draw_due(row, due, done)
    if done:
        _draw_done(row, done)


def _draw_moves(row: _Row) -> date | None:
    """Each agreed move of the deadline, as an arrow from the old date to the new one;
    returns the deadline in force at the page's instant."""
    x, zone, track = row.scale.x, row.zone, row.track
    due = row.facts.original_due_date
    if due:
        row.said.append(f"due by {due:%-d %b %Y}")
    for c in row.changes:
        old_at = engine.due_instant(due, zone) if due else None
        new_at = engine.due_instant(c.due_date, zone)
        if old_at and (row.scale.inside(old_at) or row.scale.inside(new_at)):
            x1, x2 = x(old_at), x(new_at)
            mid = (x1 + x2) / 2
            row.marks.append(
                f'<g class="tl-move"><title>Deadline moved from {due:%-d %b} to '
                f'{c.due_date:%-d %b %Y}, agreed {_day(c.agreed_at, zone)}</title>'
                f'<path class="tl-move-arrow" d="M{x1},{track} Q{mid},{track - 26} '
                f'{x2},{track}" marker-end="url(#tl-arrow)"/>'
                f'<rect class="tl-old-due" x="{x1 - 4}" y="{track - 4}" width="8" '
                f'height="8" transform="rotate(45 {x1} {track})"/>'
                + (
                    f'<text class="tl-mark-label" x="{mid}" y="{track - 16}" '
                    f'text-anchor="middle">moved {due:%-d %b} → {c.due_date:%-d %b}'
                    "</text>"
                    if abs(x2 - x1) >= 90  # too short to label: the <title> says it
                    else ""
                )
                + "</g>"
            )
        row.said.append(f"moved to {c.due_date:%-d %b %Y} (agreed {_day(c.agreed_at, zone)})")
        due = c.due_date
    return due


def _draw_due(row: _Row, due: date, done: engine.ReportFact | None) -> None:
    """The deadline in force, and the overdue stretch after it until done (or now)."""
    x, zone, track = row.scale.x, row.zone, row.track
    due_at = engine.due_instant(due, zone)
    if row.scale.inside(due_at):
        row.marks.append(
            f'<g class="tl-due"><title>Due by {due:%-d %b %Y}</title>'
            f'<rect class="tl-due-mark" x="{x(due_at) - 5}" y="{track - 5}" '
            f'width="10" height="10" transform="rotate(45 {x(due_at)} {track})"/>'
            f'<text class="tl-mark-label" x="{x(due_at) + 8}" y="{track + 14}">'
            f"due {due:%-d %b}</text></g>"
        )
    late_until = done.occurred_at if done else row.at
    if late_until > due_at:
        row.marks.append(_bar(
            "tl-span-overdue", x(due_at), x(late_until), track, 8,
            f"Overdue from {_day(due_at, zone)}",
        ))
        row.said.append(f"overdue from {_day(due_at, zone)}")


def _draw_done(row: _Row, done: engine.ReportFact) -> None:
    x, zone, track = row.scale.x, row.zone, row.track
    late = row.status == V.COMPLETED_LATE
    css = "tl-done-late" if late else "tl-done"
    word = "done late" if late else "done"
    if row.scale.inside(done.occurred_at):
        row.marks.append(_mark(
            css, f"Completed {_day(done.occurred_at, zone)}",
            f'<circle cx="{x(done.occurred_at)}" cy="{track}" r="6"/>',
            x(done.occurred_at), track, f"{word} {_short(done.occurred_at, zone)}",
        ))
    row.said.append(f"{word} {_day(done.occurred_at, zone)}")


def _draw_ongoing(row: _Row) -> None:
    """The bar while in force, its violations, and its end once it has come."""
    x, zone, track, facts = row.scale.x, row.zone, row.track, row.facts
    begin = facts.starts_at or facts.effective_at
    finish = None
    termination = next((r for r in row.reports if r.claim == V.CLAIM_TERMINATED), None)
    for candidate in (facts.ends_at, termination.occurred_at if termination else None):
        if candidate and candidate <= row.at:
            finish = min(finish or candidate, candidate)
    bar_end = finish or row.at
    if bar_end > begin:
        row.marks.append(_bar(
            "tl-span-force", x(begin), x(bar_end), track, 6, f"In force from {_day(begin, zone)}"
        ))
    row.said.append(f"in force from {_day(begin, zone)}")
    _draw_violations(row)
    if finish and row.scale.inside(finish):
        row.marks.append(_mark(
            "tl-ended", f"Ended {_day(finish, zone)}",
            f'<rect x="{x(finish) - 5}" y="{track - 5}" width="10" height="10"/>',
            x(finish), track, f"ended {_short(finish, zone)}",
        ))
        row.said.append(f"ended {_day(finish, zone)}")


def _draw_violations(row: _Row) -> None:
    """Each reported violation, from its start to its end (or termination, or now)."""
    x, zone, track = row.scale.x, row.zone, row.track
    open_from = None
    for r in row.reports:
        if r.claim == V.CLAIM_VIOLATION and open_from is None:
            open_from = r.occurred_at
        elif r.claim in (V.CLAIM_VIOLATION_ENDED, V.CLAIM_TERMINATED) and open_from:
            row.marks.append(_violation(x, open_from, r.occurred_at, track, zone))
            row.said.append(f"violated {_day(open_from, zone)} to {_day(r.occurred_at, zone)}")
            open_from = None
    if open_from:
        row.marks.append(_violation(x, open_from, row.at, track, zone, ongoing=True))
        row.said.append(f"violated since {_day(open_from, zone)}")


def _draw_open(row: _Row) -> None:
    """Progress and completion reports of a term with no date set."""
    x, zone, track = row.scale.x, row.zone, row.track
    for r in row.reports:
        if r.claim not in (V.CLAIM_PROGRESS, V.CLAIM_COMPLETED):
            continue
        word = "progress" if r.claim == V.CLAIM_PROGRESS else "done"
        if row.scale.inside(r.occurred_at):
            cx = x(r.occurred_at)
            row.marks.append(_mark(
                f"tl-{word}", f"{word.capitalize()} {_day(r.occurred_at, zone)}",
                f'<path d="M{cx - 6},{track + 5} L{cx},{track - 6} L{cx + 6},{track + 5}Z"/>',
                cx, track, f"{word} {_short(r.occurred_at, zone)}",
            ))
        row.said.append(f"{word} {_day(r.occurred_at, zone)}")
    if not row.reports:
        row.said.append("no date set, nothing reported")


def _mark(css: str, title: str, shape: str, at_x: float, track: int, label: str) -> str:
    """A mark on the track with its <title>, and its label to the right of it."""
    return (
        f'<g class="{css}"><title>{title}</title>{shape}'
        f'<text class="tl-mark-label" x="{at_x + 8}" y="{track - 6}">{label}</text></g>'
    )


def _bar(css: str, x1: float, x2: float, track: int, height: int, title: str) -> str:
    """A stretch of time on the track (at least a pixel wide, so it is never lost)."""
    return (
        f'<rect class="tl-span {css}" x="{x1}" y="{track - height // 2}" '
        f'width="{max(1.0, x2 - x1)}" height="{height}"><title>{title}</title></rect>'
    )


# Any other kind draws as an open term: its reports alone.
_DRAW_BY_KIND: dict[str, Callable[[_Row], None]] = {
    V.DEADLINE: _draw_deadline,
    V.ONGOING: _draw_ongoing,
}


def _now_line(scale: _Scale, at: datetime, height: int, label: str) -> str:
    x = scale.x(at)
    return (
        f'<g class="tl-now"><line x1="{x}" y1="{TOP - 26}" x2="{x}" '
        f'y2="{height - 6}"/><text x="{x - 4}" y="{TOP - 28}" text-anchor="end">'
        f"{escape(label)}</text></g>"
    )


def _figure(
    parts: list[str], height: int, scale: _Scale, zone: ZoneInfo, label: str, desc: str
) -> SafeString:
    """The <svg> element: its title and description, the shared arrow head and hatching."""
    svg = (
        f'<svg class="timeline" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="tl-title tl-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="tl-title">Timeline from {_day(scale.start, zone)} to '
        f"{_day(scale.end, zone)}, "
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
    x: Callable[[datetime], float], begin: datetime, end: datetime, track: float,
    zone: ZoneInfo, ongoing: bool = False,
) -> str:
    until = "ongoing" if ongoing else f"to {_short(end, zone)}"
    return (
        f'<g class="tl-violation"><title>Violated from {_day(begin, zone)} {until}</title>'
        f'<rect class="tl-span tl-span-violated" x="{x(begin)}" y="{track - 6}" '
        f'width="{max(2.0, x(end) - x(begin))}" height="12"/>'
        f'<text class="tl-mark-label" x="{x(begin)}" y="{track + 18}">violated '
        f"{_short(begin, zone)} {until}</text></g>"
    )
