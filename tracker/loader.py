"""Load an agreement file (docs/agreement-format.md) into the tracker's models.

Three stages, and nothing is written unless the first two found no error at all:

1. **Read** the YAML into plain values, remembering the line of every key, with
   dates kept as text (the implicit timestamp resolver is removed) so that this
   module, not the YAML library, decides what a date or an instant is.
2. **Check** it against `agreement_schema.json` (JSON Schema 2020-12) and then the
   rules a schema cannot say (references exist, slugs are unique, a date parses,
   an instant has an offset, a claim fits the kind...). Every error is collected and
   raised together in one `LoaderError`, each naming file, key path and line.
3. **Write** in one transaction, saving only rows whose values differ, so that loading
   the same file twice writes nothing (no history rows, no re-assessment). Facts
   (reports, deadline changes) are matched by content: a changed one is superseded
   or rejected and a new one published, never edited in place.
"""

from __future__ import annotations

import json
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from django.db import connection, transaction
from django.utils import timezone
from jsonschema import Draft202012Validator

from deadlines import engine
from tracker import vocabulary as V
from tracker.models import (
    Agreement,
    Clause,
    ClauseVariant,
    DeadlineChange,
    Location,
    Obligation,
    Party,
    Report,
    Source,
)
from tracker.services import facts_changed

SCHEMA_PATH = Path(__file__).with_name("agreement_schema.json")
FILE_ORIGIN = "file"
REMOVED_REASON = "removed from the agreement file"
CHANGED_REASON = "changed in the agreement file"
DRAFT_ORPHANED_REASON = (
    "the report this draft corrects was replaced by a reload of the agreement file; "
    "correct the new report instead"
)
_LOCK_KEY = 0x61677265  # pg advisory lock id for loads ("agre")

KeyPath = tuple[str | int, ...]
MAX_NODES = 100_000  # far beyond any real agreement (November 2020: ~3,000)


# ---------------------------------------------------------------- errors


@dataclass(frozen=True)
class FileError:
    """One problem in an agreement file: where it is and what is wrong."""

    file: str
    path: KeyPath
    message: str
    line: int | None = None

    @property
    def key(self) -> str:
        return format_path(self.path)

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}"


class LoaderError(Exception):
    """The file was not loaded; `errors` says every reason found (the database is untouched)."""

    def __init__(self, errors: list[FileError]):
        self.errors = sorted(errors, key=lambda e: (e.line or 0, e.key, e.message))
        super().__init__("\n".join(str(e) for e in self.errors))


def format_path(path: KeyPath) -> str:
    """("obligations", 3, "reports", 1, "at") -> "obligations[3].reports[1].at" (0-based)."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(top level)"


# ---------------------------------------------------------------- stage 1: YAML


# libyaml's parser when PyYAML has it (15x faster on the November 2020 file); same nodes.
_SafeBase = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _TextDatesLoader(_SafeBase):
    """SafeLoader that leaves `2020-11-20` as text: dates are parsed (and checked) here."""


_TextDatesLoader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _Reader:
    """Turns the YAML node tree into plain values plus {key path: line}."""

    def __init__(self, file: str, loader: yaml.SafeLoader):
        self.file = file
        self.loader = loader
        self.lines: dict[KeyPath, int] = {}
        self.errors: list[FileError] = []
        self._stack: set[int] = set()
        self._nodes = 0

    def error(self, path: KeyPath, message: str, line: int | None) -> None:
        self.errors.append(FileError(self.file, path, message, line))

    def value(self, node: yaml.Node, path: KeyPath) -> Any:
        line = node.start_mark.line + 1
        self.lines.setdefault(path, line)
        self._nodes += 1
        if self._nodes > MAX_NODES:  # aliases can make a small file expand without end
            raise LoaderError([FileError(self.file, path, f"more than {MAX_NODES} values "
                                         "(aliases expanding too far?)", line)])
        if id(node) in self._stack:  # a recursive alias would never end
            self.error(path, "recursive YAML alias", line)
            return None
        if isinstance(node, yaml.ScalarNode):
            return self.loader.construct_object(node)
        self._stack.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.value(item, (*path, i)) for i, item in enumerate(node.value)]
            self.loader.flatten_mapping(node)  # resolves `<<` merge keys
            out: dict[str, Any] = {}
            for key_node, value_node in node.value:
                key_line = key_node.start_mark.line + 1
                key = (
                    self.loader.construct_object(key_node)
                    if isinstance(key_node, yaml.ScalarNode)
                    else None
                )
                if not isinstance(key, str):
                    self.error(path, f"a key must be text, not {key!r}", key_line)
                    key = str(key)
                child = (*path, key)
                if key in out:
                    self.error(child, "duplicate key", key_line)
                self.lines[child] = key_line
                out[key] = self.value(value_node, child)
            return out
        finally:
            self._stack.discard(id(node))


def read_yaml(path: Path | str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse one YAML document; raises LoaderError for unreadable or broken YAML."""
    file = str(path)
    try:
        text = Path(path).read_text(encoding="utf-8-sig")  # a BOM from some editors is fine
    except (OSError, UnicodeDecodeError) as exc:
        raise LoaderError([FileError(file, (), f"cannot read the file: {exc}")]) from exc
    loader = _TextDatesLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise LoaderError([FileError(file, (), "the file is empty", 1)])
        reader = _Reader(file, loader)
        data = reader.value(node, ())
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = " ".join(p for p in (exc.context, exc.problem) if p)
        raise LoaderError([FileError(file, (), f"broken YAML: {problem}", line)]) from exc
    except yaml.YAMLError as exc:
        raise LoaderError([FileError(file, (), f"broken YAML: {exc}")]) from exc
    finally:
        loader.dispose()
    if reader.errors:
        raise LoaderError(reader.errors)
    return data, reader.lines


# ---------------------------------------------------------------- stage 2: checks


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


def parse_date(value: str) -> date:
    """A local date, strictly YYYY-MM-DD."""
    if not DATE_RE.match(value):
        raise DateProblem(f"{value!r} is not a date (expected YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise DateProblem(f"{value!r} is not a valid date: {exc}") from None


def parse_instant(value: str) -> datetime:
    """An ISO 8601 instant; without an offset it would mean a different moment per reader."""
    if DATE_RE.match(value):
        raise DateProblem(f"{value!r} is a date; an instant needs a time and an offset")
    if not INSTANT_RE.match(value):
        raise DateProblem(
            f"{value!r} is not an instant (expected ISO 8601 like 2020-11-10T01:00:00+04:00)"
        )
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError as exc:
        raise DateProblem(f"{value!r} is not a valid instant: {exc}") from None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        raise DateProblem(f"{value!r} has no UTC offset (write e.g. {value}+04:00 or {value}Z)")
    return parsed


def parse_date_or_instant(value: str, zone: ZoneInfo) -> tuple[datetime, bool]:
    """(instant, date_only): a bare date means 00:00 local on that day in `zone`."""
    if DATE_RE.match(value):
        return engine.local_midnight(parse_date(value), zone), True
    return parse_instant(value), False


# The checked, typed content of a file: what stage 3 writes.


@dataclass
class PartySpec:
    slug: str
    name: str
    kind: str


@dataclass
class LocationSpec:
    slug: str
    values: dict[str, Any]


@dataclass
class SourceSpec:
    key: str
    values: dict[str, Any]


@dataclass
class VariantSpec:
    version: str
    text: str
    sources: list[str]


@dataclass
class ClauseSpec:
    number: str
    text: str
    position: int
    variants: list[VariantSpec]


@dataclass(frozen=True)
class ChangeSpec:
    due_date: date
    agreed_at: datetime
    reason: str
    sources: frozenset[str]
    unconfirmed: bool
    note: str

    def identity(self) -> tuple:
        return (self.due_date, self.agreed_at, self.reason, self.sources, self.unconfirmed,
                self.note)


@dataclass(frozen=True)
class ReportSpec:
    claim: str
    occurred_at: datetime
    occurred_date_only: bool
    summary: str
    sources: frozenset[str]
    unconfirmed: bool
    note: str

    def identity(self) -> tuple:
        return (self.claim, self.occurred_at, self.occurred_date_only, self.summary,
                self.sources, self.unconfirmed, self.note)


@dataclass
class ObligationSpec:
    slug: str
    clause: str
    position: int
    values: dict[str, Any]
    responsible: list[str]
    monitors: list[str]
    locations: list[str]
    sources: list[str]
    changes: list[ChangeSpec]
    reports: list[ReportSpec]


@dataclass
class AgreementSpec:
    slug: str
    values: dict[str, Any]
    zone: ZoneInfo
    parties: list[PartySpec]
    locations: list[LocationSpec]
    sources: list[SourceSpec]
    clauses: list[ClauseSpec]
    obligations: list[ObligationSpec]


def _dicts(value: Any) -> list[tuple[int, dict]]:
    """The mapping items of a list, with their index; tolerant of shapes the schema rejected."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


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

    def add(self, path: KeyPath, message: str) -> None:
        self.errors.append((path, message))

    def _get(self, item: dict, key: str, path: KeyPath, parse, *args):
        raw = item.get(key)
        if not isinstance(raw, str):
            return None
        try:
            return parse(raw, *args)
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
        signed = self._get(d, "signed_at", (), parse_instant)
        effective = self._get(d, "effective_at", (), parse_instant)
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
            published = self._get(s, "published_at", ("sources", i), parse_date)
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
        due = self._get(o, "due", path, parse_date)
        starts = self._get(o, "starts_at", path, parse_instant)
        ends = self._get(o, "ends_at", path, parse_instant)
        if starts and ends and ends <= starts:
            self.add((*path, "ends_at"), "ends_at must be after starts_at")

        changes = []
        for j, c in _dicts(o.get("deadline_changes")):
            cpath = (*path, "deadline_changes", j)
            self._refs((*cpath, "sources"), c.get("sources"), sources, "source")
            new_due = self._get(c, "due", cpath, parse_date)
            agreed = self._get(c, "agreed_at", cpath, parse_date_or_instant, zone) if zone else None
            if agreed and signed and agreed[0] < signed:
                self.add((*cpath, "agreed_at"),
                         "a deadline change before the agreement (agreed_at is before signed_at)")
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
            occurred = (
                self._get(r, "occurred_at", rpath, parse_date_or_instant, zone) if zone else None
            )
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


# ---------------------------------------------------------------- stage 3: write


@dataclass
class LoadResult:
    agreement: Agreement
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: Counter = field(default_factory=Counter)
    removed: Counter = field(default_factory=Counter)
    # Facts: superseded reports, rejected deadline changes (never edited or deleted).
    retired: Counter = field(default_factory=Counter)
    # Obligations whose facts changed (handed to services.facts_changed and the sweep).
    changed_obligation_ids: set[int] = field(default_factory=set)

    @property
    def changed(self) -> bool:
        return bool(+self.created or +self.updated or +self.removed or +self.retired)


# Obligation fields whose change alters what the engine concludes.
_FACT_FIELDS = {
    "kind", "original_due_date", "due_date", "due_at", "starts_at", "ends_at",
    "term_years", "renews_years", "notice_months",
}


class _Writer:
    def __init__(self, spec: AgreementSpec, file: str):
        self.spec = spec
        self.file = file
        self.now = timezone.now()
        self.errors: list[FileError] = []
        self.created: Counter = Counter()
        self.updated: Counter = Counter()
        self.unchanged: Counter = Counter()
        self.removed: Counter = Counter()
        self.retired: Counter = Counter()
        self.changed_ids: set[int] = set()
        self.zone_changed = False

    # -- generic upsert: save only what differs, so an unchanged file writes nothing

    def upsert(self, label: str, obj, values: dict[str, Any], bump_version: bool = False):
        if obj.pk is None:
            for name, value in values.items():
                setattr(obj, name, value)
            obj.save()
            self.created[label] += 1
            return set(values)
        changed = [name for name, value in values.items() if getattr(obj, name) != value]
        if not changed:
            self.unchanged[label] += 1
            return set()
        for name in changed:
            setattr(obj, name, values[name])
        fields = list(changed)
        if bump_version:  # a staff form opened before this load must not overwrite it
            obj.version += 1
            fields.append("version")
        if isinstance(obj, Location):
            fields.append("search_text")
        # update_fields: never write back columns the sweep owns with stale values.
        obj.save(update_fields=fields)
        self.updated[label] += 1
        return set(changed)

    @staticmethod
    def set_m2m(manager, pks: list[int]) -> bool:
        if set(manager.values_list("pk", flat=True)) == set(pks):
            return False
        manager.set(pks)
        return True

    def count_m2m(self, label: str, saved: set[str], is_new: bool, m2m_changed: bool) -> None:
        """A row whose only change is a relation list counts as updated, not unchanged."""
        if m2m_changed and not saved and not is_new:
            self.unchanged[label] -= 1
            self.updated[label] += 1

    def fail(self, path: KeyPath, message: str) -> None:
        self.errors.append(FileError(self.file, path, message))

    # -- the agreement

    def run(self) -> LoadResult:
        spec = self.spec
        parties = {p.slug: p for p in Party.objects.filter(slug__in=[p.slug for p in spec.parties])}
        for p in spec.parties:
            obj = parties.setdefault(p.slug, Party(slug=p.slug))
            self.upsert("party", obj, {"name": p.name, "kind": p.kind})
        locations = {
            loc.slug: loc
            for loc in Location.objects.filter(slug__in=[loc.slug for loc in spec.locations])
        }
        for loc in spec.locations:
            obj = locations.setdefault(loc.slug, Location(slug=loc.slug))
            self.upsert("location", obj, loc.values)

        agreement = (
            Agreement.objects.select_for_update().filter(slug=spec.slug).first()
            or Agreement(slug=spec.slug)
        )
        is_new = agreement.pk is None
        changed = self.upsert("agreement", agreement, spec.values)
        m2m_changed = self.set_m2m(agreement.parties, [parties[p.slug].pk for p in spec.parties])
        m2m_changed |= self.set_m2m(
            agreement.locations, [locations[loc.slug].pk for loc in spec.locations]
        )
        self.count_m2m("agreement", changed, is_new, m2m_changed)
        zone_changed = not is_new and bool(changed & {"timezone", "warning_days", "effective_at"})
        self.zone_changed = zone_changed

        sources = {s.key: s for s in agreement.sources.all()}
        for s in spec.sources:
            obj = sources.setdefault(s.key, Source(agreement=agreement, key=s.key))
            self.upsert("source", obj, s.values)

        clauses = {c.number: c for c in agreement.clauses.all()}
        for c in spec.clauses:
            obj = clauses.setdefault(c.number, Clause(agreement=agreement, number=c.number))
            self.upsert("clause", obj, {"text": c.text, "position": c.position})
            self.variants(obj, c, sources)

        # Locked: an editor's concurrent save waits, then sees the new version.
        existing = {o.slug: o for o in agreement.obligations.select_for_update()}
        for o in spec.obligations:
            self.obligation(agreement, existing.get(o.slug), o, clauses, parties, locations,
                            sources)
        if zone_changed:
            self.changed_ids.update(o.pk for o in existing.values())

        self.remove_missing(agreement, existing, clauses, sources)
        if self.errors:
            raise LoaderError(self.errors)
        return LoadResult(
            agreement=agreement, created=self.created, updated=self.updated,
            unchanged=self.unchanged, removed=self.removed, retired=self.retired,
            changed_obligation_ids=self.changed_ids,
        )

    def variants(self, clause: Clause, spec: ClauseSpec, sources: dict[str, Source]) -> None:
        current = {v.version: v for v in clause.variants.all()} if clause.pk else {}
        for v in spec.variants:
            obj = current.pop(v.version, None) or ClauseVariant(clause=clause, version=v.version)
            is_new = obj.pk is None
            changed = self.upsert("clause variant", obj, {"text": v.text})
            m2m_changed = self.set_m2m(obj.sources, [sources[k].pk for k in v.sources])
            self.count_m2m("clause variant", changed, is_new, m2m_changed)
        for gone in current.values():  # nothing refers to a variant: safe to drop
            gone.delete()
            self.removed["clause variant"] += 1

    # -- obligations and their facts

    def obligation(self, agreement, obj, spec: ObligationSpec, clauses, parties, locations,
                   sources) -> None:
        zone = self.spec.zone
        is_new = obj is None
        obj = obj or Obligation(agreement=agreement, slug=spec.slug)
        facts = False
        if not is_new:
            # Facts first, so the stored deadline is computed from what is now published.
            facts |= self.sync_changes(obj, spec.changes, sources)
            facts |= self.sync_reports(obj, spec.reports, sources)
        values = {**spec.values, "clause_id": clauses[spec.clause].pk}
        # The stored deadline is also kept by the sweep (as of the instant it assesses,
        # which a `sweep --as-of` replay moves into the past): set it when its inputs
        # change here, and otherwise leave it alone, so a reload stays a no-op.
        if is_new or facts or self.zone_changed or any(
            getattr(obj, k) != spec.values[k] for k in ("kind", "original_due_date")
        ):
            values.update(self.due_values(obj, spec, zone))
        changed = self.upsert("obligation", obj, values, bump_version=True)
        m2m_changed = False
        for name, pks in (
            ("responsible", [parties[s].pk for s in spec.responsible]),
            ("monitors", [parties[s].pk for s in spec.monitors]),
            ("locations", [locations[s].pk for s in spec.locations]),
            ("sources", [sources[k].pk for k in spec.sources]),
        ):
            m2m_changed |= self.set_m2m(getattr(obj, name), pks)
        self.count_m2m("obligation", changed, is_new, m2m_changed)
        if is_new:
            self.sync_changes(obj, spec.changes, sources)
            self.sync_reports(obj, spec.reports, sources)
        if is_new or facts or changed & _FACT_FIELDS:
            self.changed_ids.add(obj.pk)

    def due_values(self, obj: Obligation, spec: ObligationSpec, zone: ZoneInfo) -> dict[str, Any]:
        """The deadline in force now, after every published change agreed so far.

        A new obligation's changes are all the file's (about to be created in file order,
        hence the ids, which break ties as the engine does); an existing one's are read
        back after syncing, staff-entered changes included.
        """
        original = spec.values["original_due_date"]
        if original is None:
            return {"due_date": None, "due_at": None}
        if obj.pk:
            facts = [
                engine.DeadlineChangeFact(c.due_date, c.agreed_at, c.id)
                for c in DeadlineChange.objects.filter(
                    obligation=obj, review_state=V.PUBLISHED
                ).only("id", "due_date", "agreed_at")
            ]
        else:
            facts = [
                engine.DeadlineChangeFact(c.due_date, c.agreed_at, i)
                for i, c in enumerate(spec.changes, start=1)
            ]
        due = engine.deadline_in_force(
            engine.Facts(kind=V.DEADLINE, zone=zone, effective_at=self.now,
                         original_due_date=original, changes=tuple(facts)),
            self.now,
        )
        return {"due_date": due, "due_at": engine.due_instant(due, zone)}

    @staticmethod
    def _keys(row) -> frozenset[str]:
        return frozenset(s.key for s in row.sources.all())

    def sync_changes(self, obligation: Obligation, specs: list[ChangeSpec],
                     sources: dict[str, Source]) -> bool:
        rows = (
            list(obligation.deadline_changes.select_for_update().prefetch_related("sources"))
            if obligation.pk else []
        )

        def identity(c: DeadlineChange) -> tuple:
            return (c.due_date, c.agreed_at, c.reason, self._keys(c), c.unconfirmed, c.note)

        # Match in order of preference: the file's own published changes; identical staff
        # ones (an exported file reloads cleanly); file ones a reviewer rejected (kept so).
        tiers = [
            [c for c in rows if c.origin == FILE_ORIGIN and c.review_state == V.PUBLISHED],
            [c for c in rows if c.origin != FILE_ORIGIN and c.review_state == V.PUBLISHED],
            [c for c in rows if c.origin == FILE_ORIGIN and c.review_state == V.REJECTED
             and c.rejection_reason != REMOVED_REASON],
        ]
        unmatched, leftovers = _match(specs, tiers, identity)
        changed = False
        for old in leftovers[0]:
            old.review_state = V.REJECTED
            old.rejection_reason = REMOVED_REASON
            old.reviewed_at = self.now
            old.version += 1  # an editor holding the old version must not overwrite this
            old.save(update_fields=["review_state", "rejection_reason", "reviewed_at", "version"])
            self.retired["deadline change"] += 1
            changed = True
        for spec in unmatched:
            row = DeadlineChange.objects.create(
                obligation=obligation, due_date=spec.due_date, agreed_at=spec.agreed_at,
                reason=spec.reason, unconfirmed=spec.unconfirmed, note=spec.note,
                review_state=V.PUBLISHED, origin=FILE_ORIGIN, published_at=self.now,
            )
            row.sources.set([sources[k].pk for k in sorted(spec.sources)])
            self.created["deadline change"] += 1
            changed = True
        self.unchanged["deadline change"] += len(specs) - len(unmatched)
        return changed

    def sync_reports(self, obligation: Obligation, specs: list[ReportSpec],
                     sources: dict[str, Source]) -> bool:
        rows = (
            list(obligation.reports.filter(review_state=V.PUBLISHED)
                 .select_for_update(of=("self",))
                 .select_related("superseded_by").prefetch_related("sources"))
            if obligation.pk else []
        )

        def identity(r: Report) -> tuple:
            return (r.claim, r.occurred_at, r.occurred_date_only, r.summary, self._keys(r),
                    r.unconfirmed, r.note)

        def current(r: Report) -> bool:
            return r.superseded_at is None and not r.retracts

        def corrected_by_staff(r: Report) -> bool:
            successor = getattr(r, "superseded_by", None)
            return r.superseded_at is not None and successor is not None and (
                successor.origin != FILE_ORIGIN)

        tiers = [
            [r for r in rows if r.origin == FILE_ORIGIN and current(r)],
            [r for r in rows if r.origin != FILE_ORIGIN and current(r)],
            [r for r in rows if r.origin == FILE_ORIGIN and corrected_by_staff(r)],
        ]
        unmatched, leftovers = _match(specs, tiers, identity)
        retired = leftovers[0]
        # A changed report: the new one supersedes the old one with the same claim and
        # instant (or the only old one left with that claim); otherwise it was removed.
        successors: dict[int, ReportSpec] = {}
        pending = list(unmatched)
        for old in retired:
            same = [s for s in pending if (s.claim, s.occurred_at) == (old.claim, old.occurred_at)]
            if not same:
                olds = [r for r in retired if r.claim == old.claim and r.pk not in successors]
                news = [s for s in pending if s.claim == old.claim]
                same = news if len(olds) == 1 and len(news) == 1 else []
            if same:
                successors[old.pk] = same[0]
                pending.remove(same[0])
        # A staff correction still in draft would correct a report the file has just
        # replaced: reject it with the reason (it keeps its text; the editor can redo it
        # against the new report). Reports.supersedes is one-to-one, so it must let go.
        orphans = Report.objects.select_for_update().filter(
            supersedes__in=[r.pk for r in retired], review_state=V.DRAFT
        )
        for draft in orphans:  # saved one by one so the audit trail records each
            draft.supersedes = None
            draft.review_state = V.REJECTED
            draft.reviewed_at = self.now
            draft.rejection_reason = DRAFT_ORPHANED_REASON
            draft.version += 1
            draft.save(update_fields=[
                "supersedes", "review_state", "reviewed_at", "rejection_reason", "version",
            ])
        for old in retired:
            old.superseded_at = self.now
            old.version += 1
            fields = ["superseded_at", "version"]
            if old.pk not in successors:
                old.correction_reason = REMOVED_REASON
                fields.append("correction_reason")
            old.save(update_fields=fields)
            self.retired["report"] += 1
        for spec in unmatched:
            old = next((r for r in retired if successors.get(r.pk) is spec), None)
            row = Report.objects.create(
                obligation=obligation, claim=spec.claim, occurred_at=spec.occurred_at,
                occurred_date_only=spec.occurred_date_only, summary=spec.summary,
                unconfirmed=spec.unconfirmed, note=spec.note, review_state=V.PUBLISHED,
                origin=FILE_ORIGIN, published_at=self.now, supersedes=old,
                correction_reason=CHANGED_REASON if old else "",
            )
            row.sources.set([sources[k].pk for k in sorted(spec.sources)])
            self.created["report"] += 1
        self.unchanged["report"] += len(specs) - len(unmatched)
        return bool(retired or unmatched)

    # -- what the file no longer has

    def remove_missing(self, agreement, existing, clauses, sources) -> None:
        """Drop obligations, clauses and sources the file dropped, if nothing refers to them.

        Anything with facts recorded against it stays, and the load fails saying so:
        deleting it would rewrite history, keeping it silently would hide a mistake.
        """
        wanted = {o.slug for o in self.spec.obligations}
        for slug, o in existing.items():
            if slug in wanted:
                continue
            reports, changes = o.reports.count(), o.deadline_changes.count()
            if reports or changes:
                self.fail(("obligations",),
                          f"obligation {slug!r} is no longer in the file but has {reports} "
                          f"report(s) and {changes} deadline change(s) recorded; put it back "
                          "(history is never deleted by a load)")
                continue
            o.delete()
            self.removed["obligation"] += 1
        wanted_clauses = {c.number for c in self.spec.clauses}
        for number, c in clauses.items():
            if number in wanted_clauses:
                continue
            if c.obligations.exists():
                self.fail(("clauses",), f"clause {number!r} is no longer in the file but "
                                        "obligations still refer to it")
                continue
            c.delete()
            self.removed["clause"] += 1
        wanted_sources = {s.key for s in self.spec.sources}
        for key, s in sources.items():
            if key in wanted_sources:
                continue
            cited = (s.reports.count() + s.deadline_changes.count() + s.obligations.count()
                     + s.clause_variants.count())
            if cited:
                self.fail(("sources",), f"source {key!r} is no longer in the file but {cited} "
                                        "record(s) cite it (superseded reports included); "
                                        "keep it in the file")
                continue
            s.delete()
            self.removed["source"] += 1


def _match(specs, tiers, identity):
    """Pair file entries with stored rows of equal content, tier by tier.

    Returns (entries with no stored row, [unpaired rows of each tier]).
    """
    remaining = list(specs)
    leftovers = []
    for rows in tiers:
        by_identity: dict[tuple, list] = defaultdict(list)
        for row in rows:
            by_identity[identity(row)].append(row)
        still = []
        for spec in remaining:
            bucket = by_identity.get(spec.identity())
            if bucket:
                bucket.pop(0)
            else:
                still.append(spec)
        remaining = still
        leftovers.append([row for bucket in by_identity.values() for row in bucket])
    return remaining, leftovers


def load(path: Path | str) -> LoadResult:
    """Check `path`, then upsert it in one transaction.

    On LoaderError (a bad file, or a removal that would lose history) nothing is written.
    """
    spec = check_file(path)
    with transaction.atomic():
        if connection.vendor == "postgresql":
            # One load at a time: two loads creating the same new party or agreement would
            # otherwise collide on a unique constraint instead of one seeing the other's.
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        result = _Writer(spec, str(path)).run()
        if result.changed_obligation_ids:
            facts_changed(result.changed_obligation_ids)
    return result


def load_agreement_file(path: Path | str) -> Agreement:
    """Load one agreement file (see `load`) and return its Agreement."""
    return load(path).agreement
