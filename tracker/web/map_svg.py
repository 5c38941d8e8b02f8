"""The region map, drawn as SVG on the server from a small committed outline file.

Country outlines: Natural Earth (public domain) via the npm package world-atlas,
clipped to the South Caucasus by `tools/build_map.py` (see static/map/README.md).
Projection: equirectangular, with longitudes scaled by cos(middle latitude), which
is faithful enough over eight degrees. Markers carry a number, a ring split by
status (each status's share of the place's obligations, so a completion is seen beside
what is still open) and a text label saying the mix in words; the numbered legend
under the map says the same. Corridors and routes are drawn as lines through their
points, with their marker at the middle point.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from html import escape
from pathlib import Path

from django.conf import settings
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import get_language, gettext, gettext_lazy

from tracker import vocabulary as V

MAP_FILE = Path(settings.BASE_DIR) / "static" / "map" / "south-caucasus.json"
WIDTH = 800


@dataclass(frozen=True)
class Marker:
    number: int
    label: str
    status: str
    latitude: float
    longitude: float
    url: str = ""
    key: int = 0  # the Location's pk
    # How many of the place's obligations are in each status, most pressing first.
    counts: tuple[tuple[str, int], ...] = ()
    # A corridor or route: (latitude, longitude) points in order; empty for a point.
    line: tuple[tuple[float, float], ...] = ()
    # Where the position comes from, and whether it is approximate (the file's note).
    note: str = ""

    @property
    def mix(self) -> str:
        """The statuses in words: "Overdue", or "1 completed, 2 pending" for a mix."""
        if len(self.counts) <= 1:
            return str(V.STATUS_LABELS.get(self.status, self.status))
        return ", ".join(
            f"{n} {str(V.STATUS_LABELS.get(status, status)).lower()}" for status, n in self.counts
        )


def position(
    latitude: float | None, longitude: float | None, line: list | tuple
) -> tuple[float, float] | None:
    """Where a place's marker goes: its point, else the middle point of its line."""
    if latitude is not None and longitude is not None:
        return latitude, longitude
    if line:
        lat, lon = line[len(line) // 2]
        return lat, lon
    return None


@lru_cache(maxsize=1)
def _outlines() -> dict:
    return json.loads(MAP_FILE.read_text())


@lru_cache(maxsize=1)
def _projection() -> tuple[float, float, float, float, float]:
    lon0, lat0, lon1, lat1 = _outlines()["bbox"]
    kx = math.cos(math.radians((lat0 + lat1) / 2))
    scale = WIDTH / ((lon1 - lon0) * kx)
    return lon0, lat1, kx, scale, (lat1 - lat0) * scale


def project(lon: float, lat: float) -> tuple[float, float]:
    lon0, lat_top, kx, scale, _ = _projection()
    return round((lon - lon0) * kx * scale, 1), round((lat_top - lat) * scale, 1)


def in_bounds(lon: float, lat: float) -> bool:
    lon0, lat0, lon1, lat1 = _outlines()["bbox"]
    return lon0 <= lon <= lon1 and lat0 <= lat <= lat1


# The outline file's country names, in the interface's languages.
COUNTRY_NAMES = {
    "Armenia": gettext_lazy("Armenia"),
    "Azerbaijan": gettext_lazy("Azerbaijan"),
    "Georgia": gettext_lazy("Georgia"),
    "Iran": gettext_lazy("Iran"),
    "Russia": gettext_lazy("Russia"),
    "Turkey": gettext_lazy("Turkey"),
}


@lru_cache(maxsize=8)
def _country_layer(language: str | None = None) -> tuple[
    str, tuple[str, ...], tuple[tuple[float, float, float, float], ...]
]:
    """The outlines and country names (with the names' boxes, which marker labels
    avoid): the same for every page in a `language`, drawn once."""
    paths, names, boxes = [], [], []
    for country in _outlines()["countries"]:
        name = str(COUNTRY_NAMES.get(country["name"], country["name"]))
        d = []
        biggest: list = []
        for ring in country["rings"]:
            points = [project(lon, lat) for lon, lat in ring]
            d.append("M" + "L".join(f"{px},{py}" for px, py in points) + "Z")
            if len(ring) > len(biggest):
                biggest = points
        paths.append(
            f'<path class="map-country" d="{"".join(d)}"><title>{escape(name)}'
            "</title></path>"
        )
        xs = [p[0] for p in biggest]
        ys = [p[1] for p in biggest]
        cx, cy = (min(xs) + max(xs)) / 2, (min(ys) + max(ys)) / 2
        half = 5.5 * len(name)
        boxes.append((cx - half, cy - 14, cx + half, cy + 4))
        names.append(
            f'<text class="map-country-name" x="{cx:.0f}" y="{cy:.0f}" text-anchor="middle">'
            f'{escape(name)}</text>'
        )
    return "".join(paths), tuple(names), tuple(boxes)


def _overlaps(box, boxes) -> bool:
    x0, y0, x1, y1 = box
    return any(not (x1 < a or x0 > c or y1 < b or y0 > d) for a, b, c, d in boxes)


def _spread(markers: list[Marker]) -> dict[int, tuple[float, float, float, float]]:
    """Marker positions (x, y, true x, true y): markers closer than a marker's width
    to one already placed move out on a ring around their true spot, so every
    number stays readable where places lie a few kilometres apart (the corridor)."""
    placed: dict[int, tuple[float, float, float, float]] = {}
    taken: list[tuple[float, float]] = []
    for m in markers:
        tx, ty = project(m.longitude, m.latitude)
        x, y = tx, ty
        step = 0
        while any((x - a) ** 2 + (y - b) ** 2 < 19**2 for a, b in taken) and step < 48:
            ring = 24 + 20 * (step // 8)
            angle = math.pi / 4 * (step % 8) - math.pi / 2
            x, y = round(tx + ring * math.cos(angle), 1), round(ty + ring * math.sin(angle), 1)
            step += 1
        taken.append((x, y))
        placed[m.number] = (x, y, tx, ty)
    return placed


def _ring(m: Marker, px: float, py: float) -> str:
    """The marker: a disc in its one status's colour, or a ring of arcs, one per status,
    each as long as that status's share."""
    if len(m.counts) <= 1:
        return (f'<circle class="map-marker status-fill-{escape(m.status)}" cx="{px}" '
                f'cy="{py}" r="9"/>')
    total = sum(n for _, n in m.counts)
    parts = [f'<circle class="map-marker map-marker-mixed" cx="{px}" cy="{py}" r="9"/>']
    angle = -math.pi / 2
    for status, n in m.counts:
        sweep = 2 * math.pi * n / total
        end = angle + sweep
        x0, y0 = px + 9 * math.cos(angle), py + 9 * math.sin(angle)
        x1, y1 = px + 9 * math.cos(end), py + 9 * math.sin(end)
        large = 1 if sweep > math.pi else 0
        parts.append(
            f'<path class="map-segment status-fill-{escape(status)}" d="M{px},{py} '
            f'L{x0:.1f},{y0:.1f} A9,9 0 {large} 1 {x1:.1f},{y1:.1f}Z"/>'
        )
        angle = end
    parts.append(f'<circle class="map-marker-edge" cx="{px}" cy="{py}" r="9"/>')
    return "".join(parts)


def draw(markers: list[Marker], title: str) -> SafeString:
    """SVG map with `markers`; labels that would collide are left to the legend."""
    _, _, _, _, height = _projection()
    height = round(height)
    countries, names, country_boxes = _country_layer(get_language())
    dots, labels = [], []
    routes = [
        '<polyline class="map-route" points="'
        + " ".join("{},{}".format(*project(lon, lat)) for lat, lon in m.line)
        + f'"><title>{escape(m.label)}</title></polyline>'
        for m in markers if len(m.line) >= 2
    ]
    where = _spread([m for m in markers if in_bounds(m.longitude, m.latitude)])
    marker_boxes = [(px - 11, py - 11, px + 11, py + 11) for px, py, _, _ in where.values()]
    # A country's name gives way to a marker on it (the outline still says the country).
    kept = [i for i, box in enumerate(country_boxes) if not _overlaps(box, marker_boxes)]
    countries += "".join(names[i] for i in kept)
    boxes = [country_boxes[i] for i in kept] + marker_boxes
    status_words = {m.number: m.mix for m in markers}
    for m in markers:
        if m.number not in where:
            continue
        px, py, true_x, true_y = where[m.number]
        if (px, py) != (true_x, true_y):
            # Moved off a crowded spot: a leader line and a dot keep the true place.
            dots.append(
                f'<line class="map-leader" x1="{true_x}" y1="{true_y}" x2="{px}" y2="{py}"/>'
                f'<circle class="map-true-spot" cx="{true_x}" cy="{true_y}" r="2"/>'
            )
        text = f"{m.label}: {status_words[m.number]}"
        width = 6.6 * len(text) + 6
        placed = None
        for dx, dy, anchor in ((12, 4, "start"), (-12, 4, "end"), (12, -12, "start"),
                               (12, 20, "start"), (-12, -12, "end"), (-12, 20, "end")):
            x0 = px + dx if anchor == "start" else px + dx - width
            box = (x0, py + dy - 12, x0 + width, py + dy + 3)
            if box[0] >= 0 and box[2] <= WIDTH and box[1] >= 0 and box[3] <= height and not (
                _overlaps(box, boxes)
            ):
                boxes.append(box)
                placed = (px + dx, py + dy, anchor)
                break
        dot = (
            _ring(m, px, py) + f'<text class="map-marker-number" x="{px}" y="{py + 4}" '
            f'text-anchor="middle">{m.number}</text>'
        )
        link_open = f'<a href="{escape(m.url)}">' if m.url else ""
        link_close = "</a>" if m.url else ""
        dots.append(
            f'<g class="map-place" data-status="{escape(m.status)}">{link_open}'
            f"<title>{m.number}. {escape(text)}</title>{dot}{link_close}</g>"
        )
        if placed:
            lx, ly, anchor = placed
            labels.append(
                f'<text class="map-label" x="{lx}" y="{ly}" text-anchor="{anchor}">'
                f"{escape(text)}</text>"
            )
    summary = "; ".join(
        f"{m.number}. {m.label}: {status_words[m.number]}" for m in markers
    ) or gettext("No place with obligations.")
    svg = (
        f'<svg class="map" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="map-title map-desc" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="map-title">{escape(title)}</title>'
        f'<desc id="map-desc">{escape(summary)}</desc>'
        f'<rect class="map-sea" width="{WIDTH}" height="{height}"/>'
        f"{countries}{''.join(routes)}{''.join(labels)}{''.join(dots)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every interpolated text is escaped above
