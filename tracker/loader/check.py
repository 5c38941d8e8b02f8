"""Stage 2, check: the read values against `agreement_schema.json` (JSON Schema
2020-12), then the rules a schema cannot say (references exist, slugs are unique, a date
parses, an instant has an offset, a claim fits the kind...), building the plain values
of `tracker.loader.spec` that the write stage stores. Every error is collected and
raised together in one `LoaderError`, each naming file, key path and line. No database.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from jsonschema import Draft202012Validator

from deadlines import engine
from tracker import instants
from tracker import vocabulary as V
from tracker.instants import InstantError
from tracker.loader.errors import FileError, KeyPath, LoaderError
from tracker.loader.read import gc_paused, read_yaml
from tracker.loader.spec import (
    AgreementSpec,
    ChangeSpec,
    ClauseSpec,
    LocationSpec,
    ObligationSpec,
    PartySpec,
    ReportSpec,
    SourceSpec,
    VariantSpec,
)

SCHEMA_PATH = Path(__file__).resolve().parent.parent / "agreement_schema.json"


@cache
def schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


@cache
def _validator() -> Draft202012Validator:
    # The schema has no recursion: inlining its $refs once makes validation ~40% faster.
    root = schema()

    def inline(node: Any) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                target = inline(root["$defs"][node["$ref"].rsplit("/", 1)[-1]])
                return {**target, **{k: inline(v) for k, v in node.items() if k != "$ref"}}
            return {k: inline(v) for k, v in node.items() if k != "$defs"}
        if isinstance(node, list):
            return [inline(v) for v in node]
        return node

    return Draft202012Validator(inline(root))


def _short(message: str, limit: int = 300) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"


def schema_errors(data: Any) -> list[tuple[KeyPath, str]]:
    """(key path, message) for every schema violation, worded for a person editing YAML."""
    out: list[tuple[KeyPath, str]] = []
    for err in _validator().iter_errors(data):
        path = tuple(err.absolute_path)
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            known = set(err.schema.get("properties", {}))
            for key in sorted(set(err.instance) - known):
                allowed = ", ".join(sorted(known))
                out.append(((*path, key), f"unknown key {key!r} (allowed here: {allowed})"))
        elif err.validator == "required":
            missing = re.match(r"'(.*)' is a required property", err.message)
            name = missing.group(1) if missing else err.message
            out.append(((*path, name), "required key is missing"))
        else:
            out.append((path, _short(err.message)))
    return out


DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
INSTANT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}")


class DateProblem(ValueError):
    pass


def parse_when(value: str, accept: str) -> date | datetime:
    """The loader's reading of dates and instants as a file writes them, through the
    project's one parser (`tracker.instants`: ISO 8601, the year range).

    `accept` is "date" (strictly YYYY-MM-DD, a day in the agreement's zone), "instant"
    (ISO 8601 with an offset: without one it would mean a different moment to each
    reader) or "either" (a date where an instant may be given: see `_placed`). The
    refusals name what is wrong in the file's own terms.
    """
    is_date = bool(DATE_RE.match(value))
    if accept == "date" and not is_date:
        raise DateProblem(f"{value!r} is not a date (expected YYYY-MM-DD)")
    if accept == "instant" and is_date:
        raise DateProblem(f"{value!r} is a date; an instant needs a time and an offset")
    if not is_date and not INSTANT_RE.match(value):
        raise DateProblem(
            f"{value!r} is not an instant (expected ISO 8601 like 2020-11-10T01:00:00+04:00)"
        )
    try:
        return instants.parse(value)
    except InstantError as exc:
        raise DateProblem(_why_not(value, is_date, exc)) from None


def _why_not(value: str, is_date: bool, exc: InstantError) -> str:
    """What the file should change, for a value the one parser refused."""
    try:
        parsed = date.fromisoformat(value) if is_date else datetime.fromisoformat(value)
    except ValueError as reason:
        kind = "date" if is_date else "instant"
        return f"{value!r} is not a valid {kind}: {reason}"
    if isinstance(parsed, datetime) and parsed.utcoffset() is None:
        return f"{value!r} has no UTC offset (write e.g. {value}+04:00 or {value}Z)"
    return str(exc)  # well formed, but outside the years the tracker reads


def _placed(when: date | datetime, zone: ZoneInfo) -> tuple[datetime, bool]:
    """(instant, date_only): a bare date means 00:00 local on that day in `zone`."""
    if isinstance(when, datetime):
        return when, False
    return engine.local_midnight(when, zone), True


def _dicts(value: Any) -> list[tuple[int, dict]]:
    """The mapping items of a list, with their index; tolerant of shapes the schema rejected."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


FUTURE_FACT = ("is after the present: a fact records what already happened (a date still "
               "to come belongs in a deadline, not in a fact)")


class _Checker:
    """The rules beyond the schema; builds an AgreementSpec while collecting errors.

    Written to survive data the schema already rejected (wrong types are skipped, not
    crashed on), so one run reports the schema's errors and these together.
    """

    def __init__(self, data: dict, build: bool):
        self.data = data
        # Build the spec only from schema-valid data (its keys and types are then known).
        self.build = build
        self.errors: list[tuple[KeyPath, str]] = []
        # Facts are what already happened: one dated later than this is refused.
        self.now = datetime.now(UTC)

    def add(self, path: KeyPath, message: str) -> None:
        self.errors.append((path, message))

    def _get(self, item: dict, key: str, path: KeyPath, accept: str) -> Any:
        raw = item.get(key)
        if not isinstance(raw, str):
            return None
        try:
            return parse_when(raw, accept)
        except DateProblem as exc:
            self.add((*path, key), str(exc))
            return None

    def _unique(self, items: list[tuple[int, dict]], key: str, section: str) -> set[str]:
        seen: set[str] = set()
        for i, item in items:
            value = item.get(key)
            if value is None:
                continue
            value = str(value)
            if value in seen:
                self.add((section, i, key), f"duplicate {key} {value!r} in {section}")
            seen.add(value)
        return seen

    def _refs(self, path: KeyPath, values: Any, known: set[str], what: str) -> None:
        for j, ref in enumerate(_strs(values)):
            if ref not in known:
                self.add((*path, j), f"unknown {what} {ref!r}")
        if len(_strs(values)) != len(set(_strs(values))):
            self.add(path, f"a {what} is listed twice")

    def check(self) -> AgreementSpec | None:
        d = self.data
        zone: ZoneInfo | None = None
        tz = d.get("timezone")
        if isinstance(tz, str):
            try:
                zone = ZoneInfo(tz)
            except (ZoneInfoNotFoundError, ValueError, OSError):
                self.add(("timezone",), f"{tz!r} is not an IANA time zone (e.g. Asia/Baku)")
        signed = self._get(d, "signed_at", (), "instant")
        effective = self._get(d, "effective_at", (), "instant")
        if signed and effective and effective < signed:
            self.add(("effective_at",), "effective_at is before signed_at")

        parties = _dicts(d.get("parties"))
        locations = _dicts(d.get("locations"))
        sources = _dicts(d.get("sources"))
        clauses = _dicts(d.get("clauses"))
        obligations = _dicts(d.get("obligations"))
        party_slugs = self._unique(parties, "slug", "parties")
        location_slugs = self._unique(locations, "slug", "locations")
        source_keys = self._unique(sources, "key", "sources")
        clause_numbers = self._unique(clauses, "number", "clauses")
        self._unique(obligations, "slug", "obligations")

        source_specs = []
        for i, s in sources:
            published = self._get(s, "published_at", ("sources", i), "date")
            source_specs.append(SourceSpec(str(s.get("key")), {
                "url": s.get("url"), "publisher": s.get("publisher"),
                "title": s.get("title") or "", "published_at": published,
                "language": s.get("language") or "",
            }))

        clause_specs = []
        for i, c in clauses:
            variants = []
            seen_versions: set[str] = set()
            for j, v in _dicts(c.get("variants")):
                path = ("clauses", i, "variants", j)
                self._refs((*path, "sources"), v.get("sources"), source_keys, "source")
                version = str(v.get("version"))
                if version in seen_versions:
                    self.add((*path, "version"), f"duplicate version {version!r}")
                seen_versions.add(version)
                variants.append(VariantSpec(str(v.get("version")), str(v.get("text")),
                                            _strs(v.get("sources"))))
            clause_specs.append(ClauseSpec(str(c.get("number")), str(c.get("text")), i, variants))

        obligation_specs = [
            spec
            for i, o in obligations
            if (spec := self._obligation(i, o, zone, signed, party_slugs, location_slugs,
                                         source_keys, clause_numbers)) is not None
        ]
        if self.errors or not self.build:
            return None
        assert zone is not None and signed is not None  # the schema made them required
        return AgreementSpec(
            slug=d["slug"],
            values={
                "title": d["title"], "signed_at": signed, "effective_at": effective,
                "timezone": d["timezone"], "warning_days": d.get("warning_days", 3),
                "description": d.get("description", ""),
            },
            zone=zone,
            parties=[PartySpec(p["slug"], p["name"], p["kind"]) for _, p in parties],
            locations=[
                LocationSpec(loc["slug"], {
                    "kind": loc["kind"], "names": loc["names"],
                    "alt_name": loc.get("alt_name", ""), "aliases": loc.get("aliases", []),
                    "latitude": loc.get("lat"), "longitude": loc.get("lon"),
                    "coordinates_note": loc.get("coordinates_note", ""),
                    "line": loc.get("line", []),
                })
                for _, loc in locations
            ],
            sources=source_specs,
            clauses=clause_specs,
            obligations=obligation_specs,
        )

    def _obligation(self, i, o, zone, signed, parties, locations, sources, clauses):
        path: KeyPath = ("obligations", i)
        # Unknown or mistyped kinds and claims are the schema's errors; skip their rules.
        kind = o.get("kind") if isinstance(o.get("kind"), str) else None
        kind = kind if kind in V.CLAIMS_BY_KIND else None
        if o.get("clause") is not None and str(o.get("clause")) not in clauses:
            self.add((*path, "clause"), f"unknown clause {o.get('clause')!r}")
        self._refs((*path, "responsible"), o.get("responsible"), parties, "party")
        self._refs((*path, "monitors"), o.get("monitors"), parties, "party")
        self._refs((*path, "locations"), o.get("locations"), locations, "location")
        self._refs((*path, "sources"), o.get("sources"), sources, "source")

        only_for = {"due": V.DEADLINE, "deadline_changes": V.DEADLINE, "starts_at": V.ONGOING,
                    "ends_at": V.ONGOING, "term": V.ONGOING}
        for key, needs in only_for.items():
            if key in o and kind and kind != needs:
                self.add((*path, key), f"{key} is only allowed on {_a(needs)} obligation, "
                                       f"not on {_a(kind)} one")
        if kind == V.DEADLINE and "due" not in o:
            self.add((*path, "due"), "a deadline obligation needs a due date")
        due = self._get(o, "due", path, "date")
        starts = self._get(o, "starts_at", path, "instant")
        ends = self._get(o, "ends_at", path, "instant")
        if starts and ends and ends <= starts:
            self.add((*path, "ends_at"), "ends_at must be after starts_at")

        changes = []
        for j, c in _dicts(o.get("deadline_changes")):
            cpath = (*path, "deadline_changes", j)
            self._refs((*cpath, "sources"), c.get("sources"), sources, "source")
            new_due = self._get(c, "due", cpath, "date")
            when = self._get(c, "agreed_at", cpath, "either") if zone else None
            agreed = _placed(when, zone) if when and zone else None
            if agreed and signed and agreed[0] < signed:
                self.add((*cpath, "agreed_at"),
                         "a deadline change before the agreement (agreed_at is before signed_at)")
            if agreed and agreed[0] > self.now:
                self.add((*cpath, "agreed_at"), FUTURE_FACT)
            if new_due and agreed:
                changes.append(ChangeSpec(
                    new_due, agreed[0], c.get("reason") or "", frozenset(_strs(c.get("sources"))),
                    bool(c.get("unconfirmed", False)), c.get("note") or "",
                ))

        reports = []
        for j, r in _dicts(o.get("reports")):
            rpath = (*path, "reports", j)
            self._refs((*rpath, "sources"), r.get("sources"), sources, "source")
            claim = r.get("claim") if isinstance(r.get("claim"), str) else None
            if kind and claim in dict(V.CLAIMS) and claim not in V.CLAIMS_BY_KIND[kind]:
                fits = ", ".join(sorted(V.CLAIMS_BY_KIND[kind]))
                self.add((*rpath, "claim"),
                         f"claim {claim!r} does not fit {_a(kind)} obligation (allowed: {fits})")
            when = self._get(r, "occurred_at", rpath, "either") if zone else None
            occurred = _placed(when, zone) if when and zone else None
            if occurred and occurred[0] > self.now:
                self.add((*rpath, "occurred_at"), FUTURE_FACT)
            if occurred:
                reports.append(ReportSpec(
                    claim, occurred[0], occurred[1], r.get("summary"),
                    frozenset(_strs(r.get("sources"))), bool(r.get("unconfirmed", False)),
                    r.get("note") or "",
                ))

        if self.errors or not self.build:
            return None
        term = o.get("term") or {}
        return ObligationSpec(
            slug=o["slug"],
            clause=str(o["clause"]),
            position=i,
            values={
                "title": o["title"], "description": o.get("description", ""), "kind": kind,
                "category": o["category"], "position": i, "original_due_date": due,
                "starts_at": starts, "ends_at": ends, "term_years": term.get("years"),
                "renews_years": term.get("renews_years"),
                "notice_months": term.get("notice_months"),
            },
            responsible=_strs(o.get("responsible")),
            monitors=_strs(o.get("monitors")),
            locations=_strs(o.get("locations")),
            sources=_strs(o.get("sources")),
            changes=changes,
            reports=reports,
        )


def _line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
    """The line of `path`, or of its nearest ancestor the file has (e.g. for a missing key)."""
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def check_file(path: Path | str) -> AgreementSpec:
    """Read and check a file without touching the database; LoaderError lists every problem."""
    data, lines = read_yaml(path)
    return check_data(data, str(path), lines)


def check_data(data: Any, file: str = "<data>", lines: dict[KeyPath, int] | None = None,
               ) -> AgreementSpec:
    """Check already-parsed agreement data (`lines` from `read_yaml` places the errors)."""
    lines = lines or {}
    with gc_paused():
        problems = schema_errors(data)
        spec = None
        if isinstance(data, dict):
            checker = _Checker(data, build=not problems)
            spec = checker.check()
            problems += checker.errors
    seen: set[tuple[KeyPath, str]] = set()
    errors = []
    for key_path, message in problems:
        if (key_path, message) not in seen:
            seen.add((key_path, message))
            errors.append(FileError(file, key_path, message, _line_of(lines, key_path)))
    if errors or spec is None:
        raise LoaderError(errors or [FileError(file, (), "not an agreement file", 1)])
    return spec

