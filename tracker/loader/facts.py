"""The file's facts (reports, deadline changes) against the stored ones, for a whole
agreement at once.

Facts are matched by content, never edited in place: a stored file fact the file no
longer has is retired (a report superseded, a deadline change rejected) and the file's
new version published. Staff facts are never touched; a file entry equal to a published
staff fact is taken as already there (an exported file reloads cleanly), and a file
fact a reviewer superseded or rejected stays so. A report's `contests` names another by
its key; when a reload supersedes the contested report, the reports contesting it (from
the file or staff) follow it to its new version, since their own content is unchanged.
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
from tracker.models import Claimant, DeadlineChange, Obligation, Party, Report, Source

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
        # For reports: whose act (party slugs), who says so, which report each contests
        # (by its key: the file's, or `report-<id>` for a staff report, as exported).
        self.actors: dict[int, frozenset[str]] = {}
        self.claimant_of: dict[int, str] = {}
        self.contest_key: dict[int, str] = {}
        # The stored report each file report stands for once written (matched or new):
        # `contests` is resolved through it.
        self.row_of: dict[tuple[str, str], Report] = {}  # (obligation slug, key) -> row
        self.matched: list[tuple[str, ReportSpec, Report]] = []  # file rows kept as they are

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
        acts = bulk.rows_in(Report.actors.through.objects.values_list("report_id", "party_id"),
                            "report_id", [r.pk for r in reports])
        party_slug = dict(Party.objects.filter(pk__in={p for _, p in acts})
                          .values_list("pk", "slug"))
        actors: dict[int, set[str]] = defaultdict(set)
        for report, party in acts:
            actors[report].add(party_slug[party])
        self.actors = {k: frozenset(v) for k, v in actors.items()}
        claimant_slug = dict(Claimant.objects.filter(
            pk__in={r.claimant_id for r in reports if r.claimant_id}).values_list("pk", "slug"))
        self.claimant_of = {r.pk: claimant_slug[r.claimant_id] for r in reports if r.claimant_id}
        # A report contests one of the same obligation: all of them were read above,
        # unless it contests a draft or rejected one (then it matches no file entry).
        key_of_report = {r.pk: report_key(r) for r in reports}
        self.contest_key = {r.pk: key_of_report.get(r.contests_id, f"report-{r.contests_id}")
                            for r in reports if r.contests_id}
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

        def staff_identity(c: DeadlineChange) -> tuple:
            return (c.due_date, c.agreed_at, c.reason, self.keys.get(("change", c.pk),
                    frozenset()), c.unconfirmed, c.note)

        def identity(c: DeadlineChange) -> tuple:
            return (*staff_identity(c), c.published_at)

        # Match in order of preference: the file's own published changes; identical staff
        # ones (an exported file reloads cleanly); file ones a reviewer rejected (kept so).
        # Only the file's own must match when they were published too: the others'
        # publication is the tracker's act, not the file's.
        tiers = [
            ([c for c in rows if c.origin == FILE_ORIGIN and c.review_state == V.PUBLISHED],
             identity, ChangeSpec.identity),
            ([c for c in rows if c.origin != FILE_ORIGIN and c.review_state == V.PUBLISHED],
             staff_identity, ChangeSpec.staff_identity),
            ([c for c in rows if c.origin == FILE_ORIGIN and c.review_state == V.REJECTED
              and c.rejection_reason != REMOVED_REASON], staff_identity,
             ChangeSpec.staff_identity),
        ]
        unmatched, leftovers, _ = _match(spec.changes, tiers)
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

        def staff_identity(r: Report) -> tuple:
            return (r.claim, r.occurred_at, r.occurred_date_only, r.summary,
                    self.keys.get(("report", r.pk), frozenset()), r.unconfirmed, r.note,
                    self.actors.get(r.pk, frozenset()), self.claimant_of.get(r.pk, ""),
                    self.contest_key.get(r.pk, ""))

        def identity(r: Report) -> tuple:
            return (*staff_identity(r), r.key, r.published_at)

        def current(r: Report) -> bool:
            return r.superseded_at is None and not r.retracts

        tiers = [
            ([r for r in rows if r.origin == FILE_ORIGIN and current(r)], identity,
             ReportSpec.identity),
            ([r for r in rows if r.origin != FILE_ORIGIN and current(r)], staff_identity,
             ReportSpec.staff_identity),
            ([r for r in rows if r.origin == FILE_ORIGIN and r.superseded_at is not None
              and r.pk in self.staff_successor], staff_identity, ReportSpec.staff_identity),
        ]
        unmatched, leftovers, pairs = _match(spec.reports, tiers)
        for report in spec.reports:
            row = pairs.get(id(report))
            if row is not None:
                if report.key:
                    self.row_of[(spec.slug, report.key)] = row
                if row.origin == FILE_ORIGIN and row.superseded_at is None:
                    self.matched.append((spec.slug, report, row))
        retired = leftovers[0]
        # A changed report: the new one supersedes the old one with the same claim and
        # instant (or the only old one left with that claim); otherwise it was removed.
        pending = list(unmatched)
        for old in retired:
            # The same key first (two accounts of one event may share claim and instant).
            same = [s for s in pending if old.key and s.key == old.key]
            if not same:
                same = [s for s in pending
                        if (s.claim, s.occurred_at) == (old.claim, old.occurred_at)]
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

    def write(self, obligations: dict[str, Obligation], sources: dict[str, Source],
              parties: dict[str, Party], claimants: dict[str, Claimant]) -> None:
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
                review_state=V.PUBLISHED, origin=FILE_ORIGIN, published_at=c.published_at,
            )
            for slug, c in self.new_changes
        ]
        self._create_with_sources(DeadlineChange, changes, [c for _, c in self.new_changes],
                                  sources)
        self.tally.created["deadline change"] += len(changes)
        self._write_reports(obligations, sources, parties, claimants)

    def _write_reports(self, obligations: dict[str, Obligation], sources: dict[str, Source],
                       parties: dict[str, Party], claimants: dict[str, Claimant]) -> None:
        predecessor = {id(spec): pk for pk, spec in self.successors.items()}
        reports = []
        for slug, r in self.new_reports:
            old = predecessor.get(id(r))
            row = Report(
                obligation=obligations[slug], claim=r.claim, occurred_at=r.occurred_at,
                occurred_date_only=r.occurred_date_only, summary=r.summary,
                unconfirmed=r.unconfirmed, note=r.note, review_state=V.PUBLISHED,
                origin=FILE_ORIGIN, published_at=r.published_at, supersedes_id=old,
                correction_reason=CHANGED_REASON if old else "", key=r.key,
                claimant=claimants[r.claimant] if r.claimant else None,
            )
            reports.append(row)
            if r.key:
                self.row_of[(slug, r.key)] = row
        if reports:
            bulk.create(Report, reports, history=False)
        # What each report contests, now that every one has an id; a kept report whose
        # contested report was just superseded follows it to its new version (`followed`).
        for row, (slug, r) in zip(reports, self.new_reports, strict=True):
            if r.contests:
                row.contests_id = self.row_of[(slug, r.contests)].pk
        bulk.update(Report, [row for row in reports if row.contests_id], ["contests"],
                    history=False)
        followed = []
        for slug, r, row in self.matched:
            target = self.row_of[(slug, r.contests)].pk if r.contests else None
            if row.contests_id != target:
                row.contests_id = target
                row.version += 1
                followed.append(row)
        # Staff reports contesting a file report this load replaced follow it too.
        row_of_spec = {id(r): row for row, (_, r) in zip(reports, self.new_reports, strict=True)}
        new_version = {old: row_of_spec[id(spec)].pk for old, spec in self.successors.items()}
        for rows in self.reports.values():
            for row in rows:
                if (row.origin != FILE_ORIGIN and row.contests_id in new_version
                        and row.superseded_at is None):
                    row.contests_id = new_version[row.contests_id]
                    row.version += 1
                    followed.append(row)
        bulk.update(Report, followed, ["contests", "version"])
        self.tally.updated["report"] += len(followed)

        if reports:
            through = Report.actors.through
            through.objects.bulk_create(
                [through(report_id=row.pk, party_id=parties[p].pk)
                 for row, (_, r) in zip(reports, self.new_reports, strict=True)
                 for p in sorted(r.actors)],
                batch_size=bulk.BATCH,
            )
        self._create_with_sources(Report, reports, [r for _, r in self.new_reports], sources,
                                  created=True)
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
                             sources: dict[str, Source], created: bool = False) -> None:
        """Insert facts (unless `created`), then what they cite, then their history
        (sources and every other relation included)."""
        if not rows:
            return
        if not created:
            bulk.create(model, rows, history=False)
        through = model.sources.through
        owner = model.sources.field.m2m_field_name() + "_id"
        through.objects.bulk_create(
            [through(**{owner: row.pk, "source_id": sources[k].pk})
             for row, spec in zip(rows, specs, strict=True) for k in sorted(spec.sources)],
            batch_size=bulk.BATCH,
        )
        bulk.record_history(model, rows, update=False)


Tier = tuple[list[Any], Callable[[Any], tuple], Callable[[Any], tuple]]


def report_key(report: Report) -> str:
    """The report's key in a file: the file's own, or one made from its id (a staff
    report, exported so that another can contest it)."""
    return report.key or f"report-{report.pk}"


def _match(specs: list, tiers: list[Tier]) -> tuple[list, list[list], dict[int, Any]]:
    """Pair file entries with stored rows of equal content, tier by tier; each tier is
    (rows, the rows' identity, the entries' identity to compare with it).

    Returns (entries with no stored row, [unpaired rows of each tier],
    {id(entry): the row it was paired with}).
    """
    remaining = list(specs)
    leftovers = []
    pairs: dict[int, Any] = {}
    for rows, identity, spec_identity in tiers:
        by_identity: dict[tuple, list] = defaultdict(list)
        for row in rows:
            by_identity[identity(row)].append(row)
        still = []
        for spec in remaining:
            bucket = by_identity.get(spec_identity(spec))
            if bucket:
                pairs[id(spec)] = bucket.pop(0)
            else:
                still.append(spec)
        remaining = still
        leftovers.append([row for bucket in by_identity.values() for row in bucket])
    return remaining, leftovers, pairs
