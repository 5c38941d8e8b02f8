"""The file's facts (reports, deadline changes) against the stored ones, for a whole
agreement at once.

Facts are matched by content, never edited in place: a stored file fact the file no
longer has is retired (a report superseded, a deadline change rejected) and the file's
new version published. Staff facts are never touched; a file entry equal to a published
staff fact is taken as already there (an exported file reloads cleanly), and a file
fact a reviewer superseded or rejected stays so.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from datetime import datetime
from typing import Any

from deadlines import engine
from tracker import vocabulary as V
from tracker.loader import bulk
from tracker.loader.spec import ChangeSpec, ObligationSpec, ReportSpec
from tracker.models import DeadlineChange, Obligation, Report, Source

FILE_ORIGIN = "file"
REMOVED_REASON = "removed from the agreement file"
CHANGED_REASON = "changed in the agreement file"
DRAFT_ORPHANED_REASON = (
    "the report this draft corrects was replaced by a reload of the agreement file; "
    "correct the new report instead"
)
# Stands in for the id of a change not yet created: above every stored id, in file
# order, as the ids it will get (the engine breaks ties between changes by id).
_NOT_YET = 10**15


class FactSync:
    """Plans every obligation's fact writes (`plan`), then writes them together (`write`)."""

    def __init__(self, tally: bulk.Tally, now: datetime):
        self.tally = tally
        self.now = now
        self.changes: dict[int, list[DeadlineChange]] = defaultdict(list)
        self.reports: dict[int, list[Report]] = defaultdict(list)
        self.keys: dict[tuple[str, int], frozenset[str]] = {}  # (model, pk) -> source keys
        self.staff_successor: set[int] = set()  # reports superseded by a staff correction
        self.retired_changes: list[DeadlineChange] = []
        self.retired_reports: list[Report] = []
        self.successors: dict[int, ReportSpec] = {}  # old report pk -> its new version
        self.new_changes: list[tuple[str, ChangeSpec]] = []  # (obligation slug, spec)
        self.new_reports: list[tuple[str, ReportSpec]] = []
        self.in_force: dict[str, list[engine.DeadlineChangeFact]] = {}

    # -- read

    def read(self, obligations: list[Obligation]) -> None:
        """Lock and read the stored facts of `obligations` (published reports, every
        deadline change) and the keys of the sources they cite."""
        pks = [o.pk for o in obligations]
        changes = bulk.rows_in(DeadlineChange.objects.select_for_update(), "obligation_id", pks)
        reports = bulk.rows_in(
            Report.objects.filter(review_state=V.PUBLISHED).select_for_update(),
            "obligation_id", pks,
        )
        for c in changes:
            self.changes[c.obligation_id].append(c)
        for r in reports:
            self.reports[r.obligation_id].append(r)
        pairs = {
            "change": bulk.rows_in(DeadlineChange.sources.through.objects.values_list(
                "deadlinechange_id", "source_id"), "deadlinechange_id", [c.pk for c in changes]),
            "report": bulk.rows_in(Report.sources.through.objects.values_list(
                "report_id", "source_id"), "report_id", [r.pk for r in reports]),
        }
        source_ids = {s for rows in pairs.values() for _, s in rows}
        key_of = dict(Source.objects.filter(pk__in=source_ids).values_list("pk", "key"))
        found: dict[tuple[str, int], set[str]] = defaultdict(set)
        for kind, rows in pairs.items():
            for fact, source in rows:
                found[(kind, fact)].add(key_of[source])
        self.keys = {k: frozenset(v) for k, v in found.items()}
        superseded = [r.pk for r in reports if r.superseded_at]
        self.staff_successor = set(
            Report.objects.filter(supersedes__in=superseded)
            .exclude(origin=FILE_ORIGIN).values_list("supersedes_id", flat=True)
        )

    # -- plan (no writes)

    def plan(self, obligation: Obligation | None, spec: ObligationSpec) -> bool:
        """Decide this obligation's fact writes; True when its facts change."""
        if obligation is None:
            self.in_force[spec.slug] = self._in_force([], spec.changes)
            self.new_changes += [(spec.slug, c) for c in spec.changes]
            self.new_reports += [(spec.slug, r) for r in spec.reports]
            return bool(spec.changes or spec.reports)
        changes = self._plan_changes(obligation, spec)
        reports = self._plan_reports(obligation, spec)
        return changes or reports

    def _plan_changes(self, obligation: Obligation, spec: ObligationSpec) -> bool:
        rows = self.changes.get(obligation.pk, [])

        def identity(c: DeadlineChange) -> tuple:
            return (c.due_date, c.agreed_at, c.reason, self.keys.get(("change", c.pk),
                    frozenset()), c.unconfirmed, c.note)

        # Match in order of preference: the file's own published changes; identical staff
        # ones (an exported file reloads cleanly); file ones a reviewer rejected (kept so).
        tiers = [
            [c for c in rows if c.origin == FILE_ORIGIN and c.review_state == V.PUBLISHED],
            [c for c in rows if c.origin != FILE_ORIGIN and c.review_state == V.PUBLISHED],
            [c for c in rows if c.origin == FILE_ORIGIN and c.review_state == V.REJECTED
             and c.rejection_reason != REMOVED_REASON],
        ]
        unmatched, leftovers = _match(spec.changes, tiers, identity)
        retired = leftovers[0]
        kept = [c for c in rows if c.review_state == V.PUBLISHED and c not in retired]
        self.in_force[spec.slug] = self._in_force(kept, unmatched)
        self.retired_changes += retired
        self.new_changes += [(spec.slug, c) for c in unmatched]
        self.tally.unchanged["deadline change"] += len(spec.changes) - len(unmatched)
        return bool(retired or unmatched)

    def _in_force(self, kept: list[DeadlineChange], new: list[ChangeSpec],
                  ) -> list[engine.DeadlineChangeFact]:
        """The published changes once written (what the stored deadline is computed from)."""
        base = _NOT_YET + len(self.new_changes)
        return [
            *(engine.DeadlineChangeFact(c.due_date, c.agreed_at, c.pk) for c in kept),
            *(engine.DeadlineChangeFact(c.due_date, c.agreed_at, base + i)
              for i, c in enumerate(new)),
        ]

    def _plan_reports(self, obligation: Obligation, spec: ObligationSpec) -> bool:
        rows = self.reports.get(obligation.pk, [])

        def identity(r: Report) -> tuple:
            return (r.claim, r.occurred_at, r.occurred_date_only, r.summary,
                    self.keys.get(("report", r.pk), frozenset()), r.unconfirmed, r.note)

        def current(r: Report) -> bool:
            return r.superseded_at is None and not r.retracts

        tiers = [
            [r for r in rows if r.origin == FILE_ORIGIN and current(r)],
            [r for r in rows if r.origin != FILE_ORIGIN and current(r)],
            [r for r in rows if r.origin == FILE_ORIGIN and r.superseded_at is not None
             and r.pk in self.staff_successor],
        ]
        unmatched, leftovers = _match(spec.reports, tiers, identity)
        retired = leftovers[0]
        # A changed report: the new one supersedes the old one with the same claim and
        # instant (or the only old one left with that claim); otherwise it was removed.
        pending = list(unmatched)
        for old in retired:
            same = [s for s in pending if (s.claim, s.occurred_at) == (old.claim, old.occurred_at)]
            if not same:
                olds = [r for r in retired if r.claim == old.claim and r.pk not in self.successors]
                news = [s for s in pending if s.claim == old.claim]
                same = news if len(olds) == 1 and len(news) == 1 else []
            if same:
                self.successors[old.pk] = same[0]
                pending.remove(same[0])
        self.retired_reports += retired
        self.new_reports += [(spec.slug, r) for r in unmatched]
        self.tally.unchanged["report"] += len(spec.reports) - len(unmatched)
        return bool(retired or unmatched)

    # -- write

    def write(self, obligations: dict[str, Obligation], sources: dict[str, Source]) -> None:
        """Retire, then create, every planned fact (obligations all have pks by now)."""
        for old in self.retired_changes:
            old.review_state = V.REJECTED
            old.rejection_reason = REMOVED_REASON
            old.reviewed_at = self.now
            old.version += 1  # an editor holding the old version must not overwrite this
        bulk.update(DeadlineChange, self.retired_changes,
                    ["review_state", "rejection_reason", "reviewed_at", "version"])
        self.tally.retired["deadline change"] += len(self.retired_changes)
        self._orphan_drafts()
        by_fields: dict[bool, list[Report]] = defaultdict(list)
        for old in self.retired_reports:
            old.superseded_at = self.now
            old.version += 1
            removed = old.pk not in self.successors
            if removed:
                old.correction_reason = REMOVED_REASON
            by_fields[removed].append(old)
        for removed, olds in by_fields.items():
            fields = ["superseded_at", "version", *(["correction_reason"] if removed else [])]
            bulk.update(Report, olds, fields)
        self.tally.retired["report"] += len(self.retired_reports)

        changes = [
            DeadlineChange(
                obligation=obligations[slug], due_date=c.due_date, agreed_at=c.agreed_at,
                reason=c.reason, unconfirmed=c.unconfirmed, note=c.note,
                review_state=V.PUBLISHED, origin=FILE_ORIGIN, published_at=self.now,
            )
            for slug, c in self.new_changes
        ]
        self._create_with_sources(DeadlineChange, changes, [c for _, c in self.new_changes],
                                  sources)
        self.tally.created["deadline change"] += len(changes)
        predecessor = {id(spec): pk for pk, spec in self.successors.items()}
        reports = []
        for slug, r in self.new_reports:
            old = predecessor.get(id(r))
            reports.append(Report(
                obligation=obligations[slug], claim=r.claim, occurred_at=r.occurred_at,
                occurred_date_only=r.occurred_date_only, summary=r.summary,
                unconfirmed=r.unconfirmed, note=r.note, review_state=V.PUBLISHED,
                origin=FILE_ORIGIN, published_at=self.now, supersedes_id=old,
                correction_reason=CHANGED_REASON if old else "",
            ))
        self._create_with_sources(Report, reports, [r for _, r in self.new_reports], sources)
        self.tally.created["report"] += len(reports)

    def _orphan_drafts(self) -> None:
        """A staff correction still in draft would correct a report the file has just
        replaced: reject it with the reason (it keeps its text; the editor can redo it
        against the new report). Report.supersedes is one-to-one, so it must let go."""
        if not self.retired_reports:
            return
        drafts = list(Report.objects.select_for_update().filter(
            supersedes__in=[r.pk for r in self.retired_reports], review_state=V.DRAFT
        ))
        for draft in drafts:
            draft.supersedes = None
            draft.review_state = V.REJECTED
            draft.reviewed_at = self.now
            draft.rejection_reason = DRAFT_ORPHANED_REASON
            draft.version += 1
        bulk.update(Report, drafts, ["supersedes", "review_state", "reviewed_at",
                                     "rejection_reason", "version"])

    @staticmethod
    def _create_with_sources(model: Any, rows: list[Any], specs: list[Any],
                             sources: dict[str, Source]) -> None:
        """Insert facts, then what they cite, then their history (sources included)."""
        if not rows:
            return
        bulk.create(model, rows, history=False)
        through = model.sources.through
        owner = model.sources.field.m2m_field_name() + "_id"
        through.objects.bulk_create(
            [through(**{owner: row.pk, "source_id": sources[k].pk})
             for row, spec in zip(rows, specs, strict=True) for k in sorted(spec.sources)],
            batch_size=bulk.BATCH,
        )
        bulk.record_history(model, rows, update=False)


def _match(specs: list, tiers: list[list], identity: Callable[[Any], tuple],
           ) -> tuple[list, list[list]]:
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
