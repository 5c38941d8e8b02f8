"""The region map, drawn as SVG on the server from a small committed outline file.

Country outlines: Natural Earth (public domain) via the npm package world-atlas,
clipped to the South Caucasus by `tools/build_map.py` (see static/map/README.md).
Projection: equirectangular, with longitudes scaled by cos(middle latitude), which
is faithful enough over eight degrees. Markers carry a number, a status colour and
a text label; the numbered legend under the map says the same in words.
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
def _country_layer(
    language: str | None = None,
) -> tuple[str, tuple[tuple[float, float, float, float], ...]]:
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
    return "".join(paths) + "".join(names), tuple(boxes)


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


def draw(markers: list[Marker], title: str) -> SafeString:
    """SVG map with `markers`; labels that would collide are left to the legend."""
    _, _, _, _, height = _projection()
    height = round(height)
    countries, country_boxes = _country_layer(get_language())
    boxes: list[tuple[float, float, float, float]] = list(country_boxes)
    dots, labels = [], []
    where = _spread([m for m in markers if in_bounds(m.longitude, m.latitude)])
    for px, py, _, _ in where.values():
        boxes.append((px - 9, py - 9, px + 9, py + 9))
    status_words = {m.number: str(V.STATUS_LABELS.get(m.status, m.status)) for m in markers}
    for m in markers:
        if m.number not in where:
            continue
        px, py, true_x, true_y = where[m.number]
        text = f"{m.label}: {status_words[m.number]}"
        dots.append(_place(m, text, px, py, true_x, true_y))
        placed = _label_spot(px, py, 6.6 * len(text) + 6, height, boxes)
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
        f"{countries}{''.join(labels)}{''.join(dots)}</svg>"
    )
    return mark_safe(svg)  # noqa: S308 - every interpolated text is escaped above


def _place(
    m: Marker, text: str, px: float, py: float, true_x: float, true_y: float
) -> str:
    """The numbered marker, linked to its page; moved off a crowded spot, a leader line
    and a dot keep the true place."""
    leader = ""
    if (px, py) != (true_x, true_y):
        leader = (
            f'<line class="map-leader" x1="{true_x}" y1="{true_y}" x2="{px}" y2="{py}"/>'
            f'<circle class="map-true-spot" cx="{true_x}" cy="{true_y}" r="2"/>'
        )
    dot = (
        f'<circle class="map-marker status-fill-{escape(m.status)}" cx="{px}" cy="{py}" '
        f'r="9"/><text class="map-marker-number" x="{px}" y="{py + 4}" '
        f'text-anchor="middle">{m.number}</text>'
    )
    link_open = f'<a href="{escape(m.url)}">' if m.url else ""
    link_close = "</a>" if m.url else ""
    return (
        f'{leader}<g class="map-place" data-status="{escape(m.status)}">{link_open}'
        f"<title>{m.number}. {escape(text)}</title>{dot}{link_close}</g>"
    )


def _label_spot(
    px: float, py: float, width: float, height: int,
    boxes: list[tuple[float, float, float, float]],
) -> tuple[float, float, str] | None:
    """Where a label `width` wide fits beside the marker at (px, py) without leaving the
    map or covering what is already placed (taken into `boxes`); None: nowhere."""
    for dx, dy, anchor in ((12, 4, "start"), (-12, 4, "end"), (12, -12, "start"),
                           (12, 20, "start"), (-12, -12, "end"), (-12, 20, "end")):
        x0 = px + dx if anchor == "start" else px + dx - width
        box = (x0, py + dy - 12, x0 + width, py + dy + 3)
        if box[0] >= 0 and box[2] <= WIDTH and box[1] >= 0 and box[3] <= height and not (
            _overlaps(box, boxes)
        ):
            boxes.append(box)
            return px + dx, py + dy, anchor
    return None
