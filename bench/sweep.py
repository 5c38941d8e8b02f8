"""Benchmark of `deadlines.sweep.run` against a single-SQL floor and a per-row loop.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench \\
        .venv/bin/python bench/sweep.py [--n 1000000] [--loop-sample 20000] [--explain] [--keep]

It creates (drops first) the database named in DATABASE_URL, which must be called
`tracker_bench` or `tracker_bench_*` (anything else is refused: the bench drops it),
migrates it, builds N obligations in PostgreSQL with INSERT ... SELECT generate_series,
checks on a random sample that the stored summary columns are what `engine.summarize`
says, then times, in one run:

1. the first full sweep, `sweep.run(at=T0)` (every row: never-assessed rows from the
   agreement's entry into force with their backfilled history; rows with reports
   were assessed in Python when their last fact was published, as in production,
   so the sweep records what happened since);
2. a sweep where nothing changed, `sweep.run(at=T0 + 1 s)`;
3. a sweep where ~1% of rows reach a threshold, `sweep.run(at=T1)`;
4. the floor: one hand-written `UPDATE ... SET status = CASE ... END` over every row
   of an identical fresh copy of the table (status only; and, for information, the
   same columns the sweep writes);
5. the usual approach: a per-row compare-and-swap loop in Python on a sample, scaled
   linearly to N.

Each timed phase (1 to 4) starts from a completed CHECKPOINT (see `checkpoint`).
After each sweep it checks on the sample that stored statuses, `status_since`,
`next_change_at` and the StatusEvents equal what `engine.assess`/`engine.timeline`
say. It prints a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BENCH_PREFIX = "tracker_bench"
T0 = datetime(2026, 11, 27, 12, 0, 0, tzinfo=UTC)
# The wall clock the sweeps run under, after every instant they sweep to: the sweep writes
# no event dated after the present (deadlines.sweep), so on a real clock earlier than T1
# the 1% sweep would write none and the first sweep would lose those after the clock.
PRESENT = datetime(2027, 6, 1, tzinfo=UTC)
AGREEMENTS = 100
# Zones with and without daylight saving time; America/Santiago changes at midnight.
ZONES = [
    "Asia/Baku", "Asia/Yerevan", "Europe/Moscow", "Asia/Tbilisi", "Europe/Istanbul",
    "Europe/Paris", "America/New_York", "UTC", "America/Santiago", "Asia/Kolkata",
]
WARNING_DAYS = [3, 7, 14, 30, 0]
SUMMARY = (
    "due_date", "due_at", "due_soon_at", "active_at", "active_status", "violated_at",
    "done_at", "done_status", "facts_from", "facts_until",
)


def bench_database(url: str) -> tuple[str, str]:
    """(the bench database's name, a URL of the server's maintenance database)."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        sys.exit(f"refusing: DATABASE_URL must be PostgreSQL, got {parts.scheme!r}")
    if name != BENCH_PREFIX and not name.startswith(BENCH_PREFIX + "_"):
        sys.exit(
            f"refusing: the bench drops and recreates its database; DATABASE_URL names "
            f"{name!r}, not {BENCH_PREFIX!r} or {BENCH_PREFIX}_*"
        )
    return name, urlunsplit(parts._replace(path="/postgres"))


def recreate_database(name: str, maintenance_url: str, drop_only: bool = False) -> None:
    import psycopg2

    conn = psycopg2.connect(maintenance_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        if not drop_only:
            cur.execute(f'CREATE DATABASE "{name}"')
    conn.close()


def setup_django(url: str) -> None:
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    os.environ["DEBUG"] = "false"  # no query log in the per-row loop
    os.environ.setdefault("SECRET_KEY", "bench-only-not-a-secret-0123456789abcdefghijklmnop")
    import django

    django.setup()


def server_cpu_seconds() -> float:
    """utime + stime of this session's server process (same machine)."""
    (pid,) = sql("SELECT pg_backend_pid()")[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Timer:
    """Wall seconds of each phase, and the CPU seconds spent on it by this process and
    its server process: on a shared machine the CPU figures move far less with the load
    (they leave out the server's background writers and any parallel workers)."""

    def __init__(self) -> None:
        self.figures: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    def run(self, label: str, fn, *args, **kwargs):
        cpu = time.process_time() + server_cpu_seconds()
        start = time.perf_counter()
        out = fn(*args, **kwargs)
        self.figures[label] = time.perf_counter() - start
        self.cpu[label] = time.process_time() + server_cpu_seconds() - cpu
        print(f"  {label}: {self.figures[label]:.3f} s, CPU {self.cpu[label]:.3f} s", flush=True)
        return out


def sql(statement: str, params=None) -> list[tuple]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(statement, params)
        return cur.fetchall() if cur.description else []


def vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"VACUUM ANALYZE {table}")


def checkpoint() -> None:
    """Start a timed phase from a completed checkpoint. The phases write gigabytes of WAL
    (max_wal_size is 1 GB), so without this a checkpoint set off by one phase's writes
    lands in the next, at a point that differs from run to run: the floor alone moved
    21-36 s between runs (docs/performance.md, "Sweep"). Every timed phase now starts
    the same way, and each pays for the full-page images of the pages it touches."""
    sql("CHECKPOINT")


# ---------------------------------------------------------------- data


def build(n: int) -> None:
    """N obligations with their reports, summary columns as the engine computes them.

    Generated in an unlogged staging table first (random draws, then facts), then
    copied into tracker_obligation; all arithmetic on local dates uses AT TIME ZONE,
    like `engine.local_midnight`.
    """
    from tracker import vocabulary as V

    sql(
        """
        INSERT INTO tracker_agreement
            (slug, title, signed_at, effective_at, timezone, warning_days, description)
        SELECT 'bench-' || i, 'Bench agreement ' || i,
               timestamptz '2019-06-01 08:00+00' + (i * 2 - 1) * interval '1 day',
               timestamptz '2019-06-01 08:00+00' + (i * 2) * interval '1 day',
               (%(zones)s::text[])[1 + i %% cardinality(%(zones)s::text[])],
               (%(warn)s::int[])[1 + i %% cardinality(%(warn)s::int[])], ''
        FROM generate_series(0, %(k)s - 1) i
        """,
        {"zones": ZONES, "warn": WARNING_DAYS, "k": AGREEMENTS},
    )
    sql("SELECT setseed(0.42)")
    sql(
        """
        CREATE UNLOGGED TABLE bench_gen AS
        SELECT g, a.id AS agreement_id, a.timezone AS tz, a.warning_days AS wd,
               a.effective_at AS eff, random() AS rk, random() AS r1, random() AS r2,
               random() AS r3, random() AS r4
        FROM generate_series(1, %(n)s) g
        JOIN tracker_agreement a ON a.slug = 'bench-' || (g %% %(k)s)
        """,
        {"n": n, "k": AGREEMENTS},
    )
    # Kinds: ~60% deadline, ~30% ongoing, ~10% open; `u` picks a sub-case within a kind.
    sql(
        """
        CREATE UNLOGGED TABLE bench_obl AS
        SELECT g, agreement_id, tz, wd, eff, r1, r2, r3, r4,
               CASE WHEN rk < 0.6 THEN 'deadline' WHEN rk < 0.9 THEN 'ongoing' ELSE 'open' END
                   AS kind,
               CASE WHEN rk < 0.6 THEN rk / 0.6 WHEN rk < 0.9 THEN (rk - 0.6) / 0.3
                    ELSE (rk - 0.9) / 0.1 END AS u,
               NULL::date AS due_date, NULL::timestamptz AS due_at,
               NULL::timestamptz AS due_soon_at, NULL::timestamptz AS starts_at,
               NULL::timestamptz AS ends_at, NULL::smallint AS term_years,
               NULL::smallint AS renews_years, NULL::smallint AS notice_months,
               NULL::timestamptz AS completed_at, NULL::timestamptz AS progress_at,
               NULL::timestamptz AS violation_at, NULL::timestamptz AS violation_ended_at
        FROM bench_gen
        """
    )
    sql("DROP TABLE bench_gen")
    # Deadlines: due dates 2020-2029; ~8% of those due before October 2026 completed,
    # from 70 days early to 30 days late.
    sql(
        """
        UPDATE bench_obl SET
            due_date = date '2020-01-01' + floor(r1 * 3653)::int
        WHERE kind = 'deadline';
        UPDATE bench_obl SET
            due_at = (due_date + 1)::timestamp AT TIME ZONE tz,
            due_soon_at = CASE WHEN wd > 0 THEN (due_date + 1 - wd)::timestamp AT TIME ZONE tz END
        WHERE kind = 'deadline';
        UPDATE bench_obl SET
            completed_at = GREATEST(eff + interval '1 hour', LEAST(
                %(t0)s - interval '1 hour',
                due_at + (r3 * 100 - 70) * interval '1 day' + floor(r4 * 20) * interval '1 hour'))
        WHERE kind = 'deadline' AND r2 < 0.08 AND due_date < date '2026-10-01';
        """,
        {"t0": T0},
    )
    # Ongoing: starts at local noon 2020-2027 (10% from entry into force); 30% end on a
    # date, 5% a fixed term, 5% a renewable term; 5% an open violation, 2% a violation
    # that ended. Violations start by mid-2025 so they can happen before T0.
    sql(
        """
        UPDATE bench_obl SET
            starts_at = CASE WHEN r4 < 0.1 THEN NULL
                ELSE ((date '2020-01-01'
                       + floor(r1 * (CASE WHEN u >= 0.4 THEN 2000 ELSE 2900 END))::int)
                      + time '12:00') AT TIME ZONE tz END
        WHERE kind = 'ongoing';
        UPDATE bench_obl SET
            ends_at = COALESCE(starts_at, eff) + (30 + floor(r2 * 2000)) * interval '1 day'
        WHERE kind = 'ongoing' AND u < 0.3;
        UPDATE bench_obl SET term_years = 1 + floor(r2 * 5)
        WHERE kind = 'ongoing' AND u >= 0.3 AND u < 0.35;
        UPDATE bench_obl SET term_years = 5, renews_years = 5, notice_months = 6
        WHERE kind = 'ongoing' AND u >= 0.35 AND u < 0.4;
        UPDATE bench_obl SET
            violation_at = COALESCE(starts_at, eff) + interval '1 hour'
                + r3 * (%(t0)s - interval '2 days' - COALESCE(starts_at, eff))
        WHERE kind = 'ongoing' AND u >= 0.4 AND u < 0.47;
        UPDATE bench_obl SET
            violation_ended_at = violation_at
                + r2 * (%(t0)s - interval '1 hour' - violation_at)
        WHERE kind = 'ongoing' AND u >= 0.45 AND u < 0.47;
        """,
        {"t0": T0},
    )
    # Open: 20% in progress; 10% completed (half of them after a progress report).
    sql(
        """
        UPDATE bench_obl SET progress_at = eff + r1 * (%(t0)s - interval '1 day' - eff)
        WHERE kind = 'open' AND (u < 0.2 OR (u < 0.3 AND r4 < 0.5));
        UPDATE bench_obl SET
            completed_at = COALESCE(progress_at, eff)
                + (0.1 + 0.8 * r2) * (%(t0)s - COALESCE(progress_at, eff))
        WHERE kind = 'open' AND u >= 0.2 AND u < 0.3;
        """,
        {"t0": T0},
    )
    # Summary columns as engine.summarize computes them from the facts above.
    s = V
    sql(
        f"""
        ALTER TABLE bench_obl ADD COLUMN active_at timestamptz,
            ADD COLUMN active_status text DEFAULT '', ADD COLUMN violated_at timestamptz,
            ADD COLUMN done_at timestamptz, ADD COLUMN done_status text DEFAULT '',
            ADD COLUMN facts_from timestamptz, ADD COLUMN facts_until timestamptz;
        UPDATE bench_obl SET
            done_at = completed_at,
            done_status = CASE WHEN completed_at IS NULL THEN ''
                               WHEN completed_at >= due_at THEN '{s.COMPLETED_LATE}'
                               ELSE '{s.COMPLETED}' END
        WHERE kind = 'deadline';
        UPDATE bench_obl SET
            active_at = COALESCE(starts_at, eff), active_status = '{s.IN_FORCE}',
            done_at = CASE WHEN renews_years IS NULL AND term_years IS NOT NULL
                THEN ((COALESCE(starts_at, eff) AT TIME ZONE tz)
                      + term_years * interval '1 year') AT TIME ZONE tz
                ELSE ends_at END,
            violated_at = CASE WHEN violation_ended_at IS NULL THEN violation_at END
        WHERE kind = 'ongoing';
        UPDATE bench_obl SET done_status = '{s.TERMINATED}'
        WHERE kind = 'ongoing' AND done_at IS NOT NULL;
        UPDATE bench_obl SET
            active_at = progress_at,
            active_status = CASE WHEN progress_at IS NULL THEN '' ELSE '{s.IN_PROGRESS}' END,
            done_at = completed_at,
            done_status = CASE WHEN completed_at IS NULL THEN '' ELSE '{s.COMPLETED}' END
        WHERE kind = 'open';
        UPDATE bench_obl SET facts_from = GREATEST(
            completed_at, progress_at, violation_at, violation_ended_at);
        """
    )
    # Rows with reports were assessed when their last fact came (the Python path in
    # production): the status at that instant is decided by the fact itself, so
    # status_since = assessed_at = facts_from. Rows without facts: never assessed.
    at_facts = status_case("b.facts_from", "b.")
    next_after = next_change_case("b.facts_from", "b.")
    sql(
        f"""
        INSERT INTO tracker_obligation
            (agreement_id, slug, title, description, kind, category, position,
             due_date, due_at, original_due_date, starts_at, ends_at, term_years,
             renews_years, notice_months, status, status_since, assessed_at, due_soon_at,
             active_at, active_status, violated_at, done_at, done_status, facts_from,
             facts_until, next_change_at, needs_assessment, version, search_text)
        SELECT agreement_id, 'o-' || g, 'Obligation ' || g, '', kind, 'bench', g,
               due_date, due_at, due_date, starts_at, ends_at, term_years,
               renews_years, notice_months,
               CASE WHEN facts_from IS NULL THEN '' ELSE {at_facts} END,
               facts_from, facts_from, due_soon_at, active_at, active_status, violated_at,
               done_at, done_status, facts_from, NULL,
               CASE WHEN facts_from IS NULL THEN NULL ELSE {next_after} END, false, 1,
               'obligation ' || g
        FROM bench_obl b ORDER BY g
        """
    )
    report_cols = """(obligation_id, claim, occurred_at, occurred_date_only, summary,
        review_state, published_at, origin, unconfirmed, note, created_at, version,
        rejection_reason, retracts, correction_reason)"""
    for claim, column in (
        (s.CLAIM_COMPLETED, "completed_at"),
        (s.CLAIM_PROGRESS, "progress_at"),
        (s.CLAIM_VIOLATION, "violation_at"),
        (s.CLAIM_VIOLATION_ENDED, "violation_ended_at"),
    ):
        sql(
            f"""
            INSERT INTO tracker_report {report_cols}
            SELECT o.id, %(claim)s, b.{column}, false, 'bench', 'published', b.{column},
                   'file', false, '', now(), 1, '', false, ''
            FROM bench_obl b JOIN tracker_obligation o
              ON o.agreement_id = b.agreement_id AND o.slug = 'o-' || b.g
            WHERE b.{column} IS NOT NULL
            """,
            {"claim": claim},
        )
    sql("DROP TABLE bench_obl")
    # The pristine state, for the floor and the per-row loop to start from.
    sql("CREATE TABLE bench_snapshot AS SELECT * FROM tracker_obligation")
    vacuum("tracker_obligation", "tracker_report", "tracker_agreement", "bench_snapshot")


def status_case(instant: str, alias: str = "") -> str:
    """The engine's RULES written out by hand (independent of deadlines.classify)."""
    a = alias
    return f"""CASE WHEN {a}done_at <= {instant} THEN {a}done_status
        WHEN {a}violated_at <= {instant} THEN 'violated'
        WHEN {a}due_at <= {instant} THEN 'overdue'
        WHEN {a}due_soon_at <= {instant} THEN 'due_soon'
        WHEN {a}active_at <= {instant} THEN {a}active_status
        ELSE 'pending' END"""


def next_change_case(instant: str, alias: str = "") -> str:
    a = alias
    cols = ("done_at", "violated_at", "due_at", "due_soon_at", "active_at", "facts_until")
    return "LEAST(" + ", ".join(
        f"CASE WHEN {a}{c} > {instant} THEN {a}{c} END" for c in cols
    ) + ")"


# ---------------------------------------------------------------- correctness


class Sample:
    """A random sample of obligations and what the engine says about them."""

    def __init__(self, ids: list[int]) -> None:
        from deadlines.facts import facts_of, with_facts
        from tracker.models import Obligation

        self.ids = ids
        rows = with_facts(Obligation.objects.filter(pk__in=ids))
        self.facts = {o.pk: facts_of(o) for o in rows}
        # Where each row's stored history begins (pre-assessed rows: at their last fact).
        self.history_from = {o.pk: o.assessed_at for o in rows}

    def expected_events(self, until: datetime) -> set[tuple]:
        from deadlines import engine

        out = set()
        for pk, facts in self.facts.items():
            start = self.history_from[pk]
            for t in engine.timeline(facts, until):
                if start is None or t.at > start:
                    out.add((pk, t.from_status, t.to_status, t.at))
        return out


def check_built(sample: Sample) -> list[str]:
    from deadlines import engine
    from tracker.models import Obligation

    errors = []
    for o in Obligation.objects.filter(pk__in=sample.ids):
        facts = sample.facts[o.pk]
        s = engine.summarize(facts, T0)
        for col in SUMMARY:
            if getattr(o, col) != getattr(s, col):
                errors.append(f"obligation {o.pk} {col}: stored {getattr(o, col)!r}, "
                              f"engine {getattr(s, col)!r}")
        if o.assessed_at is not None:
            a = engine.assess(facts, o.assessed_at)
            got = (o.status, o.status_since, o.next_change_at)
            want = (a.status, a.status_since, a.next_change_at)
            if got != want:
                errors.append(f"obligation {o.pk} pre-assessed: stored {got}, engine {want}")
    return errors


def check_swept(sample: Sample, at: datetime) -> tuple[list[str], int, int]:
    """Errors, events stored for the sample, events the timeline implies."""
    from deadlines import engine
    from tracker.models import Obligation, StatusEvent

    errors = []
    for o in Obligation.objects.filter(pk__in=sample.ids):
        a = engine.assess(sample.facts[o.pk], at)
        got = (o.status, o.status_since, o.next_change_at)
        want = (a.status, a.status_since, a.next_change_at)
        if got != want:
            errors.append(f"obligation {o.pk} at {at:%Y-%m-%d %H:%M}: stored {got}, "
                          f"engine {want}")
    stored = list(
        StatusEvent.objects.filter(obligation_id__in=sample.ids).values_list(
            "obligation_id", "from_status", "to_status", "effective_at"
        )
    )
    expected = sample.expected_events(at)
    if len(stored) != len(set(stored)):
        errors.append("duplicate events stored")
    for extra in sorted(set(stored) - expected)[:5]:
        errors.append(f"event stored but not in the timeline: {extra}")
    for missing in sorted(expected - set(stored))[:5]:
        errors.append(f"event in the timeline but not stored: {missing}")
    return errors, len(stored), len(expected)


def report_errors(stage: str, errors: list[str]) -> bool:
    if errors:
        print(f"  CHECK FAILED ({stage}): {len(errors)} problems", flush=True)
        for e in errors[:15]:
            print("    " + e)
        return False
    print(f"  check ({stage}): OK", flush=True)
    return True


# ---------------------------------------------------------------- the contenders


def floor(timer: Timer, label: str, sets: str) -> int:
    """One UPDATE over every row of a fresh copy of the pristine table."""
    sql("DROP TABLE IF EXISTS bench_floor")
    sql("CREATE TABLE bench_floor (LIKE tracker_obligation INCLUDING ALL)")
    sql("INSERT INTO bench_floor SELECT * FROM bench_snapshot")
    vacuum("bench_floor")
    from django.db import connection, transaction

    def go() -> int:
        with transaction.atomic(), connection.cursor() as cur:
            cur.execute(f"UPDATE bench_floor SET {sets}", {"at": T0})
            return cur.rowcount

    checkpoint()
    return timer.run(label, go)


def reset_rows(ids: list[int]) -> None:
    """Put sampled rows back to their pristine state, without their events."""
    cols = [c for (c,) in sql(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_name = 'tracker_obligation' AND column_name <> 'id'"
    )]
    sets = ", ".join(f"{c} = s.{c}" for c in cols)
    sql(f"UPDATE tracker_obligation o SET {sets} FROM bench_snapshot s "
        "WHERE s.id = o.id AND o.id = ANY(%s)", [ids])
    sql("DELETE FROM tracker_statusevent WHERE obligation_id = ANY(%s)", [ids])
    vacuum("tracker_obligation", "tracker_statusevent")


def loop_engine(ids: list[int]) -> tuple[int, int]:
    """Per row: read it and its facts, assess with the engine, CAS the status, one event."""
    from django.db import transaction
    from django.utils import timezone

    from deadlines import engine
    from deadlines.facts import facts_of
    from tracker import vocabulary as V
    from tracker.models import Obligation, StatusEvent

    detected = timezone.now()
    changed = 0
    for pk in ids:
        with transaction.atomic():
            o = Obligation.objects.select_related("agreement").get(pk=pk)
            a = engine.assess(facts_of(o), T0)
            if a.status == o.status:
                continue
            if Obligation.objects.filter(pk=pk, status=o.status).update(
                status=a.status, status_since=a.status_since, assessed_at=T0,
                next_change_at=a.next_change_at,
            ):
                StatusEvent.objects.create(
                    obligation_id=pk, from_status=o.status, to_status=a.status,
                    effective_at=a.status_since or T0, detected_at=detected,
                    cause=V.CAUSE_SWEEP,
                )
                changed += 1
    return changed, len(ids)


def loop_lean(ids: list[int]) -> tuple[int, int]:
    """Per row: read it, classify its stored summary in Python, CAS the status, one event."""
    from django.db import transaction
    from django.utils import timezone

    from deadlines import engine
    from tracker import vocabulary as V
    from tracker.models import Obligation, StatusEvent

    detected = timezone.now()
    changed = 0
    for pk in ids:
        with transaction.atomic():
            o = Obligation.objects.get(pk=pk)
            summary = engine.Summary(**{c: getattr(o, c) for c in SUMMARY})
            status, column = engine.classify(summary, T0)
            if status == o.status:
                continue
            since = getattr(o, column) if column else None
            if Obligation.objects.filter(pk=pk, status=o.status).update(
                status=status, status_since=since, assessed_at=T0,
                next_change_at=engine.next_change(summary, T0),
            ):
                StatusEvent.objects.create(
                    obligation_id=pk, from_status=o.status, to_status=status,
                    effective_at=since or T0, detected_at=detected, cause=V.CAUSE_SWEEP,
                )
                changed += 1
    return changed, len(ids)


# ---------------------------------------------------------------- explain


def explain_sweep(at: datetime, jit: bool = True) -> None:
    """EXPLAIN (ANALYZE, BUFFERS) of the sweep's statement and of its Python-path query,
    inside a transaction that is rolled back (a diagnostic: it warms the cache and leaves
    dead tuples, so figures of a run with --explain are not the ones to report)."""
    from django.db import connection, transaction
    from django.db.models import Q
    from django.utils import timezone

    from deadlines import sweep
    from tracker import vocabulary as V
    from tracker.models import Obligation

    params = {"at": at, "detected": timezone.now(), "cause": V.CAUSE_AS_OF, "ids": None}
    print(f"\n-- EXPLAIN (ANALYZE, BUFFERS) sweep statement at {at.isoformat()}, jit={jit}")
    try:
        with transaction.atomic(), connection.cursor() as cur:
            # As the sweep runs it; jit=True leaves the server's JIT on, to compare.
            for setting in sweep.STATEMENT_SETTINGS:
                if not (jit and "jit" in setting):
                    cur.execute(setting)
            # Django's foreign keys are deferred to COMMIT, which a rolled-back EXPLAIN
            # never reaches: check them at the statement so that their time is shown
            # ("Trigger for constraint ...").
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cur.execute("EXPLAIN (ANALYZE, BUFFERS, WAL) " + sweep._sweep_sql(False, True), params)
            print("\n".join(r[0] for r in cur.fetchall()))
            raise _Rollback
    except _Rollback:
        pass
    # The same filter as sweep.run uses for its Python path.
    stale = (
        Q(needs_assessment=True) | Q(assessed_at__isnull=True) | Q(assessed_at__gt=at)
        | Q(next_change_at__lte=at, facts_until__lte=at)
    )
    print(f"\n-- EXPLAIN (ANALYZE, BUFFERS) python-path candidates at {at.isoformat()}")
    qs = Obligation.objects.filter(stale).order_by("pk").values_list("pk", flat=True)
    print(qs.explain(analyze=True, buffers=True))


class _Rollback(Exception):
    pass


# Indexes that would let the Python-path filter of sweep.run use a BitmapOr instead of a
# sequential scan (a proposal, measured here; tracker/models.py is not changed).
PROPOSED_INDEXES = (
    "CREATE INDEX bench_obl_unassessed ON tracker_obligation (id) "
    "WHERE needs_assessment OR assessed_at IS NULL",
    "CREATE INDEX bench_obl_assessed_at ON tracker_obligation (assessed_at)",
    "CREATE INDEX bench_obl_dated_fact ON tracker_obligation (facts_until) "
    "WHERE facts_until IS NOT NULL",
)


def explain_python_path_with_indexes(at: datetime) -> None:
    """The Python-path candidate query with PROPOSED_INDEXES (built, then rolled back)."""
    from django.db import connection, transaction
    from django.db.models import Q

    from tracker.models import Obligation

    stale = (
        Q(needs_assessment=True) | Q(assessed_at__isnull=True) | Q(assessed_at__gt=at)
        | Q(next_change_at__lte=at, facts_until__lte=at)
    )
    qs = Obligation.objects.filter(stale).order_by("pk").values_list("pk", flat=True)
    print(f"\n-- python-path candidates at {at.isoformat()} WITH the proposed indexes")
    try:
        with transaction.atomic(), connection.cursor() as cur:
            for ddl in PROPOSED_INDEXES:
                cur.execute(ddl)
            cur.execute("ANALYZE tracker_obligation")
            start = time.perf_counter()
            list(qs)
            print(f"  query alone: {(time.perf_counter() - start) * 1000:.1f} ms")
            print(qs.explain(analyze=True, buffers=True))
            raise _Rollback
    except _Rollback:
        pass


# ---------------------------------------------------------------- proposed fixes


# Indexes no query needs that every non-HOT status update (or event insert) writes:
# covered by obligation_slug_unique/obligation_agr_status_due, by status_event_once,
# or never filtered on by themselves.
REDUNDANT_INDEX_COLUMNS = (
    ("tracker_obligation", "agreement_id"),
    ("tracker_obligation", "slug"),
    ("tracker_obligation", "category"),
    ("tracker_statusevent", "obligation_id"),
)


def next_window(n: int, after: datetime) -> datetime:
    """The instant by which the next 1% of rows reach a threshold after `after`."""
    return sql(
        "SELECT next_change_at FROM tracker_obligation WHERE next_change_at > %s "
        "ORDER BY next_change_at OFFSET %s LIMIT 1", [after, max(n // 100 - 1, 0)],
    )[0][0]


def sweep_without_jit(at: datetime):
    """sweep.run(at) unchanged, inside a transaction with JIT off for its statement."""
    from django.db import connection, transaction

    from deadlines import sweep

    with transaction.atomic():
        with connection.cursor() as cur:
            cur.execute("SET LOCAL jit = off")
        return sweep.run(at=at)


def proposed(timer: Timer, n: int, after: datetime) -> None:
    """Phase 3 again in fresh 1% windows: as is, then with each proposed fix added."""
    from deadlines import sweep

    def one(label: str, fn, at: datetime) -> datetime:
        result = timer.run(label, fn, at=at)
        print(f"    at {at.isoformat()}: assessed {result.assessed:,}, "
              f"changed {result.changed_rows:,}, events {result.events:,}", flush=True)
        vacuum("tracker_obligation", "tracker_statusevent")
        return at

    print("3+. proposed fixes, each in a new 1% window", flush=True)
    vacuum("tracker_obligation", "tracker_statusevent")
    at = one("p_asis_1pct", sweep.run, next_window(n, after + timedelta(seconds=1)))
    at = one("p_nojit_1pct", sweep_without_jit, next_window(n, at))
    for ddl in PROPOSED_INDEXES:
        sql(ddl)
    vacuum("tracker_obligation")
    at = one("p_nojit_idx_1pct", sweep_without_jit, next_window(n, at))
    one("p_nojit_idx_nothing", sweep_without_jit, at + timedelta(seconds=1))
    for table, column in REDUNDANT_INDEX_COLUMNS:
        for (index,) in sql(
            "SELECT indexname FROM pg_indexes WHERE tablename = %s AND indexname LIKE %s",
            [table, f"{table}_{column}_%"],
        ):
            sql(f'DROP INDEX "{index}"')
    at = one("p_nojit_idx_fewer_1pct", sweep_without_jit, next_window(n, at))
    one("p_nojit_idx_fewer_nothing", sweep_without_jit, at + timedelta(seconds=1))


# ---------------------------------------------------------------- main


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--loop-sample", type=int, default=20_000)
    parser.add_argument("--check-sample", type=int, default=2_000)
    parser.add_argument(
        "--explain", action="store_true",
        help="print query plans of the nothing-changed and 1%% sweeps (diagnostic run)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument(
        "--proposed", action="store_true",
        help="after phase 3, time more 1%% and nothing-changed sweeps with proposed fixes",
    )
    parser.add_argument(
        "--explain-full", action="store_true",
        help="only build, then EXPLAIN (ANALYZE, BUFFERS) the first full sweep (rolled back)",
    )
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", "")
    name, maintenance = bench_database(url)
    recreate_database(name, maintenance)
    setup_django(url)
    from django.core.management import call_command
    from django.db import connection
    from django.utils import timezone

    from deadlines import engine, sweep
    from tracker.models import Obligation, StatusEvent

    ok = True
    timer = Timer()
    clock = None
    try:
        call_command("migrate", verbosity=0)
        print(f"building {args.n:,} obligations in {name} ...", flush=True)
        timer.run("build", build, args.n)
        n = Obligation.objects.count()
        counts = dict(sql("SELECT kind, count(*) FROM tracker_obligation GROUP BY kind"))
        reports = sql("SELECT count(*) FROM tracker_report")[0][0]
        preassessed = Obligation.objects.exclude(status="").count()
        print(f"  {n:,} obligations {counts}, {reports:,} reports, "
              f"{preassessed:,} assessed when their last fact came", flush=True)

        rng = random.Random(7)
        all_ids = [pk for (pk,) in sql("SELECT id FROM tracker_obligation")]
        sample = Sample(rng.sample(all_ids, min(args.check_sample, n)))
        ok &= report_errors("built summary = engine.summarize", check_built(sample))

        import time_machine  # a dev dependency, as the tests use it

        clock = time_machine.travel(PRESENT, tick=True)
        clock.start()
        if args.explain_full:
            explain_sweep(T0, jit=False)  # as the sweep runs it
            return 0

        print("1. first full sweep", flush=True)
        checkpoint()
        r1 = timer.run("full", sweep.run, at=T0)
        print(f"  assessed {r1.assessed:,}, changed {r1.changed_rows:,}, "
              f"events {r1.events:,}, failed {r1.failed}", flush=True)
        errors, got, want = check_swept(sample, T0)
        ok &= report_errors("statuses and events after the full sweep", errors)
        print(f"  sample: {got:,} events stored, {want:,} implied by engine.timeline")
        vacuum("tracker_obligation", "tracker_statusevent")

        print("2. nothing changed", flush=True)
        checkpoint()
        r2 = timer.run("nothing", sweep.run, at=T0 + timedelta(seconds=1))
        print(f"  assessed {r2.assessed:,}, changed {r2.changed_rows:,}, events {r2.events:,}")

        print("3. ~1% reach a threshold", flush=True)
        t1 = sql(
            "SELECT next_change_at FROM tracker_obligation WHERE next_change_at > %s "
            "ORDER BY next_change_at OFFSET %s LIMIT 1",
            [T0 + timedelta(seconds=1), max(n // 100 - 1, 0)],
        )[0][0]
        due = Obligation.objects.filter(next_change_at__gt=T0 + timedelta(seconds=1),
                                        next_change_at__lte=t1).count()
        assert t1 < PRESENT, f"T1 = {t1} is not before the bench's clock {PRESENT}"
        print(f"  T1 = {t1.isoformat()}: {due:,} rows ({due / n:.2%}) have a threshold in "
              f"(T0+1s, T1]", flush=True)
        if args.explain:
            explain_sweep(T0 + timedelta(seconds=2))
            explain_sweep(t1)
            explain_sweep(t1, jit=False)
            explain_python_path_with_indexes(T0 + timedelta(seconds=2))
            vacuum("tracker_obligation", "tracker_statusevent")
        checkpoint()
        r3 = timer.run("one_percent", sweep.run, at=t1)
        print(f"  assessed {r3.assessed:,}, changed {r3.changed_rows:,}, events {r3.events:,}")
        errors, got, want = check_swept(sample, t1)
        ok &= report_errors("statuses and events after the 1% sweep", errors)
        print(f"  sample: {got:,} events stored, {want:,} implied by engine.timeline")

        if args.proposed:
            proposed(timer, n, t1)

        print("4. floor: one UPDATE of every row of a fresh copy", flush=True)
        floor_rows = floor(timer, "floor", f"status = {status_case('%(at)s')}")
        floor(
            timer, "floor_all_columns",
            f"status = {status_case('%(at)s')}, "
            f"status_since = CASE WHEN done_at <= %(at)s THEN done_at "
            f"WHEN violated_at <= %(at)s THEN violated_at WHEN due_at <= %(at)s THEN due_at "
            f"WHEN due_soon_at <= %(at)s THEN due_soon_at "
            f"WHEN active_at <= %(at)s THEN active_at END, "
            f"next_change_at = {next_change_case('%(at)s')}, assessed_at = %(at)s",
        )
        expected_t0 = {pk: engine.assess(f, T0).status for pk, f in sample.facts.items()}
        floor_status = dict(sql("SELECT id, status FROM bench_floor WHERE id = ANY(%s)",
                                [sample.ids]))
        bad = [pk for pk in sample.ids if floor_status[pk] != expected_t0[pk]]
        ok &= report_errors("floor statuses = engine", [f"floor wrong for {pk}" for pk in bad])
        sql("DROP TABLE bench_floor")

        print(f"5. per-row compare-and-swap loop on {min(args.loop_sample, n):,} rows",
              flush=True)
        loop_ids = rng.sample(all_ids, min(args.loop_sample, n))
        reset_rows(loop_ids)
        changed_e, rows_e = timer.run("loop_engine", loop_engine, loop_ids)
        reset_rows(loop_ids)
        changed_l, rows_l = timer.run("loop_lean", loop_lean, loop_ids)
        print(f"  engine loop changed {changed_e:,}, lean loop changed {changed_l:,} "
              f"of {rows_l:,}")
        events_total = StatusEvent.objects.count()
    finally:
        if clock is not None:
            clock.stop()
        connection.close()
        if not args.keep:
            recreate_database(name, maintenance, drop_only=True)

    f, cpu = timer.figures, timer.cpu
    scale = n / len(loop_ids)
    loop_e, loop_l = f["loop_engine"] * scale, f["loop_lean"] * scale
    version = sql_version(maintenance)
    print(f"\nmachine: nproc={os.cpu_count()}, {version}; "
          f"run at {timezone.now():%Y-%m-%d %H:%M} UTC")
    print(f"N = {n:,} obligations; T0 = {T0.isoformat()}; events in the table at the end: "
          f"{events_total:,}\n")
    rows = [
        ("Build (INSERT ... SELECT, reports, VACUUM ANALYZE)", f["build"], cpu["build"], ""),
        (f"1. First full sweep `sweep.run(T0)`: {r1.assessed:,} rows, "
         f"{r1.events:,} events", f["full"], cpu["full"],
         f"{f['full'] / f['floor']:.2f}x floor (goal <= 2.5x); "
         f"CPU {cpu['full'] / cpu['floor']:.2f}x"),
        (f"2. Nothing changed `sweep.run(T0 + 1 s)`: {r2.assessed:,} rows",
         f["nothing"], cpu["nothing"],
         "goal < 0.5 s: " + ("met" if f["nothing"] < 0.5 else "MISSED")),
        (f"3. 1% `sweep.run(T1)`: {r3.assessed:,} rows touched, {r3.changed_rows:,} "
         f"changed, {r3.events:,} events", f["one_percent"], cpu["one_percent"],
         "goal < 2 s: " + ("met" if f["one_percent"] < 2 else "MISSED")),
        (f"4. Floor: `UPDATE ... SET status = CASE` on {floor_rows:,} rows", f["floor"],
         cpu["floor"], "1.00x"),
        ("4b. Floor writing the sweep's columns (status, status_since, next_change_at, "
         "assessed_at), no events", f["floor_all_columns"], cpu["floor_all_columns"],
         f"{f['floor_all_columns'] / f['floor']:.2f}x floor"),
        (f"5. Per-row CAS loop, engine + facts (3 reads, CAS, event insert per row): "
         f"{rows_e:,} rows took {f['loop_engine']:.1f} s, scaled x{scale:,.0f}", loop_e,
         cpu["loop_engine"] * scale, f"{loop_e / f['full']:.0f}x full sweep (goal >= 20x); "
         f"CPU {cpu['loop_engine'] * scale / cpu['full']:.0f}x"),
        (f"5b. Per-row CAS loop, stored summary (1 read, CAS, event insert per row): "
         f"{rows_l:,} rows took {f['loop_lean']:.1f} s, scaled x{scale:,.0f}", loop_l,
         cpu["loop_lean"] * scale, f"{loop_l / f['full']:.0f}x full sweep (goal >= 20x); "
         f"CPU {cpu['loop_lean'] * scale / cpu['full']:.0f}x"),
    ]
    labels = {
        "p_asis_1pct": "3+. 1% in a later window, as is",
        "p_nojit_1pct": "3+. 1%, `SET LOCAL jit = off`",
        "p_nojit_idx_1pct": "3+. 1%, jit off + Python-path indexes",
        "p_nojit_idx_nothing": "3+. Nothing changed, jit off + Python-path indexes",
        "p_nojit_idx_fewer_1pct": "3+. 1%, jit off + indexes + redundant indexes dropped",
        "p_nojit_idx_fewer_nothing": "3+. Nothing changed, same",
    }
    rows[4:4] = [(text, f[key], cpu[key], "proposed fix (prototype)")
                 for key, text in labels.items() if key in f]
    print("| Phase | Seconds | CPU s | Ratio / goal |")
    print("|---|---:|---:|---|")
    for label, secs, cpu_secs, note in rows:
        print(f"| {label} | {secs:.3f} | {cpu_secs:.3f} | {note} |")
    print("\ncorrectness checks: " + ("all passed" if ok else "SOME FAILED (see above)"))
    return 0 if ok else 1


def sql_version(maintenance_url: str) -> str:
    import psycopg2

    conn = psycopg2.connect(maintenance_url)
    with conn.cursor() as cur:
        cur.execute("SHOW server_version")
        version = cur.fetchone()[0]
    conn.close()
    return f"PostgreSQL {version}"


if __name__ == "__main__":
    sys.exit(main())
