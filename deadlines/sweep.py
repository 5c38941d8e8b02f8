"""Store `assess(at)` for every obligation whose status may have changed, set-based.

Two paths, one set of rules (`deadlines.engine.RULES`):

* **Time passing** (PostgreSQL): rows whose stored summary still holds at `at` and
  whose `next_change_at` has come are classified in one SQL statement (a CASE built
  from RULES): locked with SKIP LOCKED, updated, and one StatusEvent per change
  inserted, all in a single round trip. Rows that cannot have changed are not read.
* **Facts changed, or a replay** (any database): rows flagged `needs_assessment`,
  rows whose summary does not hold at `at` (a fact dated after the last assessment,
  a replay into the past) and, on SQLite, every candidate go through the Python
  engine, which also writes the events the replayed timeline says were missed, and
  the row's summary spans (`SummarySpan`: its summary between each two dated facts),
  which let reads at a past instant classify it in SQL too (`tracker.statuses`).

Every update is a compare-and-swap on the status read (rows are locked when read), and
events are unique per (obligation, from, to, effective_at): two sweeps at once are
harmless.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from django.db import connection, transaction
from django.db.models import Field, Q
from django.utils import timezone

from deadlines import classify, engine
from deadlines.facts import facts_of, with_facts
from tracker import vocabulary as V
from tracker.models import Obligation, StatusEvent, SummarySpan

log = logging.getLogger(__name__)

BATCH = 500


@dataclass(frozen=True)
class Change:
    obligation_id: int
    from_status: str
    to_status: str
    effective_at: datetime
    cause: str


@dataclass
class SweepResult:
    at: datetime
    detected_at: datetime
    changes: list[Change] = field(default_factory=list)
    # Rows a replay moved (backwards, or ahead of the present) without writing history.
    rewound: list[Change] = field(default_factory=list)
    changed_rows: int = 0  # rows whose stored status changed (SQL path counts, no list)
    events: int = 0
    assessed: int = 0
    failed: int = 0


def _summary_columns(a: engine.Assessment) -> dict:
    s = a.summary
    return {
        "due_date": s.due_date,
        "due_at": s.due_at,
        "due_soon_at": s.due_soon_at,
        "active_at": s.active_at,
        "active_status": s.active_status,
        "violated_at": s.violated_at,
        "disputed_at": s.disputed_at,
        "done_at": s.done_at,
        "done_status": s.done_status,
        "facts_from": s.facts_from,
        "facts_until": s.facts_until,
        "next_change_at": a.next_change_at,
    }


_WRITTEN_FIELDS = [
    "status", "status_since", "assessed_at", "needs_assessment", "due_date", "due_at",
    "due_soon_at", "active_at", "active_status", "violated_at", "disputed_at", "done_at",
    "done_status",
    "facts_from", "facts_until", "next_change_at",
]


def _column(f: Field) -> str:
    assert f.column is not None, f  # a concrete field always has its column
    return f.column


def _write_assessments(rows: list[Obligation]) -> None:
    """One prepared UPDATE per row, sent with executemany: Django's bulk_update builds a
    CASE per field and row, which costs more in Python than the whole assessment."""
    concrete = {f.name: f for f in Obligation._meta.concrete_fields}
    fields = [concrete[name] for name in _WRITTEN_FIELDS]
    table = connection.ops.quote_name(Obligation._meta.db_table)
    assignments = ", ".join(f"{connection.ops.quote_name(_column(f))} = %s" for f in fields)
    params = [
        [f.get_db_prep_save(getattr(row, f.attname), connection) for f in fields] + [row.pk]
        for row in rows
    ]
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {assignments} WHERE id = %s", params)


# The engine's summary columns a span stores (its bounds are facts_from/facts_until).
SPAN_COLUMNS = tuple(
    c for c in engine.SUMMARY_COLUMNS if c not in ("facts_from", "facts_until")
)
# Before any fact: the first span's summary is the facts' state before the earliest one.
_DAWN = datetime(1, 1, 2, tzinfo=UTC)


def summary_spans(facts: engine.Facts) -> list[engine.Summary]:
    """Every summary the engine makes of `facts`, one per interval between two dated
    facts, in order: the first unbounded before, the last unbounded after. Its bounds are
    the engine's own (`Summary.facts_from/_until`), so whatever it counts as a dated
    fact bounds a span. One span only: no dated fact, nothing to store."""
    spans = [engine.summarize(facts, _DAWN)]
    while spans[-1].facts_until is not None:
        spans.append(engine.summarize(facts, spans[-1].facts_until))
    return spans


def _spans_of(obligation_id: int, facts: engine.Facts) -> list[SummarySpan]:
    spans = summary_spans(facts)
    if len(spans) == 1:
        return []
    return [
        SummarySpan(
            obligation_id=obligation_id, valid_from=s.facts_from, valid_until=s.facts_until,
            **{c: getattr(s, c) for c in SPAN_COLUMNS},
        )
        for s in spans
    ]


def _notified_at(cause: str, detected_at: datetime) -> datetime | None:
    """Replays are history, not news: their events leave the outbox already done."""
    return detected_at if cause in (V.CAUSE_BACKFILL, V.CAUSE_AS_OF) else None


@dataclass(frozen=True)
class _Stored:
    id: int
    key: tuple[str, str, datetime]
    cause: str
    superseded: bool


@dataclass
class _Reconciled:
    add: list[Change]
    revive: list[int]
    supersede: list[int]


def _reconcile(
    row: Obligation,
    history: list[engine.Transition],
    a: engine.Assessment,
    cause: str,
    stored: list[_Stored],
    detected_at: datetime,
) -> _Reconciled:
    """Make the stored events equal the replayed timeline up to `a.at`.

    Missing transitions are added (late reports often describe a past that began and
    ended before the last sweep), transitions the corrected facts no longer support are
    marked superseded, and when that withdraws the status the tracker had stated, one
    `correction` event says so. A replay backwards moves the stored status only: it
    does not rewrite history.
    """
    if row.assessed_at is not None and a.at < row.assessed_at:
        return _Reconciled([], [], [])
    row_cause = (
        V.CAUSE_BACKFILL if row.status == ""
        else V.CAUSE_FACTS if row.needs_assessment
        else cause
    )
    # History records what has happened: a replay into the future stores the status
    # it would have then, but writes no event dated after the real present.
    history = [t for t in history if t.at <= detected_at]
    desired = {(t.from_status, t.to_status, t.at) for t in history}
    live = {e.key: e for e in stored if not e.superseded}
    dead = {e.key: e for e in stored if e.superseded}
    add = [
        Change(row.pk, t.from_status, t.to_status, t.at, row_cause)
        for t in history
        if (t.from_status, t.to_status, t.at) not in live
        and (t.from_status, t.to_status, t.at) not in dead
    ]
    revive = [dead[k].id for k in desired if k not in live and k in dead]
    supersede = [
        e.id for k, e in live.items()
        if k not in desired and k[2] <= min(a.at, detected_at)
        and e.cause != V.CAUSE_CORRECTION
    ]
    withdrawn = supersede and row.status not in ("", a.status)
    if withdrawn and not any(c.to_status == a.status for c in add):
        # Nothing added leads to the new status (a retraction): say so once.
        add.append(Change(row.pk, row.status, a.status, detected_at, V.CAUSE_CORRECTION))
    return _Reconciled(add, revive, supersede)


def _stored_events(ids: list[int]) -> dict[int, list[_Stored]]:
    by_obligation: dict[int, list[_Stored]] = {pk: [] for pk in ids}
    rows = StatusEvent.objects.filter(obligation_id__in=ids).values_list(
        "id", "obligation_id", "from_status", "to_status", "effective_at", "cause",
        "superseded_at",
    )
    for pk, obligation_id, from_status, to_status, effective_at, cause, superseded in rows:
        by_obligation[obligation_id].append(
            _Stored(pk, (from_status, to_status, effective_at), cause, superseded is not None)
        )
    return by_obligation


@dataclass
class _Batch:
    """What one batch of the Python path writes, once its rows are assessed."""

    updates: list[Obligation] = field(default_factory=list)
    events: list[StatusEvent] = field(default_factory=list)
    revive: list[int] = field(default_factory=list)
    supersede: list[int] = field(default_factory=list)
    # Rows whose spans are replaced by `spans` (every row assessed: its facts may differ).
    respan: list[int] = field(default_factory=list)
    spans: list[SummarySpan] = field(default_factory=list)


def _assess_rows_python(
    queryset, at: datetime, cause: str, result: SweepResult, dry_run: bool
) -> None:
    ids = list(queryset.order_by("pk").values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        with transaction.atomic():
            rows = list(
                with_facts(
                    Obligation.objects.filter(pk__in=chunk)
                    .select_for_update(skip_locked=True, of=("self",))
                    .order_by("pk")
                )
            )
            stored = _stored_events([r.pk for r in rows])
            batch = _Batch()
            for row in rows:
                _assess_row(row, stored[row.pk], at, cause, result, dry_run, batch)
            _write_batch(batch, result)


def _assess_row(
    row: Obligation,
    stored: list[_Stored],
    at: datetime,
    cause: str,
    result: SweepResult,
    dry_run: bool,
    batch: _Batch,
) -> None:
    """Assess one locked row at `at` and add what it changes to `batch`."""
    try:
        facts = facts_of(row)
        history = engine.timeline(facts, at)
        a = engine.assess(facts, at, history)
        plan = _reconcile(row, history, a, cause, stored, result.detected_at)
        spans = _spans_of(row.pk, facts)
    except Exception:  # one bad row never stalls the sweep
        log.exception("sweep: could not assess obligation %s", row.pk)
        result.failed += 1
        return
    result.assessed += 1
    moved = row.status != a.status
    if moved and not plan.add:
        result.rewound.append(Change(row.pk, row.status, a.status, a.at, cause))
    if dry_run:
        result.changes.extend(plan.add)
        return
    # The row is locked FOR UPDATE (SQLite: the write lock is held), so the
    # compare-and-swap on what was read holds; written with its batch.
    for name, value in {
        "status": a.status,
        "status_since": a.status_since,
        "assessed_at": at,
        "needs_assessment": False,
        **_summary_columns(a),
    }.items():
        setattr(row, name, value)
    batch.updates.append(row)
    batch.respan.append(row.pk)
    batch.spans += spans
    result.changed_rows += moved
    result.changes.extend(plan.add)
    batch.revive += plan.revive
    batch.supersede += plan.supersede
    reports = {t.at: t.report.id for t in history if t.report}
    batch.events.extend(
        StatusEvent(
            obligation_id=c.obligation_id,
            from_status=c.from_status,
            to_status=c.to_status,
            effective_at=c.effective_at,
            detected_at=result.detected_at,
            cause=c.cause,
            report_id=reports.get(c.effective_at),
            notified_at=_notified_at(c.cause, result.detected_at),
        )
        for c in plan.add
    )


def _write_batch(batch: _Batch, result: SweepResult) -> None:
    if batch.updates:
        _write_assessments(batch.updates)
    if batch.respan:
        SummarySpan.objects.filter(obligation_id__in=batch.respan).delete()
    if batch.spans:
        SummarySpan.objects.bulk_create(batch.spans)
    if batch.supersede:
        StatusEvent.objects.filter(pk__in=batch.supersede).update(
            superseded_at=result.detected_at
        )
    if batch.revive:
        StatusEvent.objects.filter(pk__in=batch.revive).update(superseded_at=None)
    if batch.events:
        StatusEvent.objects.bulk_create(batch.events, ignore_conflicts=True)
        result.events += len(batch.events)


_START_AT = "CASE WHEN o.status = '' THEN a.effective_at ELSE o.assessed_at END"
# The instants where a candidate row's status may change: its thresholds and, never
# assessed, the entry into force (its `start_at`).
_STEP_COLUMNS = (*engine.THRESHOLDS, "start_at")


def _is_step(t: str) -> str:
    """`t` lies in the row's window: (start_at, at], or its entry into force."""
    return f"{t} <= %(at)s AND ({t} > c.start_at OR (c.status = '' AND {t} = c.start_at))"


def _status_before(t: str) -> str:
    """The status just before step `t`: the stored one before the first step; before a
    later step, what RULES give an instant earlier, which is the status at the step
    before it (no threshold lies between two steps)."""
    return (
        f"CASE WHEN {t} = c.first_at THEN c.status "
        f"ELSE {classify.status_sql(t, 'c.', before=True)} END"
    )


def _steps_sql() -> str:
    """For the candidate row `c`: each step with the status just before and at it.

    A threshold passing at the same instant as one listed before it is the same step,
    taken once. That test runs only on the few values that are steps at all: written
    into the VALUES list it cost more than everything else the statement computes.
    """
    values = ", ".join(f"(c.{column}, {i})" for i, column in enumerate(_STEP_COLUMNS))
    first_of_its_instant = "CASE x.i " + " ".join(
        f"WHEN {i} THEN "
        + (" AND ".join(f"x.t IS DISTINCT FROM c.{o}" for o in _STEP_COLUMNS[:i]) or "true")
        for i in range(len(_STEP_COLUMNS))
    ) + " END"
    return f"""
        SELECT x.t, {_status_before("x.t")} AS prev, {classify.status_sql("x.t", "c.")} AS st
        FROM (VALUES {values}) AS x(t, i)
        WHERE {_is_step("x.t")} AND {first_of_its_instant}"""


def _last_change_sql() -> str:
    """The row's last step whose status differs from the one before it (NULL: none).
    An expression, not a subquery: it is evaluated for every candidate row."""
    return "GREATEST(" + ", ".join(
        f"CASE WHEN {_is_step(f'c.{col}')} AND {_status_before(f'c.{col}')} "
        f"<> {classify.status_sql(f'c.{col}', 'c.')} THEN c.{col} END"
        for col in _STEP_COLUMNS
    ) + ")"


def _first_step_sql() -> str:
    """The row's first step, before which its status is the stored one."""
    return "LEAST(" + ", ".join(
        [f"CASE WHEN o.{c} > {_START_AT} AND o.{c} <= %(at)s THEN o.{c} END"
         for c in engine.THRESHOLDS]
        + [f"CASE WHEN o.status = '' THEN {_START_AT} END"]
    ) + ")"


def _candidates_sql(only_ids: bool, write: bool) -> str:
    """`cand`: the rows whose summary holds from their last assessment (or, never
    assessed and free of facts, from the agreement's entry into force) up to `at`,
    locked when the sweep writes."""
    # Whether the row already has history in its window (after a replay backwards, which
    # moves the status but keeps the history): only then can a step be on record.
    recorded = f""",
               EXISTS (SELECT 1 FROM tracker_statusevent e
                       WHERE e.obligation_id = o.id AND e.effective_at >= {_START_AT})
                   AS recorded""" if write else ""
    return f"""
    cand AS (
        SELECT o.id, o.status, o.done_at, o.done_status, o.violated_at, o.disputed_at, o.due_at,
               o.due_soon_at, o.active_at, o.active_status, o.facts_until,
               {_START_AT} AS start_at, {_first_step_sql()} AS first_at{recorded}
        FROM tracker_obligation o JOIN tracker_agreement a ON a.id = o.agreement_id
        WHERE NOT o.needs_assessment
          AND (o.facts_until IS NULL OR o.facts_until > %(at)s)
          AND ((o.status <> '' AND o.assessed_at <= %(at)s AND o.next_change_at <= %(at)s)
               OR (o.status = '' AND a.effective_at <= %(at)s
                   AND (o.facts_from IS NULL OR o.facts_from <= a.effective_at)))
          {"AND o.id = ANY(%(ids)s)" if only_ids else ""}
        {"FOR UPDATE OF o SKIP LOCKED" if write else ""}
    )"""


def _insert_events_sql() -> str:
    """`ins`: one StatusEvent per step of a candidate whose status changed there.

    A plain INSERT, not ON CONFLICT DO NOTHING, whose speculative insertion is a large
    share of a first sweep's time (docs/performance.md). Events of a row are written
    only under its row lock (here and in the Python path) and its steps lie in its
    window, which holds history only after a replay: `recorded` rows check each step
    against it. status_event_once still stands behind this: a duplicate would fail
    the statement (nothing written, the next sweep retries), never be stored.
    """
    return f"""
    ins AS (
        INSERT INTO tracker_statusevent
            (obligation_id, from_status, to_status, effective_at, detected_at, cause, notified_at)
        SELECT c.id, s.prev, s.st, s.t, %(detected)s,
               CASE WHEN s.prev = '' THEN '{V.CAUSE_BACKFILL}' ELSE %(cause)s END,
               CASE WHEN s.prev = '' OR %(cause)s = '{V.CAUSE_AS_OF}' THEN %(detected)s END
        FROM cand c CROSS JOIN LATERAL ({_steps_sql()}) s
        WHERE s.prev <> s.st
          AND s.t <= %(detected)s  -- no event dated after the real present (replays ahead)
          AND (NOT c.recorded OR NOT EXISTS (
              SELECT 1 FROM tracker_statusevent e
              WHERE e.obligation_id = c.id AND e.from_status = s.prev
                AND e.to_status = s.st AND e.effective_at = s.t))
        RETURNING 1
    )"""


def _update_statuses_sql() -> str:
    """`upd`: each candidate's status at `at`, since its last change, and its next step."""
    return f"""
    upd AS (
        UPDATE tracker_obligation o
        SET status = {classify.status_sql("%(at)s", "c.")},
            status_since = COALESCE(c.last_change, o.status_since),
            next_change_at = {classify.next_change_sql("%(at)s", "c.")},
            assessed_at = %(at)s
        FROM (SELECT *, {_last_change_sql()} AS last_change FROM cand c) c
        WHERE o.id = c.id
        RETURNING o.id, (c.last_change IS NOT NULL) AS changed
    )"""


def _sweep_sql(only_ids: bool, write: bool) -> str:
    """The time-passing sweep as one PostgreSQL statement.

    `_candidates_sql` picks and locks the rows; `_steps_sql` evaluates RULES at every
    threshold each row crossed since, so a sweep that ran late (or a first sweep) still
    records every transition the engine's timeline has, in order (`_insert_events_sql`);
    `_update_statuses_sql` stores the status at `at`. Each row is worked out on its own:
    no sort or window over the whole candidate set, which at a million rows spills to
    disk at the default work_mem. Only column names and fixed words are interpolated;
    every value is bound.
    """
    cand = _candidates_sql(only_ids, write)
    if not write:
        return f"""WITH {cand}
        SELECT c.id, s.prev, s.st, s.t FROM cand c CROSS JOIN LATERAL ({_steps_sql()}) s
        WHERE s.prev <> s.st ORDER BY c.id, s.t"""
    return f"""WITH {cand},{_insert_events_sql()},{_update_statuses_sql()}
    SELECT (SELECT count(*) FROM upd), (SELECT count(*) FROM upd WHERE changed),
           (SELECT count(*) FROM ins)"""


# Set for the sweep's statement (bench/sweep.py explains it with the same):
STATEMENT_SETTINGS = (
    # The planner's cost estimate crosses the JIT threshold and compiling costs more
    # than it saves on this statement (bench/sweep.py shows it on a 1% sweep).
    "SET LOCAL jit = off",
    # The candidates are read twice (events, then the update) and joined by a hash: at
    # a million rows that outgrows the default work_mem and goes through temporary
    # files. A cap, not an allocation: a small sweep uses what it needs.
    "SET LOCAL work_mem = '256MB'",
)


def _classify_sql(at: datetime, cause: str, result: SweepResult, dry_run: bool, ids) -> None:
    params = {"at": at, "detected": result.detected_at, "cause": cause, "ids": ids}
    sql = _sweep_sql(only_ids=ids is not None, write=not dry_run)
    with transaction.atomic(), connection.cursor() as cursor:
        for setting in STATEMENT_SETTINGS:
            cursor.execute(setting)
        cursor.execute(sql, params)
        if dry_run:
            for pk, prev, status, t in cursor.fetchall():
                result.changes.append(
                    Change(pk, prev, status, t, V.CAUSE_BACKFILL if prev == "" else cause)
                )
            return
        assessed, changed, inserted = cursor.fetchone()
    result.assessed += assessed
    result.changed_rows += changed
    result.events += inserted


def run(
    at: datetime | None = None,
    *,
    ids: list[int] | None = None,
    dry_run: bool = False,
    cause: str | None = None,
) -> SweepResult:
    """Bring stored statuses to what the facts say at `at` (default: now)."""
    explicit = at is not None
    at = at or timezone.now()
    cause = cause or (V.CAUSE_AS_OF if explicit else V.CAUSE_SWEEP)
    result = SweepResult(at=at, detected_at=timezone.now())

    use_sql = connection.vendor == "postgresql"
    if use_sql:
        _classify_sql(at, cause, result, dry_run, ids)
    # Whatever the SQL path could not take (or everything, off PostgreSQL).
    # Each disjunct is served by an index (Obligation.Meta.indexes).
    stale = (
        Q(needs_assessment=True)
        | Q(assessed_at__isnull=True)
        | Q(assessed_at__gt=at)  # a replay backwards
        | Q(facts_until__lte=at)  # a dated fact has come
    )
    if not use_sql:
        stale |= Q(next_change_at__lte=at)
    python_rows = Obligation.objects.filter(stale)
    if ids is not None:
        python_rows = python_rows.filter(pk__in=ids)
    if use_sql and dry_run:
        # The SQL dry run already covered rows it can classify; don't count them twice.
        python_rows = python_rows.exclude(
            pk__in=[c.obligation_id for c in result.changes]
        )
    _assess_rows_python(python_rows, at, cause, result, dry_run)
    if not dry_run and result.changed_rows:
        log.info("sweep at %s: %s status changes", at.isoformat(), result.changed_rows)
    return result


def changes_detected(result: SweepResult) -> list[StatusEvent]:
    """The events one sweep wrote, for printing (both paths)."""
    return list(
        StatusEvent.current.filter(detected_at=result.detected_at)
        .select_related("obligation")
        .order_by("obligation_id", "effective_at")
    )
