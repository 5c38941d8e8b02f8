"""Prototype: what each part of the first full sweep's statement costs, side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench_variants \\
        .venv/bin/python bench/sweep_variants.py [--n 200000] [--variants a,b,...] [--keep]

Builds the same data as bench/sweep.py (same refusal rule for the database name; with
--keep a kept database is reused), then for each variant copies the pristine
obligations into `v_obl` and an empty `v_event` (same indexes, and foreign keys as the
migrations create them: deferred, checked at COMMIT), runs the statement once at T0 in
one transaction with the sweep's settings, and checks that the stored statuses and the
events are identical to the statement as written (`asis`). Besides wall seconds it
reports the CPU seconds of the server process, steadier than wall time on a shared
machine. Nothing in deadlines/ is changed: the variants are text edits of
`deadlines.sweep._sweep_sql` or changes to the copied tables.

Variants (join with +): asis; onconflict (ON CONFLICT DO NOTHING instead of the
`recorded` check); norecorded (neither: right only while no row has history in its
window, as in this first sweep); nofk (no foreign keys on v_event: what checking the
events' references costs); nolock (no FOR UPDATE); noeff (no effective_at index); effid
(that index on (effective_at, id)); btree (detected_at and report_id as plain B-trees);
wm<size> (another work_mem: wm4MB is the default); floor (the floor's UPDATE instead).
Each variant starts from a completed CHECKPOINT.
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("bench_sweep", HERE / "sweep.py")
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

def statement(parts: set[str]) -> str:
    from deadlines import sweep

    text = sweep._sweep_sql(only_ids=False, write=True)
    text = text.replace("tracker_obligation", "v_obl").replace("tracker_statusevent", "v_event")
    if "onconflict" in parts:
        text = _replace_recorded_check(text, "        ON CONFLICT DO NOTHING\n")
    if "norecorded" in parts:  # right only while no row has history in its window
        text = _replace_recorded_check(text, "")
        text = text.replace(
            "EXISTS (SELECT 1 FROM v_event e", "false AND EXISTS (SELECT 1 FROM v_event e"
        )
    if "nolock" in parts:
        text = text.replace("FOR UPDATE OF o SKIP LOCKED", "")
    return text


def _replace_recorded_check(text: str, replacement: str) -> str:
    start = text.index("          AND (NOT c.recorded OR NOT EXISTS (")
    end = text.index("        RETURNING 1")
    return text[:start] + replacement + text[end:]


def index_named(table: str, needle: str) -> str:
    for name, definition in bench.sql(
        "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = %s", [table]
    ):
        if needle in definition:
            return name
    raise SystemExit(f"no index on {table} like {needle!r}")


def prepare(parts: set[str]) -> None:
    sql = bench.sql
    sql("DROP TABLE IF EXISTS v_event")
    sql("DROP TABLE IF EXISTS v_obl")
    sql("CREATE TABLE v_obl (LIKE tracker_obligation INCLUDING ALL)")
    sql("INSERT INTO v_obl SELECT * FROM bench_snapshot")
    sql("CREATE TABLE v_event (LIKE tracker_statusevent INCLUDING ALL)")
    if "nofk" not in parts:  # LIKE copies no foreign key: as the migrations make them
        sql("ALTER TABLE v_event ADD CONSTRAINT v_event_obl FOREIGN KEY (obligation_id) "
            "REFERENCES v_obl (id) DEFERRABLE INITIALLY DEFERRED")
        sql("ALTER TABLE v_event ADD CONSTRAINT v_event_report FOREIGN KEY (report_id) "
            "REFERENCES tracker_report (id) DEFERRABLE INITIALLY DEFERRED")
    if "noeff" in parts or "effid" in parts:
        sql(f'DROP INDEX "{index_named("v_event", "(effective_at)")}"')
    if "effid" in parts:
        sql("CREATE INDEX v_event_effective ON v_event (effective_at, id)")
    if "btree" in parts:
        sql(f'DROP INDEX "{index_named("v_event", "USING brin (detected_at)")}"')
        sql(f'DROP INDEX "{index_named("v_event", "WHERE (report_id IS NOT NULL)")}"')
        sql("CREATE INDEX v_event_detected ON v_event (detected_at)")
        sql("CREATE INDEX v_event_report ON v_event (report_id)")
    bench.vacuum("v_obl", "v_event")


def fingerprint() -> tuple[str, int]:
    rows = bench.sql(
        "SELECT md5(string_agg(concat_ws('|', id, status, status_since, next_change_at, "
        "assessed_at), ',' ORDER BY id)) FROM v_obl")[0][0]
    events = bench.sql(
        "SELECT md5(string_agg(concat_ws('|', obligation_id, from_status, to_status, "
        "effective_at, cause), ',' ORDER BY obligation_id, effective_at, to_status)), "
        "count(*) FROM v_event")[0]
    return hashlib.md5(f"{rows}{events[0]}".encode()).hexdigest()[:12], events[1]


def run_variant(variant: str) -> tuple[float, float, str, int]:
    from django.db import connection, transaction

    from deadlines import sweep
    from tracker import vocabulary as V

    parts = set(variant.split("+"))
    prepare(parts)
    if "floor" in parts:
        text, params = f"UPDATE v_obl SET status = {bench.status_case('%(at)s')}", {"at": bench.T0}
    else:
        text = statement(parts)
        params = {"at": bench.T0, "detected": bench.PRESENT, "cause": V.CAUSE_AS_OF, "ids": None}
    bench.checkpoint()
    cpu, start = bench.server_cpu_seconds(), time.perf_counter()
    # The foreign keys are checked at COMMIT, inside the timing.
    with transaction.atomic(), connection.cursor() as cur:
        for setting in sweep.STATEMENT_SETTINGS:
            cur.execute(setting)
        for part in parts:
            if part.startswith("wm"):  # wm4MB, wm1GB: another work_mem
                cur.execute("SET LOCAL work_mem = %s", [part[2:]])
        cur.execute(text, params)
    seconds, cpu = time.perf_counter() - start, bench.server_cpu_seconds() - cpu
    fp, events = fingerprint()
    return seconds, cpu, fp, events


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument(
        "--variants", default="floor,asis,nofk,onconflict,btree,noeff,nolock,wm4MB,floor,asis"
    )
    parser.add_argument("--keep", action="store_true", help="keep (and reuse) the database")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    name, maintenance = bench.bench_database(url)
    import psycopg2

    conn = psycopg2.connect(maintenance)
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        reuse = args.keep and cur.fetchone() is not None
    conn.close()
    if not reuse:
        bench.recreate_database(name, maintenance)
    bench.setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        if not reuse:
            print(f"building {args.n:,} obligations ...", flush=True)
            bench.build(args.n)
        print(f"load average {os.getloadavg()}")
        print("| Variant | Seconds | Server CPU s | Events | Same result as asis |")
        print("|---|---:|---:|---:|---|")
        reference = None
        for variant in args.variants.split(","):
            seconds, cpu, fp, events = run_variant(variant)
            if "floor" in variant:
                same = ""
            else:
                reference = reference or (run_variant("asis")[2] if variant != "asis" else fp)
                same = "yes" if fp == reference else "NO"
            print(f"| {variant} | {seconds:.2f} | {cpu:.2f} | {events:,} | {same} |", flush=True)
        print(f"load average {os.getloadavg()}")
    finally:
        connection.close()
        if not args.keep:
            bench.recreate_database(name, maintenance, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
