"""Stage 3, write: the checked spec into the tracker's models, in the caller's transaction.

Set-based: each kind of row is read once, compared in Python, and written with a few
bulk statements (`tracker.loader.bulk`), whatever the size of the file. Only rows whose
values differ are saved, so loading the same file twice writes nothing (no history
rows, no re-assessment). Facts are matched by content (`tracker.loader.facts`): a changed
one is superseded or rejected and a new one published, never edited in place.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import timezone

from deadlines import engine
from tracker import vocabulary as V
from tracker.loader import bulk
from tracker.loader.check import TRACKER_CLAIMANT, line_of
from tracker.loader.errors import FileError, KeyPath, LoaderError
from tracker.loader.facts import (
    CHANGED_REASON,
    DRAFT_ORPHANED_REASON,
    FILE_ORIGIN,
    REMOVED_REASON,
    FactSync,
)
from tracker.loader.spec import AgreementSpec, ObligationSpec
from tracker.models import (
    Agreement,
    AgreementRelation,
    Claimant,
    Clause,
    ClauseText,
    ClauseVariant,
    DeadlineChange,
    Location,
    Obligation,
    Party,
    Report,
    Source,
)
from tracker.services import SCHEDULE_FIELDS

__all__ = ["CHANGED_REASON", "DRAFT_ORPHANED_REASON", "FILE_ORIGIN", "REMOVED_REASON",
           "TRACKER_CLAIMANT_NAME", "LoadResult", "Writer"]


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
    "term_years", "renews_years", "notice_months", "text_dispute",
}
# Relation fields whose change alters how the terms it ends end.
_RELATION_FACT_FIELDS = {"at", "replacement_id"}
# The built-in claimant of the tracker's editorial findings (created on first use).
TRACKER_CLAIMANT_NAME = "Ceasefire-terms tracker (editorial finding)"


class Writer:
    def __init__(self, spec: AgreementSpec, file: str):
        self.spec = spec
        self.file = file
        self.now = timezone.now()
        self.errors: list[FileError] = []
        self.tally = bulk.Tally()
        self.changed_ids: set[int] = set()
        self.schedule_changed = False
        # The agreement's text, and so every row the file makes of it (the agreement, its
        # clauses and their texts, its terms), counts as published at its signing: a read
        # at a later `known_at` shows them, as it counts the file's facts from their
        # sources' dates, not from the day the file was loaded.
        self.published = spec.values.get("signed_at")

    def fail(self, path: KeyPath, message: str) -> None:
        self.errors.append(FileError(self.file, path, message, line_of(self.spec.lines, path)))

    def run(self) -> LoadResult:
        spec, tally = self.spec, self.tally
        # What the file refers to outside itself, before anything is written.
        targets, terms = self.relation_targets()
        if self.errors:
            raise LoaderError(self.errors)
        parties = bulk.upsert(
            Party, "party", {p.slug: p for p in Party.objects.filter(
                slug__in=[p.slug for p in spec.parties])},
            [(p.slug, {"slug": p.slug},
              {"name": p.name, "kind": p.kind, "former_names": p.former_names})
             for p in spec.parties], tally,
        ).rows
        locations = bulk.upsert(
            Location, "location", {loc.slug: loc for loc in Location.objects.filter(
                slug__in=[loc.slug for loc in spec.locations])},
            [(loc.slug, {"slug": loc.slug}, loc.values) for loc in spec.locations], tally,
        ).rows
        claimants = self.claimants(parties)
        agreement, self.schedule_changed = self.agreement(parties, locations)

        sources = bulk.upsert(
            Source, "source", {s.key: s for s in agreement.sources.all()},
            [(s.key, {"agreement": agreement, "key": s.key}, s.values) for s in spec.sources],
            tally,
        ).rows
        stored_clauses = {c.number: c for c in agreement.clauses.all()}
        clauses = bulk.upsert(
            Clause, "clause", stored_clauses,
            [(c.number, {"agreement": agreement, "number": c.number},
              {"text": c.text, "position": c.position}) for c in spec.clauses],
            tally, published=self.published,
        ).rows
        self.variants(agreement, clauses, sources)
        self.clause_texts(agreement, clauses, sources)

        # Locked: an editor's concurrent save waits, then sees the new version.
        existing = {o.slug: o for o in agreement.obligations.select_for_update()}
        rows = self.obligations(agreement, existing, clauses, parties, locations, sources,
                                claimants)
        if self.schedule_changed:
            self.changed_ids.update(o.pk for o in existing.values())
        self.relations(agreement, targets, terms, rows, sources)

        self.remove_missing(existing, stored_clauses, {s.key: s for s in
                                                       agreement.sources.all()})
        if self.errors:
            raise LoaderError(self.errors)
        return LoadResult(
            agreement=agreement, created=tally.created, updated=tally.updated,
            unchanged=tally.unchanged, removed=tally.removed, retired=tally.retired,
            changed_obligation_ids=self.changed_ids,
        )

    def claimants(self, parties: dict[str, Party]) -> dict[str, Claimant]:
        """The file's claimants (shared between agreements, like parties), and the
        built-in `tracker` when a report of the file is a finding."""
        spec = self.spec
        slugs = [c.slug for c in spec.claimants]
        rows = bulk.upsert(
            Claimant, "claimant", {c.slug: c for c in Claimant.objects.filter(slug__in=slugs)},
            [(c.slug, {"slug": c.slug}, {"name": c.name, "kind": c.kind,
                                         "party_id": parties[c.party].pk if c.party else None})
             for c in spec.claimants], self.tally,
        ).rows
        if any(r.claimant == TRACKER_CLAIMANT for o in spec.obligations for r in o.reports):
            tracker, created = Claimant.objects.get_or_create(
                slug=TRACKER_CLAIMANT,
                defaults={"name": TRACKER_CLAIMANT_NAME, "kind": V.CLAIMANT_TRACKER},
            )
            self.tally.created["claimant"] += created
            rows[TRACKER_CLAIMANT] = tracker
        return rows

    def relation_targets(self) -> tuple[dict[str, Agreement], dict[tuple[str, str], Obligation]]:
        """The earlier agreements and terms the file's relations name, which must have
        been loaded already (an earlier file of the same `load_agreement` is, by then);
        a relation may not hold from before either agreement was signed."""
        relations = self.spec.relations
        if not relations:
            return {}, {}
        targets = {a.slug: a for a in Agreement.objects.filter(
            slug__in={r.agreement for r in relations})}
        terms = {(o.agreement.slug, o.slug): o for o in Obligation.objects.filter(
            agreement__in=list(targets.values()), slug__in={r.term for r in relations if r.term},
        ).select_related("agreement")}
        for r in relations:
            target = targets.get(r.agreement)
            if target is None:
                self.fail((*r.path, "agreement"),
                          f"unknown agreement {r.agreement!r} (a relation refers to an "
                          "agreement loaded before this file: load its file first)")
                continue
            if r.term and (r.agreement, r.term) not in terms:
                self.fail((*r.path, "term"), f"agreement {r.agreement!r} has no term {r.term!r}")
            if r.at < target.signed_at:
                signed = target.signed_at.astimezone(target.zone).isoformat()
                self.fail((*r.path, "at"),
                          f"a relation before {r.agreement!r} was signed (at is before its "
                          f"signed_at, {signed})")
        return targets, terms

    def agreement(self, parties: dict, locations: dict) -> tuple[Agreement, bool]:
        """The agreement row and its party and place lists; True if its schedule (zone,
        warning window, entry into force) changed, which moves every obligation."""
        spec = self.spec
        stored = Agreement.objects.select_for_update().filter(slug=spec.slug).first()
        result = bulk.upsert(
            Agreement, "agreement", {spec.slug: stored} if stored else {},
            [(spec.slug, {"slug": spec.slug}, spec.values)], self.tally,
            published=self.published,
        )
        agreement = result.rows[spec.slug]
        changed = bulk.sync_relation(
            Agreement.parties, {agreement.pk: [parties[p.slug].pk for p in spec.parties]}
        ) | bulk.sync_relation(
            Agreement.locations,
            {agreement.pk: [locations[loc.slug].pk for loc in spec.locations]},
        )
        bulk.count_relations("agreement", result, changed, self.tally)
        return agreement, bool(result.changed.get(spec.slug, set()) & SCHEDULE_FIELDS)

    def variants(self, agreement: Agreement, clauses: dict[str, Clause],
                 sources: dict[str, Source]) -> None:
        # Only the variants of clauses still in the file: a removed clause takes its own.
        numbers = {c.number for c in self.spec.clauses}
        rows = ClauseVariant.objects.filter(clause__agreement=agreement).select_related("clause")
        stored = {(v.clause_id, v.version): v for v in rows if v.clause.number in numbers}
        wanted = {(clauses[c.number].pk, v.version): v
                  for c in self.spec.clauses for v in c.variants}
        result = bulk.upsert(
            ClauseVariant, "clause variant", stored,
            [((pk, version), {"clause_id": pk, "version": version}, {"text": v.text})
             for (pk, version), v in wanted.items()],
            self.tally, published=self.published,
        )
        changed = bulk.sync_relation(ClauseVariant.sources, {
            result.rows[key].pk: [sources[k].pk for k in v.sources] for key, v in wanted.items()
        }, scope={"clausevariant__clause__agreement_id": agreement.pk})
        bulk.count_relations("clause variant", result, changed, self.tally)
        gone = [v.pk for key, v in stored.items() if key not in wanted]
        if gone:  # nothing refers to a variant: safe to drop
            ClauseVariant.objects.filter(pk__in=gone).delete()
            self.tally.removed["clause variant"] += len(gone)

    def clause_texts(self, agreement: Agreement, clauses: dict[str, Clause],
                     sources: dict[str, Source]) -> None:
        numbers = {c.number for c in self.spec.clauses}
        rows = ClauseText.objects.filter(clause__agreement=agreement).select_related("clause")
        stored = {(t.clause_id, t.language): t for t in rows if t.clause.number in numbers}
        wanted = {(clauses[c.number].pk, t.language): t
                  for c in self.spec.clauses for t in c.texts}
        self.with_sources(
            ClauseText, "clause text", stored,
            [(key, {"clause_id": key[0], "language": key[1]},
              {"text": t.text, "translation": t.translation, "note": t.note})
             for key, t in wanted.items()],
            {key: [sources[k].pk for k in t.sources] for key, t in wanted.items()},
            scope={"clausetext__clause__agreement_id": agreement.pk},
            published=self.published,
        )
        gone = [t.pk for key, t in stored.items() if key not in wanted]
        if gone:  # nothing refers to a clause's text: safe to drop (history keeps it)
            ClauseText.objects.filter(pk__in=gone).delete()
            self.tally.removed["clause text"] += len(gone)

    def with_sources(self, model: Any, label: str, stored: dict, wanted: list,
                     cited: dict[Any, list[int]], scope: dict[str, Any],
                     published: datetime | None = None) -> bulk.Upserted:
        """`bulk.upsert` for a model whose history records which sources it cites: the
        rows, then their sources, then one history record for each row that changed
        (a new row's dated `published`, as `bulk.record_history` says)."""
        result = bulk.upsert(model, label, stored, wanted, self.tally, history=False)
        changed = bulk.sync_relation(
            model.sources, {result.rows[key].pk: pks for key, pks in cited.items()}, scope=scope
        )
        bulk.count_relations(label, result, changed, self.tally)
        new = [result.rows[key] for key in result.new]
        touched = [obj for key, obj in result.rows.items() if key not in result.new
                   and (key in result.changed or obj.pk in changed)]
        if new:
            bulk.record_history(model, new, update=False, published=published)
        if touched:
            bulk.record_history(model, touched, update=True)
        return result

    def relations(self, agreement: Agreement, targets: dict[str, Agreement],
                  terms: dict[tuple[str, str], Obligation], obligations: dict[str, Obligation],
                  sources: dict[str, Source]) -> None:
        """What this agreement does to earlier ones. A relation is a fact about the terms
        it ends: those of a new, changed or dropped one are flagged for re-assessment."""
        stored = {(r.kind, r.target_agreement.slug, r.target.slug if r.target else ""): r
                  for r in agreement.relations.select_related("target_agreement", "target")}
        wanted = {r.identity(): r for r in self.spec.relations}
        result = self.with_sources(
            AgreementRelation, "relation", stored,
            [(key, {"agreement": agreement, "kind": r.kind,
                    "target_agreement": targets[r.agreement],
                    "target": terms[(r.agreement, r.term)] if r.term else None},
              {"replacement_id": obligations[r.replacement].pk if r.replacement else None,
               "at": r.at, "note": r.note, "unconfirmed": r.unconfirmed,
               "published_at": r.published_at})
             for key, r in wanted.items()],
            {key: [sources[k].pk for k in r.sources] for key, r in wanted.items()},
            scope={"agreementrelation__agreement_id": agreement.pk},
        )
        gone = [r for key, r in stored.items() if key not in wanted]
        moved = [*(result.rows[key] for key in result.new), *gone, *(
            result.rows[key] for key, fields in result.changed.items()
            if fields & _RELATION_FACT_FIELDS)]
        whole = {r.target_agreement_id for r in moved if r.target_id is None}
        self.changed_ids.update(r.target_id for r in moved if r.target_id is not None)
        if whole:
            self.changed_ids.update(Obligation.objects.filter(agreement_id__in=whole)
                                    .values_list("pk", flat=True))
        self.delete(AgreementRelation, "relation", [r.pk for r in gone])

    # -- obligations and their facts

    def obligations(self, agreement: Agreement, existing: dict[str, Obligation],
                    clauses: dict, parties: dict, locations: dict, sources: dict,
                    claimants: dict) -> dict[str, Obligation]:
        facts = FactSync(self.tally, self.now)
        if existing:
            facts.read(list(existing.values()))
        facts_changed = {o.slug for o in self.spec.obligations
                         if facts.plan(existing.get(o.slug), o)}
        zone = self.spec.zone
        wanted = []
        for o in self.spec.obligations:
            obj = existing.get(o.slug)
            values = {**o.values, "clause_id": clauses[o.clause].pk}
            # The stored deadline is also kept by the sweep (as of the instant it assesses,
            # which a `sweep --as-of` replay moves into the past): set it when its inputs
            # change here, and otherwise leave it alone, so a reload stays a no-op.
            if obj is None or o.slug in facts_changed or self.schedule_changed or any(
                getattr(obj, k) != o.values[k] for k in ("kind", "original_due_date")
            ):
                values.update(self.due_values(o, facts.in_force[o.slug], zone))
            wanted.append((o.slug, {"agreement": agreement, "slug": o.slug}, values))
        result = bulk.upsert(Obligation, "obligation", existing, wanted, self.tally,
                             bump_version=True, published=self.published)
        rows = result.rows
        changed: set[int] = set()
        targets = {"responsible": parties, "monitors": parties, "locations": locations,
                   "sources": sources}
        for name, table in targets.items():
            changed |= bulk.sync_relation(getattr(Obligation, name), {
                rows[o.slug].pk: [table[ref].pk for ref in getattr(o, name)]
                for o in self.spec.obligations
            }, scope={"obligation__agreement": agreement})
        bulk.count_relations("obligation", result, changed, self.tally)
        facts.write(rows, sources, parties, claimants)
        for slug, obj in rows.items():
            if slug in result.new or slug in facts_changed or (
                result.changed.get(slug, set()) & _FACT_FIELDS
            ):
                self.changed_ids.add(obj.pk)
        return rows

    def due_values(self, spec: ObligationSpec, changes: list[engine.DeadlineChangeFact],
                   zone: ZoneInfo) -> dict[str, Any]:
        """The deadline in force now, after every published change agreed so far (the
        file's and staff-entered ones, as they stand once this load is written)."""
        original = spec.values["original_due_date"]
        if original is None:
            return {"due_date": None, "due_at": None}
        due = engine.deadline_in_force(
            engine.Facts(kind=V.DEADLINE, zone=zone, effective_at=self.now,
                         original_due_date=original, changes=tuple(changes)),
            self.now,
        )
        return {"due_date": due, "due_at": engine.due_instant(due, zone)}

    # -- what the file no longer has

    def remove_missing(self, existing: dict[str, Obligation], clauses: dict[str, Clause],
                       sources: dict[str, Source]) -> None:
        """Drop obligations, clauses and sources the file dropped, if nothing refers to them.

        Anything with facts recorded against it stays, and the load fails saying so:
        deleting it would rewrite history, keeping it silently would hide a mistake.
        """
        wanted = {o.slug for o in self.spec.obligations}
        gone = {slug: o for slug, o in existing.items() if slug not in wanted}
        if gone:
            reports = Counter(Report.objects.filter(obligation__in=list(gone.values()))
                              .values_list("obligation_id", flat=True))
            changes = Counter(DeadlineChange.objects.filter(obligation__in=list(gone.values()))
                              .values_list("obligation_id", flat=True))
            # A later agreement's relation that ends or replaces it would go with it.
            ended = dict(AgreementRelation.objects.filter(target__in=list(gone.values()))
                         .values_list("target_id", "agreement__slug"))
            free = []
            for slug, o in gone.items():
                if o.pk in ended:
                    self.fail(("obligations",),
                              f"obligation {slug!r} is no longer in the file but agreement "
                              f"{ended[o.pk]!r} relates to it; put it back, or change that "
                              "agreement's file first")
                elif reports[o.pk] or changes[o.pk]:
                    self.fail(("obligations",),
                              f"obligation {slug!r} is no longer in the file but has "
                              f"{reports[o.pk]} report(s) and {changes[o.pk]} deadline "
                              "change(s) recorded; put it back (history is never deleted "
                              "by a load)")
                else:
                    free.append(o.pk)
            self.delete(Obligation, "obligation", free)

        wanted_clauses = {c.number for c in self.spec.clauses}
        gone_clauses = {n: c for n, c in clauses.items() if n not in wanted_clauses}
        used = set(Obligation.objects.filter(clause__in=list(gone_clauses.values()))
                   .values_list("clause_id", flat=True))
        for number, c in gone_clauses.items():
            if c.pk in used:
                self.fail(("clauses",), f"clause {number!r} is no longer in the file but "
                                        "obligations still refer to it")
        self.delete(Clause, "clause", [c.pk for c in gone_clauses.values() if c.pk not in used])

        wanted_sources = {s.key for s in self.spec.sources}
        gone_sources = {k: s for k, s in sources.items() if k not in wanted_sources}
        cited: Counter = Counter()
        for model in (Report, DeadlineChange, Obligation, ClauseVariant, ClauseText,
                      AgreementRelation):
            cited.update(model.sources.through.objects.filter(
                source__in=list(gone_sources.values())).values_list("source_id", flat=True))
        # A source the file does not name but something still cites stays: an editor
        # added it to a report (the file never knew it), or a superseded version of a
        # fact cites it. Either is history a reload must not fight; only sources that
        # nothing cites go. (A current fact from the file can only cite the file's own
        # sources: the check stage refuses any other key.)
        self.tally.retired["source"] += sum(1 for s in gone_sources.values() if cited[s.pk])
        self.delete(Source, "source", [s.pk for s in gone_sources.values() if not cited[s.pk]])

    def delete(self, model: Any, label: str, pks: list[int]) -> None:
        if pks:  # a queryset delete still sends each row's signals: history records it
            model.objects.filter(pk__in=pks).delete()
            self.tally.removed[label] += len(pks)
