"""Write an agreement back in the agreement file format (docs/agreement-format.md).

The output loads back with no change: `load(export(a))` writes nothing when `a` came
from a file, and `export(load(export(a))) == export(a)`. Keys come in the order the
format documents; lists are sorted by something stable (position, slug, time).

What the format cannot express is left out: draft and rejected facts, superseded
reports and retractions. Published staff-entered facts are exported; reloading such a
file matches them by content and leaves them as they are (see the loader). A staff
report that another contests gets a key made from its id (`report-<id>`), and a
`published_at` is written only where it differs from the default the loader would give.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Any

import yaml

from tracker import vocabulary as V
from tracker.loader.check import TRACKER_CLAIMANT, default_published
from tracker.loader.facts import report_key
from tracker.models import Agreement, Claimant, Location, Party
from tracker.naming import until_of


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


def _published(out: dict[str, Any], row, happened: datetime, zone,
               floor: datetime | None = None) -> None:
    """`published_at` when the loader's default (from the sources) would differ."""
    if row.published_at is None:
        return
    dates = [s.published_at for s in row.sources.all() if s.published_at]
    if row.published_at != default_published(dates, happened, zone, floor):
        out["published_at"] = _date_or_instant(row.published_at, zone, date_only=False)


def _languages(out: dict[str, Any], key: str, texts: dict[str, str]) -> None:
    if texts:
        out[key] = {lang: texts[lang] for lang in sorted(texts)}


def export_agreement(agreement: Agreement) -> dict[str, Any]:
    """The agreement as the plain data of an agreement file (keys in documented order)."""
    zone = agreement.zone
    obligations = list(
        agreement.obligations.select_related("clause")
        .prefetch_related("responsible", "monitors", "locations", "sources",
                          "deadline_changes__sources", "reports__sources", "reports__actors",
                          "reports__claimant")
        .order_by("position", "id")
    )
    party_ids = set(agreement.parties.values_list("pk", flat=True))
    location_ids = set(agreement.locations.values_list("pk", flat=True))
    claimant_ids = set()
    for o in obligations:
        party_ids |= {p.pk for p in o.responsible.all()} | {p.pk for p in o.monitors.all()}
        location_ids |= {loc.pk for loc in o.locations.all()}
        for r in _exported_reports(o):
            party_ids |= {p.pk for p in r.actors.all()}
            if r.claimant and r.claimant.slug != TRACKER_CLAIMANT:
                claimant_ids.add(r.claimant.pk)
    claimants = list(Claimant.objects.filter(pk__in=claimant_ids).order_by("slug"))
    party_ids |= {c.party_id for c in claimants if c.party_id}

    data: dict[str, Any] = {"slug": agreement.slug, "title": agreement.title}
    _languages(data, "titles", agreement.titles)
    data.update({
        "signed_at": _instant(agreement.signed_at, zone),
        "effective_at": _instant(agreement.effective_at, zone),
        "timezone": agreement.timezone,
        "warning_days": agreement.warning_days,
    })
    if agreement.description:
        data["description"] = agreement.description
    _languages(data, "descriptions", agreement.descriptions)
    sources = list(agreement.sources.order_by("key"))
    keys = {s.url: s.key for s in reversed(sources)}  # the first key for an address
    data["parties"] = [
        _party(p, zone, keys)
        for p in Party.objects.filter(pk__in=party_ids).order_by("slug")
    ]
    if claimants:
        data["claimants"] = [_claimant(c) for c in claimants]
    data["locations"] = [
        _location(loc, zone, keys)
        for loc in Location.objects.filter(pk__in=location_ids).order_by("slug")
    ]
    data["sources"] = [_source(s) for s in sources]
    relations = list(agreement.relations.select_related("target_agreement", "target",
                                                        "replacement")
                     .prefetch_related("sources").order_by("at", "id"))
    if relations:
        data["relations"] = [_relation(r, zone, agreement.signed_at) for r in relations]
    data["clauses"] = [
        _clause(c) for c in agreement.clauses.prefetch_related("variants__sources",
                                                               "texts__sources")
        .order_by("position", "number")
    ]
    data["obligations"] = [_obligation(o, zone) for o in obligations]
    return data


def _claimant(c: Claimant) -> dict[str, Any]:
    out: dict[str, Any] = {"slug": c.slug, "name": c.name, "kind": c.kind}
    if c.party_id:
        out["party"] = c.party.slug
    return out


def _relation(r, zone, signed_at: datetime) -> dict[str, Any]:
    out: dict[str, Any] = {"kind": r.kind, "agreement": r.target_agreement.slug}
    if r.target:
        out["term"] = r.target.slug
    if r.replacement:
        out["replacement"] = r.replacement.slug
    out["at"] = _date_or_instant(r.at, zone, date_only=False)
    out["sources"] = _keys(r)
    if r.note:
        out["note"] = r.note
    if r.unconfirmed:
        out["unconfirmed"] = True
    _published(out, r, r.at, zone, floor=signed_at)
    return out


def _party(p: Party, zone, keys: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"slug": p.slug, "name": p.name, "kind": p.kind}
    if p.former_names:
        out["former_names"] = [_former(e, zone, keys) for e in p.former_names]
    return out


def _former(entry: dict, zone, keys: dict[str, str]) -> dict[str, Any]:
    """A former name as the file writes it: its sources by this file's keys where the
    agreement has a source at that address, else by address (a party or place is shared
    with other agreements, whose files may have cited their own sources)."""
    out: dict[str, Any] = {k: entry[k] for k in ("name", "names", "alt_name") if k in entry}
    until = until_of(entry)
    out["until"] = _date_or_instant(until, zone, date_only=False) if until else entry["until"]
    out["sources"] = [keys.get(url, url) for url in entry.get("sources", [])]
    if entry.get("note"):
        out["note"] = entry["note"]
    return out


def _location(loc: Location, zone, keys: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {"slug": loc.slug, "kind": loc.kind, "names": dict(loc.names)}
    if loc.alt_name:
        out["alt_name"] = loc.alt_name
    if loc.aliases:
        out["aliases"] = list(loc.aliases)
    if loc.former_names:
        out["former_names"] = [_former(e, zone, keys) for e in loc.former_names]
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
    texts = sorted(c.texts.all(), key=lambda t: t.language)
    if texts:
        out["texts"] = []
        for t in texts:
            text: dict[str, Any] = {"language": t.language, "text": t.text}
            if t.sources.all():
                text["sources"] = _keys(t)
            if t.translation:
                text["translation"] = True
            if t.note:
                text["note"] = t.note
            out["texts"].append(text)
    return out


def _obligation(o, zone) -> dict[str, Any]:
    out: dict[str, Any] = {
        "slug": o.slug,
        "clause": _clause_number(o.clause.number) if o.clause else None,
        "title": o.title,
    }
    _languages(out, "titles", o.titles)
    if o.description:
        out["description"] = o.description
    _languages(out, "descriptions", o.descriptions)
    if o.text_dispute:
        out["text_dispute"] = o.text_dispute
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
    reports = _exported_reports(o)
    if reports:
        exported = {r.pk: r for r in reports}
        contested = {r.contests_id for r in reports if r.contests_id in exported}
        out["reports"] = [_report(r, zone, exported, contested) for r in reports]
    return out


def _exported_reports(o) -> list:
    return sorted(
        # A report must cite a source in the format; an unsourced one cannot be written.
        (r for r in o.reports.all() if r.is_fact and r.sources.all()),
        key=lambda r: (r.occurred_at, r.id),
    )


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
    _facts_tail(out, c)
    _published(out, c, c.agreed_at, zone)
    return out


def _report(r, zone, exported: dict[int, Any], contested: set[int]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if r.key or r.pk in contested:
        out["key"] = report_key(r)
    out.update({
        "claim": r.claim,
        "occurred_at": (
            _date_or_instant(r.occurred_at, zone, date_only=True)
            if r.occurred_date_only
            else _instant(r.occurred_at, zone)
        ),
        "summary": r.summary,
    })
    actors = sorted(p.slug for p in r.actors.all())
    if actors:
        out["actors"] = actors
    if r.claimant:
        out["claimant"] = r.claimant.slug
    # A contest of a report the format cannot write (superseded, unsourced) is left out.
    if r.contests_id in exported:
        out["contests"] = report_key(exported[r.contests_id])
    _facts_tail(out, r)
    _published(out, r, r.occurred_at, zone)
    return out


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
