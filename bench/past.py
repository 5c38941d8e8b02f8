"""Benchmark: the same views now and `?as_of=` a past instant, side by side, at 100,000
obligations (issue 17: the past within 3x of now).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_past_bench \\
        .venv/bin/python bench/past.py [--n 100000] [--runs 15] [--reuse]

It creates (drops first, unless --reuse finds it filled) the database named in
DATABASE_URL, which must be called `tracker_past_bench` or `tracker_past_bench_*` (the
bench drops it), migrates it and fills it as `bench/dashboard.py` does (three
agreements, a third each deadline / ongoing / open, five parties, twenty places,
reports on a quarter, deadline changes on 2%), then `deadlines.sweep.run()` stores
every status (and the summary spans of the rows with dated facts).

Measured server-side with the Django test client (middleware, view, SQL, template or
renderer; no network), DEBUG off, medians of --runs after one warm-up, each view now
and at the past instant one after the other in the same loop:

* the overview (`/`);
* an agreement page (`/agreements/bench-0/`: 33,334 obligations, the first 500 listed);
* the API's filtered list (`/api/v1/obligations/?agreement=bench-0&status=overdue`),
  rendered afresh every time (the body cache and remembered ETags are emptied before
  each request, now and past alike: otherwise both are a cache read).

The count timeline (`tracker.count_timeline`) is rebuilt as the worker does after a
sweep, and timed. Then, for information, the past views without the spans and the
timeline (deleted inside a transaction that is rolled back): what the engine path they
replace costs; and the past overview without the timeline only (every row classified).
And correctness checks at the past instant: on 2,000 random rows, the status
`tracker.statuses.split` gives equals `engine.assess`; the timeline's counts equal a
classification of every row.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import database_names, prepare_database  # noqa: E402 - needs ROOT on the path
from bench.dashboard import fill_database, queries_of  # noqa: E402

PREFIX = "tracker_past_bench"
PAST = "2022-01-01"
VIEWS = [
    ("overview", "/", "/?as_of={past}"),
    ("agreement page", "/agreements/bench-0/", "/agreements/bench-0/?as_of={past}"),
    ("API filtered list", "/api/v1/obligations/?agreement=bench-0&status=overdue",
     "/api/v1/obligations/?agreement=bench-0&status=overdue&as_of={past}"),
]


class Abort(Exception):
    """Leaves the transaction that removed the spans (rolled back)."""


def timed(client, path: str) -> float:
    from django.core.cache import cache

    from tracker.api import fastcache

    cache.clear()
    fastcache.forget_local()
    start = time.perf_counter()
    r = client.get(path)
    elapsed = (time.perf_counter() - start) * 1000
    assert r.status_code == 200, (path, r.status_code)
    return elapsed


def side_by_side(client, runs: int, past: str) -> list[tuple[str, float, float, int, int]]:
    """(view, now ms, past ms, now queries, past queries), medians of `runs`."""
    rows = []
    for label, now_path, past_path in VIEWS:
        past_path = past_path.format(past=past)
        timed(client, now_path), timed(client, past_path)  # warm
        now, then = [], []
        for _ in range(runs):
            now.append(timed(client, now_path))
            then.append(timed(client, past_path))
        nq = queries_of(lambda p=now_path: timed(client, p))
        pq = queries_of(lambda p=past_path: timed(client, p))
        rows.append((label, statistics.median(now), statistics.median(then), nq, pq))
        print(f"  {label}: now {rows[-1][1]:.1f} ms, past {rows[-1][2]:.1f} ms", flush=True)
    return rows


def without_spans(client, runs: int, past: str) -> list[tuple[str, float]]:
    """The past views with no span and no count timeline to read (the engine path),
    then rolled back."""
    from django.db import transaction

    from tracker.models import StatusTallyBuild, SummarySpan

    found = []
    try:
        with transaction.atomic():
            SummarySpan.objects.all().delete()
            StatusTallyBuild.objects.all().delete()  # the engine path: no stored help
            for label, _, past_path in VIEWS:
                path = past_path.format(past=past)
                timed(client, path)
                found.append((label, statistics.median(
                    timed(client, path) for _ in range(runs))))
                print(f"  {label} without spans: {found[-1][1]:.1f} ms", flush=True)
            raise Abort
    except Abort:
        pass
    return found


def without_timeline(client, runs: int, past: str) -> float:
    """The past overview classifying every row (the count timeline's build removed
    inside a transaction that is rolled back), for information."""
    from django.db import transaction

    from tracker.models import StatusTallyBuild

    path = VIEWS[0][2].format(past=past)
    found = 0.0
    try:
        with transaction.atomic():
            StatusTallyBuild.objects.all().delete()
            timed(client, path)
            found = statistics.median(timed(client, path) for _ in range(runs))
            print(f"  overview without the count timeline: {found:.1f} ms", flush=True)
            raise Abort
    except Abort:
        pass
    return found


def check(past: str, sample: int = 2000) -> tuple[int, int, int]:
    """(rows checked, of which SQL classified, mismatches) at `past`."""
    from deadlines import engine
    from deadlines.facts import facts_of, with_facts
    from tracker import statuses
    from tracker.instants import as_of
    from tracker.models import Agreement, Obligation

    asof = as_of(past)
    ids = list(Obligation.objects.values_list("pk", flat=True))
    picked = random.Random(17).sample(ids, min(sample, len(ids)))
    agreements = list(Agreement.objects.all())
    qs = Obligation.objects.filter(pk__in=picked)
    sql_rows, _ = statuses.split(qs, asof, statuses.zone_instants(asof, agreements))
    by_sql = dict(sql_rows.values_list("pk", "st"))
    wrong = 0
    for o in with_facts(qs):
        expected = engine.assess(facts_of(o), asof.at(o.agreement.zone)).status
        if o.pk in by_sql and by_sql[o.pk] != expected:
            wrong += 1
    return len(picked), len(by_sql), wrong


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--past", default=PAST, help="the as_of of the past views")
    parser.add_argument("--reuse", action="store_true", help="keep a filled database")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{PREFIX}")
    os.environ["DATABASE_URL"] = url
    os.environ["DEBUG"] = "false"
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The anonymous throttle would refuse a bench's requests; the API bench does the same.
    os.environ.setdefault("API_ANON_RATE", "1000000/second")
    name, admin_url = database_names(url, PREFIX)
    fill = prepare_database(admin_url, name, args.reuse)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from tracker.models import Obligation, StatusTally, SummarySpan

    fill_database(args.n, fill)

    # What the worker does after every sweep that stored statuses: the count timeline
    # the past overview reads (tracker.count_timeline), rebuilt here and timed.
    from tracker import count_timeline, statuses
    from tracker.instants import as_of
    from tracker.models import Agreement

    t = time.perf_counter()
    assert count_timeline.rebuild(), "the count timeline was not built (rows await assessment)"
    rebuild_s = time.perf_counter() - t
    assert count_timeline.counts_at(as_of(args.past), list(Agreement.objects.all())) is not None
    print(f"  count timeline rebuilt in {rebuild_s:.2f} s", flush=True)

    load = os.getloadavg()[0]
    storages = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages):
        client = Client()
        rows = side_by_side(client, args.runs, args.past)
        bare = without_spans(client, max(3, args.runs // 5), args.past)
        unbuilt = without_timeline(client, max(3, args.runs // 5), args.past)
    checked, in_sql, wrong = check(args.past)
    agreements = list(Agreement.objects.all())
    classified, _ = statuses.count_at(Obligation.objects.all(), as_of(args.past), agreements, {})
    timeline = count_timeline.counts_at(as_of(args.past), agreements)
    assert timeline is not None and all(
        timeline.by_agreement[a.pk] == classified.by_agreement.get(a.pk) for a in agreements
    ), "the count timeline's counts differ from a classification of every row"
    assert wrong == 0, f"{wrong} of {in_sql} SQL statuses differ from the engine's"

    n = Obligation.objects.count()
    print()
    print(f"Obligations: {n:,}; summary spans: {SummarySpan.objects.count():,}; past: "
          f"as_of={args.past}; PostgreSQL {connection.pg_version // 10000}; Django test "
          f"client, DEBUG off; {os.cpu_count()} CPUs; load average {load:.1f} before, "
          f"{os.getloadavg()[0]:.1f} after; {datetime.now(UTC):%Y-%m-%d %H:%M} UTC.")
    print()
    print("| view | now ms | past ms | past / now | queries now / past | past without spans ms |")
    print("|---|---:|---:|---:|---:|---:|")
    without = dict(bare)
    for label, now, then, nq, pq in rows:
        print(f"| {label} | {now:.1f} | {then:.1f} | **{then / now:.2f}x** | {nq} / {pq} "
              f"| {without.get(label, float('nan')):.1f} |")
    print()
    print(f"Count timeline: {StatusTally.objects.count():,} rows, rebuilt in {rebuild_s:.2f} s; "
          f"the past overview without it (every row classified): {unbuilt:.1f} ms; its counts "
          f"at as_of={args.past} equal a classification of every row.")
    print(f"Correctness at as_of={args.past}: {checked:,} random rows, {in_sql:,} classified "
          f"in SQL, all equal to engine.assess.")


if __name__ == "__main__":
    main()
