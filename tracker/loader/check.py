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
from tracker import instants, naming
from tracker import vocabulary as V
from tracker.instants import InstantError
from tracker.loader.errors import FileError, KeyPath, LoaderError
from tracker.loader.read import gc_paused, read_yaml
from tracker.loader.spec import (
    AgreementSpec,
    ChangeSpec,
    ClaimantSpec,
    ClauseSpec,
    ClauseTextSpec,
    LocationSpec,
    ObligationSpec,
    PartySpec,
    RelationSpec,
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


def default_published(dates: list[date], happened: datetime, zone: ZoneInfo,
                      floor: datetime | None = None) -> datetime:
    """When a fact from a file became public, when the file does not say: the earliest
    of its sources' dates (00:00 local), but not before `floor` (default: when it
    happened; a source older than the event, such as the agreement's text, does not
    make it public earlier); with no dated source, when it happened. The exporter
    leaves out a `published_at` equal to this."""
    if not dates:
        return happened
    return max(engine.local_midnight(min(dates), zone), floor or happened)


def _dicts(value: Any) -> list[tuple[int, dict]]:
    """The mapping items of a list, with their index; tolerant of shapes the schema rejected."""
    if not isinstance(value, list):
        return []
    return [(i, item) for i, item in enumerate(value) if isinstance(item, dict)]


def _unknown_language(language: str, allowed: tuple[str, ...], key: str = "") -> str:
    english = f" (English is the plain `{key}`)" if key and language == "en" else ""
    return (f"unknown language code {language!r}{english}; allowed here: "
            f"{', '.join(allowed)}")


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "aeiou" else f"a {word}"


def _strs(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


# The built-in claimant of editorial findings: created on first use, never in a file.
TRACKER_CLAIMANT = "tracker"
# English is the plain keys (`title`, `description`, a clause's `text`); these the others.
OTHER_LANGUAGES = ("az", "hy", "ru")
# A clause's text as published may also be English (where `text` is a paraphrase).
TEXT_LANGUAGES = ("en", *OTHER_LANGUAGES)

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
        self.zone: ZoneInfo | None = None
        self.source_dates: dict[str, date] = {}
        self.claimants: set[str] = {TRACKER_CLAIMANT}
        self.report_keys: dict[str, int] = {}

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
        claimants = _dicts(d.get("claimants"))
        locations = _dicts(d.get("locations"))
        sources = _dicts(d.get("sources"))
        relations = _dicts(d.get("relations"))
        clauses = _dicts(d.get("clauses"))
        obligations = _dicts(d.get("obligations"))
        party_slugs = self._unique(parties, "slug", "parties")
        claimant_slugs = self._unique(claimants, "slug", "claimants")
        location_slugs = self._unique(locations, "slug", "locations")
        source_keys = self._unique(sources, "key", "sources")
        clause_numbers = self._unique(clauses, "number", "clauses")
        obligation_slugs = self._unique(obligations, "slug", "obligations")
        self._languages(("titles",), d.get("titles"), OTHER_LANGUAGES, "title")
        self._languages(("descriptions",), d.get("descriptions"), OTHER_LANGUAGES, "description")
        for i, c in claimants:
            if c.get("slug") == TRACKER_CLAIMANT:
                self.add(("claimants", i, "slug"),
                         f"{TRACKER_CLAIMANT!r} is built in (the tracker's editorial "
                         "findings); a file may not define it")
            party = c.get("party")
            if isinstance(party, str) and party not in party_slugs:
                self.add(("claimants", i, "party"), f"unknown party {party!r}")
        self.claimants = claimant_slugs | {TRACKER_CLAIMANT}

        source_specs = []
        for i, s in sources:
            published = self._get(s, "published_at", ("sources", i), "date")
            source_specs.append(SourceSpec(str(s.get("key")), {
                "url": s.get("url"), "publisher": s.get("publisher"),
                "title": s.get("title") or "", "published_at": published,
                "language": s.get("language") or "",
            }))
        self.source_dates = {
            spec.key: spec.values["published_at"] for spec in source_specs
            if spec.values["published_at"] is not None
        }
        self.zone = zone
        urls = {spec.key: spec.values["url"] for spec in source_specs}
        former = {
            (section, i): self._former_names((section, i, "former_names"),
                                             item.get("former_names"), urls,
                                             place=section == "locations")
            for section, items in (("parties", parties), ("locations", locations))
            for i, item in items
        }

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
            texts = []
            seen_languages: set[str] = set()
            for j, t in _dicts(c.get("texts")):
                path = ("clauses", i, "texts", j)
                self._refs((*path, "sources"), t.get("sources"), source_keys, "source")
                language = t.get("language")
                if isinstance(language, str):
                    if language not in TEXT_LANGUAGES:
                        self.add((*path, "language"), _unknown_language(language, TEXT_LANGUAGES))
                    elif language in seen_languages:
                        self.add((*path, "language"), f"a second text in {language!r}")
                    seen_languages.add(language)
                texts.append(ClauseTextSpec(
                    str(language), str(t.get("text")), _strs(t.get("sources")),
                    bool(t.get("translation", False)), t.get("note") or "",
                ))
            clause_specs.append(ClauseSpec(str(c.get("number")), str(c.get("text")), i, variants,
                                           texts))

        # Report keys are unique in the file; `contests` names one of the same obligation.
        self.report_keys: dict[str, int] = {}
        for i, o in obligations:
            for j, r in _dicts(o.get("reports")):
                key = r.get("key")
                if not isinstance(key, str):
                    continue
                if key in self.report_keys:
                    self.add(("obligations", i, "reports", j, "key"),
                             f"duplicate report key {key!r} (keys are unique in the file)")
                else:
                    self.report_keys[key] = i

        obligation_specs = [
            spec
            for i, o in obligations
            if (spec := self._obligation(i, o, zone, signed, party_slugs, location_slugs,
                                         source_keys, clause_numbers)) is not None
        ]
        relation_specs = self._relations(relations, signed, obligation_slugs, source_keys)
        if self.errors or not self.build:
            return None
        assert zone is not None and signed is not None  # the schema made them required
        return AgreementSpec(
            slug=d["slug"],
            values={
                "title": d["title"], "signed_at": signed, "effective_at": effective,
                "timezone": d["timezone"], "warning_days": d.get("warning_days", 3),
                "description": d.get("description", ""), "titles": d.get("titles", {}),
                "descriptions": d.get("descriptions", {}),
            },
            zone=zone,
            parties=[PartySpec(p["slug"], p["name"], p["kind"], former[("parties", i)])
                     for i, p in parties],
            locations=[
                LocationSpec(loc["slug"], {
                    "kind": loc["kind"], "names": loc["names"],
                    "alt_name": loc.get("alt_name", ""), "aliases": loc.get("aliases", []),
                    "former_names": former[("locations", i)],
                    "latitude": loc.get("lat"), "longitude": loc.get("lon"),
                    "coordinates_note": loc.get("coordinates_note", ""),
                    "line": loc.get("line", []),
                })
                for i, loc in locations
            ],
            sources=source_specs,
            clauses=clause_specs,
            obligations=obligation_specs,
            claimants=[ClaimantSpec(c["slug"], c["name"], c["kind"], c.get("party", ""))
                       for _, c in claimants],
            relations=relation_specs,
        )

    def _former_names(self, path: KeyPath, value: Any, urls: dict[str, str],
                      place: bool) -> list[dict]:
        """A party's or a place's former names as stored (`tracker.naming`): `until`
        placed in time (a date: 00:00 local in the agreement's zone), sources as the
        addresses of their texts (parties and places are shared between agreements,
        sources are each file's own), ordered by `until`."""
        out: list[dict] = []
        seen: dict[datetime, int] = {}
        for j, entry in _dicts(value):
            epath = (*path, j)
            when = self._get(entry, "until", epath, "either") if self.zone else None
            until = _placed(when, self.zone)[0] if when and self.zone else None
            if until is not None and until > self.now:
                self.add((*epath, "until"),
                         "is after the present: a former name records a renaming that "
                         "already happened")
            elif until is not None and until in seen:
                self.add((*epath, "until"),
                         f"another former name (former_names[{seen[until]}]) ends at the "
                         "same instant")
            if until is not None:
                seen.setdefault(until, j)
            sources = []
            for k, ref in enumerate(_strs(entry.get("sources"))):
                if ref in urls:
                    sources.append(urls[ref])
                elif ref.startswith(("http://", "https://")):
                    sources.append(ref)
                else:
                    self.add((*epath, "sources", k), f"unknown source {ref!r}")
            if len(sources) != len(set(sources)):
                self.add((*epath, "sources"), "a source is listed twice")
            if until is None or not self.build:
                continue
            stored: dict[str, Any] = (
                {"names": entry["names"], **({"alt_name": entry["alt_name"]}
                                             if entry.get("alt_name") else {})}
                if place else {"name": entry["name"]}
            )
            stored.update(until=until.astimezone(UTC).isoformat(), sources=sources)
            if entry.get("note"):
                stored["note"] = entry["note"]
            out.append(stored)
        return naming.stored(out)

    def _languages(self, path: KeyPath, value: Any, allowed: tuple[str, ...], key: str) -> None:
        if not isinstance(value, dict):
            return
        for language in value:
            if language not in allowed:
                self.add((*path, language), _unknown_language(language, allowed, key))

    def _published(self, item: dict, path: KeyPath, cited: list[str],
                   happened: datetime | None, floor: datetime | None = None,
                   ) -> datetime | None:
        """When the tracker published a fact from the file: `published_at` if given,
        else the earliest cited source's date (00:00 local), else when it happened
        (`default_published`); never the load time. Not before `floor`: by default when
        it happened (a relation may be announced before it holds: its floor is the
        signing of the agreement that makes it)."""
        if self.zone is None or happened is None:
            return None
        floor = floor or happened
        when = self._get(item, "published_at", path, "either")
        if when is not None:
            given = _placed(when, self.zone)[0]
            if given > self.now:
                self.add((*path, "published_at"), FUTURE_FACT)
            elif given < floor:
                self.add((*path, "published_at"),
                         "published before it could be known (published_at is before "
                         f"{floor.astimezone(self.zone).isoformat()})")
            return given
        if item.get("published_at") is not None:  # given but unreadable: reported above
            return None
        return default_published([self.source_dates[k] for k in cited
                                  if k in self.source_dates], happened, self.zone, floor)

    def _relations(self, relations: list[tuple[int, dict]], signed: datetime | None,
                   obligations: set[str], sources: set[str]) -> list[RelationSpec]:
        out = []
        seen: set[tuple] = set()
        own = self.data.get("slug")
        for i, r in relations:
            path: KeyPath = ("relations", i)
            self._refs((*path, "sources"), r.get("sources"), sources, "source")
            # Wrong types are the schema's errors; here they only must not crash.
            kind, target, term, replacement = (
                v if isinstance(v, str) else "" for v in (
                    r.get("kind"), r.get("agreement"), r.get("term"), r.get("replacement")))
            if target == own:
                self.add((*path, "agreement"), "an agreement cannot relate to itself")
            identity = (kind, target, term)
            if identity in seen:
                self.add(path, f"the same relation twice ({kind} {target} {term})".rstrip())
            seen.add(identity)
            if replacement and replacement not in obligations:
                self.add((*path, "replacement"),
                         f"replacement {replacement!r} is not a term of this file")
            if replacement and kind != V.SUPERSEDES:
                self.add((*path, "replacement"),
                         f"only a relation of kind {V.SUPERSEDES!r} has a replacement, "
                         f"not {kind!r}")
            if replacement and not term:
                self.add((*path, "replacement"),
                         "a replacement takes the place of one term: give `term` too")
            when = self._get(r, "at", path, "either") if self.zone else None
            at = _placed(when, self.zone)[0] if when and self.zone else None
            if at and signed and at < signed:
                self.add((*path, "at"),
                         "a relation before this agreement was signed (at is before signed_at)")
            published = self._published(r, path, _strs(r.get("sources")), at, signed)
            if at and published:
                out.append(RelationSpec(
                    kind=str(kind), agreement=str(target), term=str(term),
                    replacement=str(replacement), at=at, sources=_strs(r.get("sources")),
                    note=r.get("note") or "", unconfirmed=bool(r.get("unconfirmed", False)),
                    published_at=published, path=path,
                ))
        return out

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
        self._languages((*path, "titles"), o.get("titles"), OTHER_LANGUAGES, "title")
        self._languages((*path, "descriptions"), o.get("descriptions"), OTHER_LANGUAGES,
                        "description")

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
            published = self._published(c, cpath, _strs(c.get("sources")),
                                         agreed[0] if agreed else None)
            if new_due and agreed and published:
                changes.append(ChangeSpec(
                    new_due, agreed[0], c.get("reason") or "", frozenset(_strs(c.get("sources"))),
                    bool(c.get("unconfirmed", False)), c.get("note") or "", published,
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
            if len(_strs(r.get("actors"))) != len(set(_strs(r.get("actors")))):
                self.add((*rpath, "actors"), "a party is listed twice")
            for k, actor in enumerate(_strs(r.get("actors"))):
                if actor not in parties:  # say why, beyond "unknown party"
                    self.add((*rpath, "actors", k),
                             f"actor {actor!r} is not a party of this agreement")
            claimant = r.get("claimant") if isinstance(r.get("claimant"), str) else ""
            if claimant and claimant not in self.claimants:
                self.add((*rpath, "claimant"),
                         f"unknown claimant {claimant!r} (define it under `claimants`, or "
                         f"use {TRACKER_CLAIMANT!r} for an editorial finding)")
            if claimant == TRACKER_CLAIMANT and not _strs(r.get("sources")):
                self.add((*rpath, "sources"),
                         "a finding (claimant 'tracker') must cite at least one source")
            contests = r.get("contests") if isinstance(r.get("contests"), str) else ""
            if claim == V.CLAIM_DENIAL and not contests:
                self.add((*rpath, "claim"),
                         "a denial must say which report it denies (`contests`)")
            if contests:
                self._contest(rpath, i, r.get("key"), contests)
            published = self._published(r, rpath, _strs(r.get("sources")),
                                        occurred[0] if occurred else None)
            if occurred and published:
                reports.append(ReportSpec(
                    claim, occurred[0], occurred[1], r.get("summary"),
                    frozenset(_strs(r.get("sources"))), bool(r.get("unconfirmed", False)),
                    r.get("note") or "", published, key=r.get("key") or "",
                    actors=frozenset(_strs(r.get("actors"))), claimant=claimant,
                    contests=contests,
                ))
        self._no_contest_cycle(path, _dicts(o.get("reports")))

        if self.errors or not self.build:
            return None
        term = o.get("term") or {}
        return ObligationSpec(
            slug=o["slug"],
            clause=str(o["clause"]),
            position=i,
            values={
                "title": o["title"], "description": o.get("description", ""),
                "titles": o.get("titles", {}), "descriptions": o.get("descriptions", {}),
                "text_dispute": o.get("text_dispute", ""), "kind": kind,
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


    def _contest(self, path: KeyPath, obligation: int, own: Any, contests: str) -> None:
        where = self.report_keys.get(contests)
        if where is None:
            self.add((*path, "contests"), f"contests an unknown report key {contests!r}")
        elif where != obligation:
            slug = _dicts(self.data.get("obligations"))[where][1].get("slug")
            self.add((*path, "contests"),
                     f"contests {contests!r}, a report of another term ({slug!r}); a report "
                     "may contest only one on the same term")
        elif contests == own:
            self.add((*path, "contests"), "a report cannot contest itself")

    def _no_contest_cycle(self, path: KeyPath, reports: list[tuple[int, dict]]) -> None:
        """A contest chain must end at a report that contests nothing (a case's root)."""
        target = {r["key"]: r["contests"] for _, r in reports
                  if isinstance(r.get("key"), str) and isinstance(r.get("contests"), str)}
        for j, r in reports:
            start = r.get("key")
            if not isinstance(start, str) or start not in target or target[start] == start:
                continue
            seen, key = {start}, target[start]
            while key in target:
                if key == start:
                    self.add((*path, "reports", j, "contests"),
                             "reports contest each other in a circle; one of them must be "
                             "the account the others contest")
                    break
                if key in seen:
                    break
                seen.add(key)
                key = target[key]


def line_of(lines: dict[KeyPath, int], path: KeyPath) -> int | None:
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
            errors.append(FileError(file, key_path, message, line_of(lines, key_path)))
    if errors or spec is None:
        raise LoaderError(errors or [FileError(file, (), "not an agreement file", 1)])
    spec.lines = lines
    return spec

