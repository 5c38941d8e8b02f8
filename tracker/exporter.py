"""Write an agreement back in the agreement file format (docs/agreement-format.md).

The output loads back with no change: `load(export(a))` writes nothing when `a` came
from a file, and `export(load(export(a))) == export(a)`. Keys come in the order the
format documents; lists are sorted by something stable (position, slug, time).

What the format cannot express is left out: draft and rejected facts, superseded
reports and retractions. Published staff-entered facts are exported; reloading such a
file matches them by content and leaves them as they are (see the loader).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import yaml

from tracker import vocabulary as V
from tracker.models import Agreement, Location, Party


def _instant(at: datetime, zone) -> str:
    # In the agreement's own zone, as a person would write it; the offset keeps it exact.
    return at.astimezone(zone).isoformat()


def _date_or_instant(at: datetime, zone, date_only: bool) -> str:
    local = at.astimezone(zone)
    if date_only or local.time() == time(0):
        return local.date().isoformat()
    return local.isoformat()


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _clause_number(number: str) -> str | int:
    return int(number) if number.isdigit() and str(int(number)) == number else number


def _keys(row) -> list[str]:
    return sorted(s.key for s in row.sources.all())


def export_agreement(agreement: Agreement) -> dict[str, Any]:
    """The agreement as the plain data of an agreement file (keys in documented order)."""
    zone = agreement.zone
    obligations = list(
        agreement.obligations.select_related("clause")
        .prefetch_related("responsible", "monitors", "locations", "sources",
                          "deadline_changes__sources", "reports__sources")
        .order_by("position", "id")
    )
    party_ids = set(agreement.parties.values_list("pk", flat=True))
    location_ids = set(agreement.locations.values_list("pk", flat=True))
    for o in obligations:
        party_ids |= {p.pk for p in o.responsible.all()} | {p.pk for p in o.monitors.all()}
        location_ids |= {loc.pk for loc in o.locations.all()}

    data: dict[str, Any] = {
        "slug": agreement.slug,
        "title": agreement.title,
        "signed_at": _instant(agreement.signed_at, zone),
        "effective_at": _instant(agreement.effective_at, zone),
        "timezone": agreement.timezone,
        "warning_days": agreement.warning_days,
    }
    if agreement.description:
        data["description"] = agreement.description
    data["parties"] = [
        {"slug": p.slug, "name": p.name, "kind": p.kind}
        for p in Party.objects.filter(pk__in=party_ids).order_by("slug")
    ]
    data["locations"] = [
        _location(loc) for loc in Location.objects.filter(pk__in=location_ids).order_by("slug")
    ]
    data["sources"] = [_source(s) for s in agreement.sources.order_by("key")]
    data["clauses"] = [
        _clause(c) for c in agreement.clauses.prefetch_related("variants__sources")
        .order_by("position", "number")
    ]
    data["obligations"] = [_obligation(o, zone) for o in obligations]
    return data


def _location(loc: Location) -> dict[str, Any]:
    out: dict[str, Any] = {"slug": loc.slug, "kind": loc.kind, "names": dict(loc.names)}
    if loc.alt_name:
        out["alt_name"] = loc.alt_name
    if loc.aliases:
        out["aliases"] = list(loc.aliases)
    out["lat"] = loc.latitude
    out["lon"] = loc.longitude
    if loc.coordinates_note:
        out["coordinates_note"] = loc.coordinates_note
    if loc.line:
        out["line"] = [list(point) for point in loc.line]
    return out


def _source(s) -> dict[str, Any]:
    out: dict[str, Any] = {"key": s.key, "url": s.url, "publisher": s.publisher, "title": s.title}
    if s.published_at:
        out["published_at"] = _iso(s.published_at)
    if s.language:
        out["language"] = s.language
    return out


def _clause(c) -> dict[str, Any]:
    out: dict[str, Any] = {"number": _clause_number(c.number), "text": c.text}
    variants = sorted(c.variants.all(), key=lambda v: v.version)
    if variants:
        out["variants"] = []
        for v in variants:
            item: dict[str, Any] = {"version": v.version, "text": v.text}
            if v.sources.exists():
                item["sources"] = _keys(v)
            out["variants"].append(item)
    return out


def _obligation(o, zone) -> dict[str, Any]:
    out: dict[str, Any] = {
        "slug": o.slug,
        "clause": _clause_number(o.clause.number) if o.clause else None,
        "title": o.title,
    }
    if o.description:
        out["description"] = o.description
    out["kind"] = o.kind
    out["category"] = o.category
    out["responsible"] = sorted(p.slug for p in o.responsible.all())
    monitors = sorted(p.slug for p in o.monitors.all())
    if monitors:
        out["monitors"] = monitors
    locations = sorted(loc.slug for loc in o.locations.all())
    if locations:
        out["locations"] = locations
    out["sources"] = _keys(o)
    if o.kind == V.DEADLINE:
        out["due"] = _iso(o.original_due_date or o.due_date)
    if o.starts_at:
        out["starts_at"] = _instant(o.starts_at, zone)
    if o.ends_at:
        out["ends_at"] = _instant(o.ends_at, zone)
    if o.term_years:
        term: dict[str, int] = {"years": o.term_years}
        if o.renews_years:
            term["renews_years"] = o.renews_years
        if o.notice_months:
            term["notice_months"] = o.notice_months
        out["term"] = term
    changes = sorted(
        (c for c in o.deadline_changes.all()
         if c.review_state == V.PUBLISHED and c.sources.all()),
        key=lambda c: (c.agreed_at, c.id),
    )
    if changes and o.kind == V.DEADLINE:
        out["deadline_changes"] = [_change(c, zone) for c in changes]
    reports = sorted(
        # A report must cite a source in the format; an unsourced one cannot be written.
        (r for r in o.reports.all() if r.is_fact and r.sources.all()),
        key=lambda r: (r.occurred_at, r.id),
    )
    if reports:
        out["reports"] = [_report(r, zone) for r in reports]
    return out


def _facts_tail(out: dict[str, Any], row) -> dict[str, Any]:
    out["sources"] = _keys(row)
    if row.unconfirmed:
        out["unconfirmed"] = True
    if row.note:
        out["note"] = row.note
    return out


def _change(c, zone) -> dict[str, Any]:
    out = {
        "due": _iso(c.due_date),
        "agreed_at": _date_or_instant(c.agreed_at, zone, date_only=False),
        "reason": c.reason,
    }
    return _facts_tail(out, c)


def _report(r, zone) -> dict[str, Any]:
    out = {
        "claim": r.claim,
        "occurred_at": (
            _date_or_instant(r.occurred_at, zone, date_only=True)
            if r.occurred_date_only
            else _instant(r.occurred_at, zone)
        ),
        "summary": r.summary,
    }
    return _facts_tail(out, r)


class _Dumper(yaml.SafeDumper):
    """Block style, text kept readable (multi-line text as `|` blocks, Unicode as is)."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    if "\n" in value:
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", value)


_Dumper.add_representer(str, _str)


def to_yaml(data: dict[str, Any]) -> str:
    """YAML text in the order given; dates stay quoted text, as the loader expects."""
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100,
                     default_flow_style=False)
