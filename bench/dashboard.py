"""Benchmark of the dashboard overview (`/`) with 100,000 obligations.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/tracker_web_bench \\
        .venv/bin/python bench/dashboard.py [--n 100000] [--runs 30] [--reuse]

It creates (drops first, unless --reuse finds it already filled) the database named
in DATABASE_URL, which must be called `tracker_web_bench` or `tracker_web_bench_*`
(anything else is refused: the bench drops it), migrates it, bulk-creates N
obligations over three agreements (a third each deadline / ongoing / open; five
responsible parties; twenty places; reports on a quarter of them, deadline changes
on 2%), runs `deadlines.sweep.run()` so every row has a stored status, and then
measures, server-side with the Django test client (middleware, view, queries,
template; no network), the median of --runs renders of:

* the baseline: a page through the same stack that does almost nothing (the places
  page answering 400 to a bad query: one query, the base template);
* the overview now (stored statuses) - the figure the 100 ms budget is for:
  - while the stored counts hold (`tracker.web.snapshot`: every view but those below);
  - **the first view after a change made as production makes it**: a report is
    drafted and published through `tracker.editorial` (two users), the write enqueues
    the reassessment on commit, and the task the worker runs
    (`deadlines.tasks.reassess`: `sweep.run(ids)`, then the recount) runs in-process
    (CELERY_TASK_ALWAYS_EAGER); then one request is timed. Each run publishes a
    completion on another overdue deadline (it turns completed_late), so every run is
    a real status change;
  - the first view after a change *before* the worker has recounted (the same change,
    `sweep.run(ids)` only): the page finds the counts out of date and counts itself.
    This is what a view sees in the ~0.1 s between the worker's commit and its recount,
    or when no worker runs;
* the overview `?as_of=` a past date, for information (SQL classification plus the
  Python engine for rows whose stored summary does not hold then);
* for information, what the worker spends: the recount alone (`snapshot.refresh()`),
  and the whole publish (write, reassessment and recount).

Runs of the change scenarios publish reports: a reused database drifts by a few dozen
completed obligations per run, out of 100,000.

It prints the query count of each and a Markdown table for docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import database_names, prepare_database  # noqa: E402 - needs ROOT on the path

PREFIX = "tracker_web_bench"
EFFECTIVE = datetime(2020, 11, 9, 21, tzinfo=UTC)


def populate(n: int) -> None:
    from deadlines.engine import due_instant
    from tracker import vocabulary as V
    from tracker.models import (
        Agreement,
        DeadlineChange,
        Location,
        Obligation,
        Party,
        Report,
    )

    rng = random.Random(5)
    agreements = [
        Agreement.objects.create(
            slug=f"bench-{i}", title=f"Bench agreement {i}", signed_at=EFFECTIVE,
            effective_at=EFFECTIVE, timezone="Asia/Baku",
        )
        for i in range(3)
    ]
    parties = [Party.objects.create(slug=f"party-{i}", name=f"Party {i}") for i in range(5)]
    places = [
        Location.objects.create(
            slug=f"place-{i}", names={"en": f"Place {i}"}, alt_name=f"Alt {i}",
            latitude=38.5 + rng.random() * 3.5, longitude=44 + rng.random() * 6,
        )
        for i in range(20)
    ]
    batch = 5000
    made = 0
    while made < n:
        rows = []
        for i in range(made, min(n, made + batch)):
            kind = (V.DEADLINE, V.ONGOING, V.OPEN)[i % 3]
            agreement = agreements[i % 3]
            due = date(2020, 11, 10) + timedelta(days=rng.randrange(0, 2500)) if (
                kind == V.DEADLINE
            ) else None
            rows.append(Obligation(
                agreement=agreement, slug=f"o-{i}", title=f"Obligation {i}", kind=kind,
                category=("withdrawal", "ceasefire", "humanitarian", "transport")[i % 4],
                position=i, due_date=due, original_due_date=due,
                due_at=due_instant(due, agreement.zone) if due else None,
                starts_at=EFFECTIVE if kind == V.ONGOING else None,
            ))
        created = Obligation.objects.bulk_create(rows)
        Resp = Obligation.responsible.through
        Resp.objects.bulk_create(
            [Resp(obligation_id=o.pk, party_id=parties[o.position % 5].pk) for o in created]
        )
        Places = Obligation.locations.through
        Places.objects.bulk_create(
            [Places(obligation_id=o.pk, location_id=places[o.position % 20].pk)
             for o in created if o.position % 3 == 0]
        )
        reports = []
        changes = []
        for o in created:
            if o.position % 4 == 0:
                claim = {V.DEADLINE: V.CLAIM_COMPLETED, V.ONGOING: V.CLAIM_VIOLATION,
                         V.OPEN: V.CLAIM_PROGRESS}[o.kind]
                reports.append(Report(
                    obligation=o, claim=claim,
                    occurred_at=EFFECTIVE + timedelta(days=rng.randrange(1, 2000)),
                    summary="bench", review_state=V.PUBLISHED, published_at=EFFECTIVE,
                ))
            if o.kind == V.DEADLINE and o.position % 50 == 0:
                changes.append(DeadlineChange(
                    obligation=o, due_date=o.due_date + timedelta(days=10),
                    agreed_at=EFFECTIVE + timedelta(days=1), reason="bench",
                    review_state=V.PUBLISHED, published_at=EFFECTIVE,
                ))
        Report.objects.bulk_create(reports)
        DeadlineChange.objects.bulk_create(changes)
        made += len(created)
        print(f"  created {made}/{n} obligations", flush=True)


def median_ms(fn, runs: int) -> float:
    fn()  # warm: templates compiled, connection open, map file read
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    return statistics.median(samples)


def fill_database(n: int, fill: bool) -> None:
    """Migrate, then (unless --reuse found it filled with `n`) fill with `n` obligations,
    store every status with the sweep and refresh the planner's statistics. For
    bench/dashboard.py and bench/past.py, which measure the same data."""
    from django.core.management import call_command
    from django.db import connection

    from deadlines import sweep
    from tracker.models import Obligation

    call_command("migrate", verbosity=0)
    if not fill and Obligation.objects.count() == n:
        return
    if not fill:
        sys.exit("--reuse: the database holds a different N; run without --reuse")
    print(f"populating {n} obligations ...", flush=True)
    t = time.perf_counter()
    populate(n)
    print(f"  bulk create: {time.perf_counter() - t:.1f} s", flush=True)
    t = time.perf_counter()
    result = sweep.run()
    print(f"  sweep.run(): {time.perf_counter() - t:.1f} s, {result.assessed} assessed,"
          f" {result.events} events", flush=True)
    with connection.cursor() as cur:
        cur.execute("VACUUM ANALYZE")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--reuse", action="store_true", help="keep a filled database")
    args = parser.parse_args()

    url = os.environ.get("DATABASE_URL", f"postgres://postgres@127.0.0.1:5432/{PREFIX}")
    os.environ["DATABASE_URL"] = url
    # Production-like: DEBUG off (no query log kept), but plain static storage so that
    # the templates' {% static %} needs no collectstatic manifest.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", "bench-only-" + "x" * 50)
    os.environ.setdefault("ALLOWED_HOSTS", "testserver")
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    # The reassessment a write enqueues runs in-process, as the worker would run it.
    os.environ.setdefault("CELERY_TASK_ALWAYS_EAGER", "true")
    name, admin_url = database_names(url, PREFIX)
    fill = prepare_database(admin_url, name, args.reuse)

    import django

    django.setup()
    from django.conf import settings
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from tracker.models import Obligation

    fill_database(args.n, fill)

    storages = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    with override_settings(STORAGES=storages):
        results, notes = measure(Client(), args.runs)

    base = results[0][1]
    n = Obligation.objects.count()
    print()
    print(f"Obligations: {n:,}; PostgreSQL {connection.pg_version // 10000}; "
          f"Django test client, DEBUG off; {os.cpu_count()} CPUs.")
    print()
    print("| page | runs | median ms | × baseline | SQL queries |")
    print("|---|---:|---:|---:|---:|")
    for label, ms, count, runs in results:
        print(f"| {label} | {runs} | {ms:.1f} | {ms / base:.1f} | {count} |")
    print()
    for label, ms, runs in notes:
        print(f"* {label}: {ms:.1f} ms median of {runs}")


def queries_of(fn) -> int:
    from django.db import connection

    executed = []

    def count(execute, sql, params, many, context):
        executed.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        fn()
    return len(executed)


def late(o) -> datetime:
    """A completion after the deadline, and not in the future."""
    return min(o.due_at + timedelta(days=1), datetime.now(UTC) - timedelta(minutes=1))


class Changes:
    """Real status changes, one per call: a completion reported on an overdue deadline
    that has no report yet (it becomes completed_late)."""

    def __init__(self) -> None:
        from django.contrib.auth import get_user_model

        from tracker import vocabulary as V
        from tracker.models import Agreement, Obligation, Source

        users = get_user_model().objects
        flags = {"is_superuser": True, "is_staff": True}
        self.editor = users.get_or_create(username="bench-editor", defaults=flags)[0]
        self.reviewer = users.get_or_create(username="bench-reviewer", defaults=flags)[0]
        self.sources = {
            a.pk: Source.objects.get_or_create(
                agreement=a, key="bench", defaults={
                    "url": "https://example.org/bench", "publisher": "Bench"})[0]
            for a in Agreement.objects.all()
        }
        self.todo = iter(
            Obligation.objects.filter(kind=V.DEADLINE, status=V.OVERDUE, reports__isnull=True)
            .select_related("agreement").order_by("pk")
        )

    def publish(self) -> int:
        """Draft and publish as editors do: the reassessment is enqueued on commit."""
        from tracker import editorial
        from tracker import vocabulary as V

        o = next(self.todo)
        report = editorial.create_report(
            author=self.editor, obligation=o, claim=V.CLAIM_COMPLETED,
            occurred_at=late(o), summary="Bench: done late.",
            sources=[self.sources[o.agreement_id]],
        )
        editorial.publish(report, reviewer=self.reviewer, version=report.version)
        return o.pk

    def swept_only(self) -> int:
        """The same change, but only the sweep's part of the worker's task."""
        from deadlines import sweep
        from tracker import vocabulary as V
        from tracker.models import Obligation, Report

        o = next(self.todo)
        Report.objects.create(
            obligation=o, claim=V.CLAIM_COMPLETED, occurred_at=late(o),
            summary="Bench: done late.", review_state=V.PUBLISHED, published_at=late(o),
        )
        Obligation.objects.filter(pk=o.pk).update(needs_assessment=True)
        sweep.run(ids=[o.pk])
        return o.pk


def measure(client, runs: int) -> tuple[list, list]:
    from tracker import vocabulary as V
    from tracker.models import Obligation
    from tracker.web import snapshot

    def get(path: str, status: int = 200):
        def call():
            r = client.get(path)
            assert r.status_code == status, (path, r.status_code)
        return call

    few = max(3, runs // 10)
    results = []
    for label, path, status, n in [
        ("baseline: 400 page (base template, 1 query)", "/places/?q=" + "x" * 101, 400, runs),
        ("overview now, stored counts hold", "/", 200, runs),
    ]:
        get(path, status)()
        count = queries_of(get(path, status))
        results.append((label, median_ms(get(path, status), n), count, n))
        print(f"  {label}: {results[-1][1]:.1f} ms, {count} queries", flush=True)

    changes = Changes()
    for label, change in [
        ("overview now, first view after a report is published and the worker's task "
         "(reassess + recount) has run", changes.publish),
        ("overview now, first view after a change, before the worker recounts "
         "(the page counts)", changes.swept_only),
    ]:
        samples, counts = [], []
        for _ in range(runs + 1):
            pk = change()
            start = time.perf_counter()
            counts.append(queries_of(get("/")))
            samples.append((time.perf_counter() - start) * 1000)
            assert Obligation.objects.get(pk=pk).status == V.COMPLETED_LATE, pk
        samples = samples[1:]  # the first warms the code path
        results.append((label, statistics.median(samples), max(counts), runs))
        print(f"  {label}: {results[-1][1]:.1f} ms, {max(counts)} queries", flush=True)

    label, path = "overview ?as_of=2022-01-01 (SQL + engine)", "/?as_of=2022-01-01"
    get(path)()
    count = queries_of(get(path))
    results.append((label, median_ms(get(path), few), count, few))
    print(f"  {label}: {results[-1][1]:.1f} ms, {count} queries", flush=True)

    notes = [
        ("worker: recount alone (`snapshot.refresh()`)", median_ms(snapshot.refresh, few), few),
        ("worker: a whole publish (editorial write, reassess task, recount)",
         median_ms(changes.publish, few), few),
    ]
    return results, notes


if __name__ == "__main__":
    main()
