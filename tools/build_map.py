"""Build static/map/south-caucasus.json from Natural Earth country outlines.

The outlines come from the npm package `world-atlas` (ISC; a redistribution of
Natural Earth 4.1.0 Admin 0 countries, 1:50m, which is public domain). The
dashboard draws the map on the server from the small file this writes, so
nothing is fetched when a page is viewed. Regenerate with:

    cd /tmp && npm pack world-atlas@2.0.2 && tar xzf world-atlas-2.0.2.tgz
    .venv/bin/python tools/build_map.py /tmp/package/countries-50m.json

Only the standard library is used: the TopoJSON arcs are decoded here, each
country's rings are clipped to the region's box (Sutherland-Hodgman against a
rectangle is exact for that case) and rounded to 0.01 degree (about 1 km).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

# lon_min, lat_min, lon_max, lat_max: the South Caucasus with some margin.
BBOX = (43.0, 38.0, 51.0, 42.5)
OUT = Path(__file__).resolve().parent.parent / "static" / "map" / "south-caucasus.json"
PRECISION = 2


def decode_arcs(topology: dict) -> list[list[tuple[float, float]]]:
    scale_x, scale_y = topology["transform"]["scale"]
    shift_x, shift_y = topology["transform"]["translate"]
    arcs = []
    for arc in topology["arcs"]:
        x = y = 0
        points = []
        for dx, dy in arc:  # quantized and delta-encoded
            x += dx
            y += dy
            points.append((x * scale_x + shift_x, y * scale_y + shift_y))
        arcs.append(points)
    return arcs


def ring_points(indexes: list[int], arcs: list) -> list[tuple[float, float]]:
    points: list[tuple[float, float]] = []
    for i in indexes:
        arc = arcs[i] if i >= 0 else list(reversed(arcs[~i]))
        points.extend(arc if not points else arc[1:])
    return points


def clip(ring: list[tuple[float, float]], bbox=BBOX) -> list[tuple[float, float]]:
    """Sutherland-Hodgman clipping of one ring against the box's four edges."""
    x0, y0, x1, y1 = bbox
    edges = [
        (lambda p: p[0] >= x0, lambda a, b: _at_x(a, b, x0)),
        (lambda p: p[0] <= x1, lambda a, b: _at_x(a, b, x1)),
        (lambda p: p[1] >= y0, lambda a, b: _at_y(a, b, y0)),
        (lambda p: p[1] <= y1, lambda a, b: _at_y(a, b, y1)),
    ]
    for inside, cross in edges:
        if not ring:
            break
        out = []
        prev = ring[-1]
        for cur in ring:
            if inside(cur):
                if not inside(prev):
                    out.append(cross(prev, cur))
                out.append(cur)
            elif inside(prev):
                out.append(cross(prev, cur))
            prev = cur
        ring = out
    return ring


def _at_x(a, b, x):
    t = (x - a[0]) / (b[0] - a[0])
    return (x, a[1] + t * (b[1] - a[1]))


def _at_y(a, b, y):
    t = (y - a[1]) / (b[1] - a[1])
    return (a[0] + t * (b[0] - a[0]), y)


def build(source: Path) -> dict:
    topology = json.loads(source.read_text())
    arcs = decode_arcs(topology)
    countries = []
    for geometry in topology["objects"]["countries"]["geometries"]:
        kind = geometry.get("type")
        polygons = geometry["arcs"] if kind == "MultiPolygon" else [geometry.get("arcs", [])]
        rings = []
        for polygon in polygons if kind in ("Polygon", "MultiPolygon") else []:
            for ring in polygon:
                clipped = clip(ring_points(ring, arcs))
                rounded = []
                for x, y in clipped:
                    p = [round(x, PRECISION), round(y, PRECISION)]
                    if not rounded or rounded[-1] != p:
                        rounded.append(p)
                if len(rounded) >= 3:
                    rings.append(rounded)
        if rings:
            countries.append({"name": geometry["properties"]["name"], "rings": rings})
    countries.sort(key=lambda c: c["name"])
    return {
        "source": "Natural Earth 4.1.0 Admin 0 countries 1:50m via npm world-atlas@2.0.2",
        "licence": "Natural Earth: public domain; world-atlas packaging: ISC (see LICENSE)",
        "bbox": list(BBOX),
        "countries": countries,
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__)
        return 2
    data = build(Path(argv[1]))
    OUT.write_text(json.dumps(data, separators=(",", ":")) + "\n")
    names = ", ".join(c["name"] for c in data["countries"])
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes): {names}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
