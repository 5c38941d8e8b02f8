"""The checked, typed content of an agreement file: what the check stage builds from
the YAML and the write stage stores. Plain values, no database."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo


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
