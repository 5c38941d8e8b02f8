"""Stage 3, write: the checked spec into the tracker's models, in the caller's transaction.

Only rows whose values differ are saved, so loading the same file twice writes nothing
(no history rows, no re-assessment). Facts (reports, deadline changes) are matched by
content: a changed one is superseded or rejected and a new one published, never edited
in place.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from deadlines import engine
from tracker import vocabulary as V
from tracker.loader.errors import FileError, KeyPath, LoaderError
from tracker.loader.spec import AgreementSpec, ChangeSpec, ClauseSpec, ObligationSpec, ReportSpec
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

FILE_ORIGIN = "file"
REMOVED_REASON = "removed from the agreement file"
CHANGED_REASON = "changed in the agreement file"
DRAFT_ORPHANED_REASON = (
    "the report this draft corrects was replaced by a reload of the agreement file; "
    "correct the new report instead"
)


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


class Writer:
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

