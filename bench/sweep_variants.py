"""Prototype: the first full sweep's statement, as written and with changes, side by side.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_bench_variants \\
        .venv/bin/python bench/sweep_variants.py [--n 200000] [--variants a,b,...]

Builds the same data as bench/sweep.py (same refusal rule for the database name), then
for each variant copies the pristine obligations into `v_obl` and an empty
`v_event` (same indexes, and the same deferred foreign key as Django creates), runs the
statement once at T0 in one transaction, and checks that the stored statuses and the
events are identical to the statement as written (`asis`). Nothing in deadlines/ is
changed: the variants are text edits of `deadlines.sweep._sweep_sql`.
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


def statement(variant: str) -> tuple[str, str | None]:
    """(the statement, a work_mem to SET LOCAL or None) for one variant."""
    from deadlines import sweep

    text = sweep._sweep_sql(only_ids=False, write=True)
    text = text.replace("tracker_obligation", "v_obl").replace("tracker_statusevent", "v_event")
    work_mem = None
    parts = set(variant.split("+"))
    if "nodistinct" in parts or "lean" in parts:
        # Duplicate thresholds give prev = st in `seq` and are dropped by `changes` anyway.
        text = text.replace("SELECT DISTINCT c.id, x.t", "SELECT c.id, x.t")
    if "lean" in parts:
        # Carry the old status in `steps` instead of joining `cand` back in `seq`.
        text = text.replace("SELECT c.id, x.t,", "SELECT c.id, c.status AS old, x.t,")
        text = text.replace(
            "COALESCE(lag(s.st) OVER (PARTITION BY s.id ORDER BY s.t), c.status) AS prev\n"
            "        FROM steps s JOIN cand c ON c.id = s.id",
            "COALESCE(lag(s.st) OVER (PARTITION BY s.id ORDER BY s.t), s.old) AS prev\n"
            "        FROM steps s",
        )
        assert "s.old) AS prev" in text, "lean variant did not apply"
    if "nolock" in parts:
        text = text.replace("FOR UPDATE OF o SKIP LOCKED", "")
    for part in parts:
        if part.startswith("wm"):
            work_mem = part[2:]
    return text, work_mem


def prepare(with_fk: bool = True) -> None:
    sql = bench.sql
    sql("DROP TABLE IF EXISTS v_event")
    sql("DROP TABLE IF EXISTS v_obl")
    sql("CREATE TABLE v_obl (LIKE tracker_obligation INCLUDING ALL)")
    sql("INSERT INTO v_obl SELECT * FROM bench_snapshot")
    sql("CREATE TABLE v_event (LIKE tracker_statusevent INCLUDING ALL)")
    if with_fk:
        sql("ALTER TABLE v_event ADD CONSTRAINT v_event_obl FOREIGN KEY (obligation_id) "
            "REFERENCES v_obl (id) DEFERRABLE INITIALLY DEFERRED")
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


def run_variant(variant: str) -> tuple[float, str, int]:
    from django.db import connection, transaction
    from django.utils import timezone

    from tracker import vocabulary as V

    prepare(with_fk="nofk" not in variant.split("+"))
    text, work_mem = statement(variant)
    params = {"at": bench.T0, "detected": timezone.now(), "cause": V.CAUSE_AS_OF, "ids": None}
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        if work_mem:
            cur.execute(f"SET LOCAL work_mem = '{work_mem}'")
        cur.execute(text, params)
        cur.fetchone()
    seconds = time.perf_counter() - start
    fp, events = fingerprint()
    return seconds, fp, events


def run_floor() -> float:
    from django.db import connection, transaction

    prepare()
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(f"UPDATE v_obl SET status = {bench.status_case('%(at)s')}", {"at": bench.T0})
    return time.perf_counter() - start


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument(
        "--variants", default="asis,nodistinct,lean,wm256MB,lean+wm256MB,nofk,nolock"
    )
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    name, maintenance = bench.bench_database(url)
    bench.recreate_database(name, maintenance)
    bench.setup_django(url)
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        print(f"building {args.n:,} obligations ...", flush=True)
        bench.build(args.n)
        floor = run_floor()
        print(f"floor (UPDATE status = CASE, every row): {floor:.2f} s", flush=True)
        reference = None
        print("| Variant | Seconds | / floor | Events | Same result as asis |")
        print("|---|---:|---:|---:|---|")
        variants = args.variants.split(",")
        # `asis` first (the reference result); repeats allowed, to see the noise.
        for variant in variants if variants[0] == "asis" else ["asis", *variants]:
            seconds, fp, events = run_variant(variant)
            reference = reference or fp
            same = "yes" if fp == reference else "NO"
            print(f"| {variant} | {seconds:.2f} | {seconds / floor:.2f}x | {events:,} | {same} |",
                  flush=True)
    finally:
        connection.close()
        if not args.keep:
            bench.recreate_database(name, maintenance, drop_only=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
