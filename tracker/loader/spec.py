"""The checked, typed content of an agreement file: what the check stage builds from
the YAML and the write stage stores. Plain values, no database."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from tracker.loader.errors import KeyPath


@dataclass
class PartySpec:
    slug: str
    name: str
    kind: str
    former_names: list[dict] = field(default_factory=list)  # as stored (tracker.naming)


@dataclass
class ClaimantSpec:
    slug: str
    name: str
    kind: str
    party: str  # a party slug of the file, or ""


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
class ClauseTextSpec:
    language: str
    text: str
    sources: list[str]
    translation: bool
    note: str


@dataclass
class ClauseSpec:
    number: str
    text: str
    position: int
    variants: list[VariantSpec]
    texts: list[ClauseTextSpec]


@dataclass(frozen=True)
class ChangeSpec:
    due_date: date
    agreed_at: datetime
    reason: str
    sources: frozenset[str]
    unconfirmed: bool
    note: str
    published_at: datetime

    def identity(self) -> tuple:
        return (self.due_date, self.agreed_at, self.reason, self.sources, self.unconfirmed,
                self.note, self.published_at)

    def staff_identity(self) -> tuple:
        """Matched against staff facts: when the tracker published those is its own."""
        return self.identity()[:-1]


@dataclass(frozen=True)
class ReportSpec:
    claim: str
    occurred_at: datetime
    occurred_date_only: bool
    summary: str
    sources: frozenset[str]
    unconfirmed: bool
    note: str
    published_at: datetime
    key: str = ""
    actors: frozenset[str] = frozenset()
    claimant: str = ""
    contests: str = ""  # the key of a report of the same obligation in this file

    def identity(self) -> tuple:
        return (*self.staff_identity(), self.key, self.published_at)

    def staff_identity(self) -> tuple:
        """Matched against staff facts: a staff report has no key of its own, and when
        the tracker published it is its own."""
        return (self.claim, self.occurred_at, self.occurred_date_only, self.summary,
                self.sources, self.unconfirmed, self.note, self.actors, self.claimant,
                self.contests)


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
class RelationSpec:
    kind: str
    agreement: str  # the earlier agreement's slug
    term: str  # one of its obligations' slugs, or "" for the agreement as a whole
    replacement: str  # an obligation slug of this file, or ""
    at: datetime
    sources: list[str]
    note: str
    unconfirmed: bool
    published_at: datetime
    path: KeyPath  # where it is in the file, for the checks that need the database

    def identity(self) -> tuple[str, str, str]:
        return (self.kind, self.agreement, self.term)


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
    claimants: list[ClaimantSpec] = field(default_factory=list)
    relations: list[RelationSpec] = field(default_factory=list)
    # The line of every key path, so that checks made while writing name it too.
    lines: dict[KeyPath, int] = field(default_factory=dict)
