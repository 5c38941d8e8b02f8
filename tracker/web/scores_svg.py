"""Each party's score over time, drawn as SVG on the server (like the timeline).

One line per party on a 0-3 scale (docs/method.md), broken where the party has no
scored term; under the plot, one strip per party with a mark at each breach (✗) and
dispute (⇄) that moved its score. Lines differ by dash pattern and carry the party's
name at their end, marks differ by shape and carry a <title>, and the figure has a
<title>/<desc> saying the same in words, so nothing depends on colour. The page under
it gives the figures as a table and the marks as a list with links.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from html import escape
from zoneinfo import ZoneInfo

from django.utils.formats import date_format, number_format
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from tracker import vocabulary as V
from tracker.web.timeline_svg import Lanes, ticks

WIDTH = 960
LEFT = 40
RIGHT = 150  # room for the parties' names at the lines' ends
TOP = 36
PLOT = 180  # height of the 0-3 plot
STRIP = 26  # height of one party's strip of marks
MAX_SCORE = 3
# Dash patterns, one per party in turn (colour is never the only cue).
DASHES = ("", "8 4", "2 3", "10 3 2 3", "14 4", "4 4 1 4")


@dataclass(frozen=True)
class Mark:
    """A breach or dispute that moved a party's score: when, which status, on which term."""

    at: datetime
    status: str
    term: str


@dataclass(frozen=True)
class Series:
    """One party's line: (instant, score or None) points, and its marks."""

    party: str
    name: str
    points: tuple[tuple[datetime, float | None], ...]
    marks: tuple[Mark, ...] = ()


def _x(t: datetime, start: datetime, end: datetime) -> float:
    span = (end - start).total_seconds() or 1.0
    clamped = min(max(t, start), end)
    return round(LEFT + (clamped - start).total_seconds() / span * (WIDTH - LEFT - RIGHT), 1)


def _y(score: float) -> float:
    return round(TOP + PLOT - score / MAX_SCORE * PLOT, 1)


def _score(value: float) -> str:
    return number_format(value, 2)


def _day(at: datetime, zone: ZoneInfo) -> str:
    return date_format(at.astimezone(zone), "SHORT_DATE_FORMAT")


Point = tuple[datetime, float]


def _segments(points: tuple[tuple[datetime, float | None], ...]) -> list[list[Point]]:
    """The runs of consecutive points that have a score (a gap breaks the line)."""
    runs: list[list[Point]] = [[]]
    for at, score in points:
        if score is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append((at, score))
    return [r for r in runs if r]


def draw(series: list[Series], start: datetime, end: datetime, zone: ZoneInfo,
         label: str) -> SafeString:
    """SVG for `series` between `start` and `end` (`label`: what the page shows, e.g.
    "as of 24 Apr 2023")."""
    height = TOP + PLOT + 24 + STRIP * len(series) + 8
    parts = [_grid(start, end, zone, height)]
    sentences = []
    ends = Lanes(*(float(TOP + PLOT * i / 24) for i in range(25)))
    for i, s in enumerate(series):
        parts.append(_line(s, i, start, end, zone, ends))
        parts.append(_strip(s, i, start, end, zone))
        sentences.append(_said(s, zone))
    title = _("Party scores (0-3) from %(start)s to %(end)s, %(shown)s") % {
        "start": _day(start, zone), "end": _day(end, zone), "shown": label}
    desc = " ".join(sentences) or _("No party has a scored term.")
    svg = (
        f'<svg class="scores-chart" viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" '
        f'height="{height}" role="img" aria-labelledby="sc-title sc-desc" '
        f'xmlns="http://www.w3.org/2000/svg">'
        f'<title id="sc-title">{escape(title)}</title><desc id="sc-desc">{escape(desc)}</desc>'
        f"{''.join(parts)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every interpolated text is escaped above


def _grid(start: datetime, end: datetime, zone: ZoneInfo, height: int) -> str:
    """The score lines 0-3 (labelled) and a tick line per period (labelled on top)."""
    right = WIDTH - RIGHT
    parts = []
    for score in range(MAX_SCORE + 1):
        y = _y(score)
        parts.append(
            f'<line class="sc-grid" x1="{LEFT}" y1="{y}" x2="{right}" y2="{y}"/>'
            f'<text class="sc-axis-label" x="{LEFT - 8}" y="{y + 4}" text-anchor="end">'
            f"{score}</text>"
        )
    header = Lanes(TOP - 12)
    for t, text in ticks(start, end, zone):
        x = _x(t, start, end)
        parts.append(
            f'<line class="sc-tick" x1="{x}" y1="{TOP - 8}" x2="{x}" y2="{height - 6}"/>'
            + header.text(x - 5, text, css="sc-tick-label")
        )
    return "".join(parts)


def _line(s: Series, i: int, start: datetime, end: datetime, zone: ZoneInfo,
          ends: Lanes) -> str:
    """The party's score line (a path per unbroken run) and its name at its last point."""
    dash = DASHES[i % len(DASHES)]
    dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
    runs = _segments(s.points)
    paths = []
    for run in runs:
        d = "M" + " L".join(f"{_x(at, start, end)},{_y(score)}" for at, score in run)
        paths.append(f'<path class="sc-line sc-line-{i % len(DASHES)}" d="{d}"{dash_attr}/>')
        if len(run) == 1:  # a lone month: a dot, or it would not show
            at, score = run[0]
            paths.append(f'<circle class="sc-dot" cx="{_x(at, start, end)}" '
                         f'cy="{_y(score)}" r="2.5"/>')
    name = ""
    if runs:
        at, score = runs[-1][-1]
        x, y = _x(at, start, end), _y(score)
        spot = ends.place(WIDTH - RIGHT, s.name, _nearest(ends, y))
        if spot is not None:
            name = (f'<text class="sc-party-label" x="{WIDTH - RIGHT + 6}" y="{spot[1] + 4}">'
                    f"{escape(s.name)}</text>"
                    f'<line class="sc-leader" x1="{x}" y1="{y}" x2="{WIDTH - RIGHT + 4}" '
                    f'y2="{spot[1]}"/>')
    return (f'<g class="sc-party"><title>{escape(_said(s, zone))}</title>'
            f"{''.join(paths)}{name}</g>")


def _nearest(lanes: Lanes, y: float) -> tuple[float, ...]:
    return tuple(sorted(lanes.taken, key=lambda lane: abs(lane - y)))


def _strip(s: Series, i: int, start: datetime, end: datetime, zone: ZoneInfo) -> str:
    """The party's marks: ✗ for a breach, ⇄ for a dispute, each titled."""
    top = TOP + PLOT + 24 + STRIP * i
    mid = top + STRIP / 2
    parts = [
        f'<line class="sc-strip" x1="{LEFT}" y1="{mid}" x2="{WIDTH - RIGHT}" y2="{mid}"/>',
        f'<text class="sc-strip-name" x="{WIDTH - RIGHT + 6}" y="{mid + 4}">'
        f"{escape(s.name)}</text>",
    ]
    for m in s.marks:
        x = _x(m.at, start, end)
        breach = m.status in V.BREACHES
        words = _("%(status)s: %(term)s, %(date)s") % {
            "status": V.STATUS_LABELS.get(m.status, m.status), "term": m.term,
            "date": _day(m.at, zone)}
        shape = (
            f'<path class="sc-breach" d="M{x - 4},{mid - 4} L{x + 4},{mid + 4} '
            f'M{x - 4},{mid + 4} L{x + 4},{mid - 4}"/>' if breach else
            f'<rect class="sc-dispute" x="{x - 4}" y="{mid - 4}" width="8" height="8" '
            f'transform="rotate(45 {x} {mid})"/>'
        )
        parts.append(f'<g class="sc-mark sc-mark-{escape(m.status)}"><title>{escape(words)}'
                     f"</title>{shape}</g>")
    return f'<g class="sc-marks">{"".join(parts)}</g>'


def _said(s: Series, zone: ZoneInfo) -> str:
    """The party's line in words: its first and last score, its lowest, its marks."""
    scored = [(at, score) for at, score in s.points if score is not None]
    if not scored:
        return _("%(party)s: no scored term in this period.") % {"party": s.name}
    low_at, low = min(scored, key=lambda p: (p[1], p[0]))
    text = _("%(party)s: %(first)s on %(first_at)s, %(last)s on %(last_at)s, lowest %(low)s "
             "on %(low_at)s") % {
        "party": s.name, "first": _score(scored[0][1]), "first_at": _day(scored[0][0], zone),
        "last": _score(scored[-1][1]), "last_at": _day(scored[-1][0], zone),
        "low": _score(low), "low_at": _day(low_at, zone)}
    breaches = sum(1 for m in s.marks if m.status in V.BREACHES)
    disputes = len(s.marks) - breaches
    return text + "; " + _("breaches marked: %(breaches)d; disputes marked: %(disputes)d.") % {
        "breaches": breaches, "disputes": disputes}
