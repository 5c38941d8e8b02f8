"""Load test of the public API under gunicorn with 100,000 obligations, driven by wrk.

    .venv/bin/python bench/api.py [--n 100000] [--duration 10] [--connections 32]
        [--workers W] [--threads T] [--worker-connections C] [--reuse] [--write-docs]
        [--port P] [--database tracker_api_bench_<suffix>] [--only WORD]

Needs PostgreSQL on 127.0.0.1, Redis (REDIS_URL, default db 3) and wrk (`apt-get
install -y wrk`). It creates (drops first unless --reuse finds it filled) the database
`tracker_api_bench` (or `--database tracker_api_bench_<suffix>`), migrates it,
bulk-creates N obligations (three agreements, a third each deadline / ongoing / open,
five parties, twenty places, reports on a quarter, deadline changes on 2%), stores
statuses with `deadlines.sweep.run()`,
serves `config.wsgi` with settings `bench.api_settings` (the product settings plus a
bare JSON view at /bench/baseline/) under gunicorn on 127.0.0.1 with the service's
own settings (config/gunicorn.conf.py, unless --workers/--threads/--worker-connections
say otherwise), and runs wrk
against, one after the other in the same run:

* baseline: the bare Django JSON view (no DRF, no database);
* filtered list: /api/v1/obligations/?agreement&status&responsible&ordering, page of 50
  (the same URL each time, as when a story breaks: bodies come from the ETag cache);
* filtered list, cold: the same filter with a unique query string per request, so
  every request is rendered from the database;
* detail: /api/v1/obligations/<random id>/ (mostly cold: 100,000 ids);
* CSV export: a filtered list as ?format=csv, the same URL each time (streamed the
  first time, then served from the ETag body cache like the list);
* 304 revalidation: the filtered list with If-None-Match;
* the baseline again, last: the reference is the mean of its two runs (the machine
  may be shared).

It prints a Markdown table (req/s, p50, p99, req/s relative to the baseline) and,
with --write-docs, replaces the "## API" section of docs/performance.md.
"""

from __future__ import annotations

import argparse
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import prepare_database  # noqa: E402 - needs ROOT on the path

DB = "tracker_api_bench"
EFFECTIVE = datetime(2020, 11, 9, 21, tzinfo=UTC)
HOST = "127.0.0.1"

LIST = ("/api/v1/obligations/?agreement=bench-0&status=overdue&responsible=party-1"
        "&ordering=due_date&page_size=50")
CSV = ("/api/v1/obligations/?agreement=bench-1&category=withdrawal&due_after=2021-01-01"
       "&due_before=2021-12-31&format=csv")


def populate(n: int) -> None:
    from deadlines.engine import due_instant
    from tracker import vocabulary as V
    from tracker.models import Agreement, DeadlineChange, Location, Obligation, Party, Report

    rng = random.Random(4)
    agreements = [
        Agreement.objects.create(
            slug=f"bench-{i}", title=f"Bench agreement {i}", signed_at=EFFECTIVE,
            effective_at=EFFECTIVE, timezone="Asia/Baku",
        )
        for i in range(3)
    ]
    parties = [Party.objects.create(slug=f"party-{i}", name=f"Party {i}") for i in range(5)]
    places = [
        Location.objects.create(slug=f"place-{i}", names={"en": f"Place {i}"},
                                alt_name=f"Alt {i}", aliases=[f"Alias {i}"])
        for i in range(20)
    ]
    batch, made = 5000, 0
    while made < n:
        rows = []
        for i in range(made, min(n, made + batch)):
            kind = (V.DEADLINE, V.ONGOING, V.OPEN)[(i // 3) % 3]
            agreement = agreements[i % 3]
            due = date(2020, 11, 10) + timedelta(days=rng.randrange(0, 2500)) if (
                kind == V.DEADLINE) else None
            rows.append(Obligation(
                agreement=agreement, slug=f"o-{i}", title=f"Obligation {i}", kind=kind,
                description=f"Bench obligation number {i}.",
                category=("withdrawal", "ceasefire", "humanitarian", "transport")[i % 4],
                position=i, due_date=due, original_due_date=due,
                due_at=due_instant(due, agreement.zone) if due else None,
                starts_at=EFFECTIVE if kind == V.ONGOING else None,
            ))
        created = Obligation.objects.bulk_create(rows)
        resp = Obligation.responsible.through
        resp.objects.bulk_create(
            [resp(obligation_id=o.pk, party_id=parties[(o.position // 7) % 5].pk)
             for o in created])
        where = Obligation.locations.through
        where.objects.bulk_create(
            [where(obligation_id=o.pk, location_id=places[o.position % 20].pk)
             for o in created if o.position % 2 == 0])
        reports, changes = [], []
        for o in created:
            if o.position % 4 == 0:
                claim = {V.DEADLINE: V.CLAIM_COMPLETED, V.ONGOING: V.CLAIM_VIOLATION,
                         V.OPEN: V.CLAIM_PROGRESS}[o.kind]
                reports.append(Report(
                    obligation=o, claim=claim,
                    occurred_at=EFFECTIVE + timedelta(days=rng.randrange(1, 2000)),
                    summary="bench", review_state=V.PUBLISHED, published_at=EFFECTIVE))
            if o.kind == V.DEADLINE and o.position % 50 == 0:
                changes.append(DeadlineChange(
                    obligation=o, due_date=o.due_date + timedelta(days=10),
                    agreed_at=EFFECTIVE + timedelta(days=1), reason="bench",
                    review_state=V.PUBLISHED, published_at=EFFECTIVE))
        Report.objects.bulk_create(reports)
        DeadlineChange.objects.bulk_create(changes)
        made += len(created)
        print(f"  created {made}/{n}", flush=True)


def fetch(url: str):
    try:
        return urllib.request.urlopen(url, timeout=60)  # noqa: S310
    except urllib.error.HTTPError as exc:
        sys.exit(f"{url}: {exc.code} {exc.read()[:500]!r}")


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0}


def _ms(text: str) -> float:
    m = re.fullmatch(r"([\d.]+)(us|ms|s)", text.strip())
    return float(m.group(1)) * _UNITS[m.group(2)] if m else float("nan")


def settle(url: str, quiet_ms: float = 10.0, limit_s: float = 120.0) -> None:
    """Wait until the server is idle again: three baseline requests in a row under
    `quiet_ms`, so one scenario's leftover work does not count against the next."""
    import urllib.request

    deadline = time.monotonic() + limit_s
    quiet = 0
    while quiet < 3 and time.monotonic() < deadline:
        start = time.perf_counter()
        with urllib.request.urlopen(url, timeout=30) as response:
            response.read()
        quiet = quiet + 1 if (time.perf_counter() - start) * 1000 < quiet_ms else 0
        time.sleep(0.2)


def run_wrk(url: str, args, script: str | None = None, headers: list[str] = ()) -> dict:
    cmd = ["wrk", f"-t{args.threads_wrk}", f"-c{args.connections}", f"-d{args.duration}s",
           "--latency", "--timeout", "10s"]
    for h in headers:
        cmd += ["-H", h]
    if script:
        cmd += ["-s", script]
    cmd.append(url)
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"\s50%\s+(\S+)", out).group(1))
    p99 = _ms(re.search(r"\s99%\s+(\S+)", out).group(1))
    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    errors = re.search(r"Socket errors: (.*)", out)
    return {"rps": rps, "p50": p50, "p99": p99, "cmd": " ".join(cmd),
            "non2xx": int(non2xx.group(1)) if non2xx else 0,
            "errors": errors.group(1) if errors else ""}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--duration", type=int, default=10)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--threads-wrk", type=int, default=2)
    # Unset: the service's own settings (config/gunicorn.conf.py).
    parser.add_argument("--workers", type=int)
    parser.add_argument("--threads", type=int, help="gunicorn gthread threads")
    parser.add_argument("--worker-connections", type=int)
    parser.add_argument("--port", type=int, default=18474)
    parser.add_argument("--reuse", action="store_true", help="keep a filled database")
    parser.add_argument("--database", default=DB,
                        help=f"the bench drops it: {DB} or {DB}_<suffix> only")
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--only", default="",
                        help="run only scenarios whose label contains this (and the baselines)")
    args = parser.parse_args()
    if not shutil.which("wrk"):
        sys.exit("wrk not found: apt-get install -y wrk")
    if not (args.database == DB or args.database.startswith(DB + "_")):
        sys.exit(f"refusing: the bench drops its database; name it {DB}[_*]")

    url = f"postgres://postgres@{HOST}:5432/{args.database}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/3"),
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-" + "x" * 50,
        "ALLOWED_HOSTS": HOST,
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "CONN_MAX_AGE": "600",
        # The anonymous throttle stays on (it costs its Redis round trips) but high.
        "API_ANON_RATE": "100000000/minute",
        "LOG_LEVEL": "WARNING",
        "DJANGO_SETTINGS_MODULE": "bench.api_settings",
    }
    os.environ.update(env)
    fill = prepare_database(f"postgres://postgres@{HOST}:5432/postgres", args.database,
                            args.reuse)

    import django

    django.setup()
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connection

    from deadlines import sweep
    from tracker.models import Obligation

    call_command("migrate", verbosity=0)
    if fill or Obligation.objects.count() != args.n:
        if not fill:
            sys.exit("--reuse: the database holds a different N; run without --reuse")
        t = time.perf_counter()
        populate(args.n)
        print(f"bulk create: {time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        result = sweep.run()
        print(f"sweep.run(): {time.perf_counter() - t:.1f} s ({result.assessed} assessed)",
              flush=True)
        with connection.cursor() as cur:
            cur.execute("VACUUM ANALYZE")
    from django.db.models import Max, Min

    span = Obligation.objects.aggregate(lo=Min("pk"), hi=Max("pk"))  # ids are contiguous
    lo, hi = span["lo"], span["hi"]
    connection.close()
    cache.clear()

    gunicorn = [
        str(ROOT / ".venv/bin/gunicorn"), "-c", str(ROOT / "config/gunicorn.conf.py"),
        "config.wsgi:application", "--bind", f"{HOST}:{args.port}",
        "--log-level", "warning", "--chdir", str(ROOT),
    ]
    for flag, value in (("--workers", args.workers), ("--threads", args.threads),
                        ("--worker-connections", args.worker_connections)):
        if value is not None:
            gunicorn += [flag, str(value)]
    shape = server_shape(gunicorn, env)
    print(f"gunicorn: {shape}", flush=True)
    with socket.socket() as probe:  # another server there would answer for us
        if probe.connect_ex((HOST, args.port)) == 0:
            sys.exit(f"port {args.port} is already in use; pass --port")
    server = subprocess.Popen(gunicorn, env=env, start_new_session=True)
    base = f"http://{HOST}:{args.port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(base + "/bench/baseline/", timeout=1)  # noqa: S310
                break
            except OSError:
                time.sleep(0.2)
        first = fetch(base + LIST)
        etag = first.headers["ETag"]
        listed = first.read()
        csv_rows = fetch(base + CSV).read().count(b"\n") - 1

        tmp = Path(tempfile.mkdtemp())
        detail_lua = tmp / "detail.lua"
        detail_lua.write_text(
            f"math.randomseed(7)\nrequest = function()\n  local id = math.random({lo}, {hi})\n"
            "  return wrk.format('GET', '/api/v1/obligations/' .. id .. '/')\nend\n")
        cold_lua = tmp / "cold.lua"
        cold_lua.write_text(
            "counter = 0\nrequest = function()\n  counter = counter + 1\n"
            f"  return wrk.format('GET', '{LIST}&nocache=' .. counter .. '-' .. math.random(1e9))\n"
            "end\n")

        scenarios = [
            ("baseline: bare Django JSON view", base + "/bench/baseline/", None, []),
            ("filtered list, 50 per page (same URL: ETag body cache)", base + LIST, None, []),
            ("304 revalidation (If-None-Match)", base + LIST, None, [f"If-None-Match: {etag}"]),
            # The slow scenarios last: requests wrk abandons at its deadline keep the
            # server busy for seconds, which would bleed into the next scenario.
            (f"obligation detail (random id of {args.n:,})", base + "/", str(detail_lua), []),
            ("filtered list, cold (unique query string each time)", base + "/", str(cold_lua), []),
            (f"CSV export, filtered ({csv_rows} rows, same URL: ETag body cache)", base + CSV,
             None, []),
            # Again at the end: the machine is shared, so the reference is the mean of both.
            ("baseline again (end of run)", base + "/bench/baseline/", None, []),
        ]
        # Warm every worker's connection and code paths.
        run_wrk(base + "/bench/baseline/", argparse.Namespace(**{**vars(args), "duration": 2}))
        results = []
        for label, target, script, headers in scenarios:
            if args.only and args.only not in label and "baseline" not in label:
                continue
            settle(base + "/bench/baseline/")
            r = run_wrk(target, args, script, headers)
            results.append((label, r))
            print(f"{label}: {r['rps']:.0f} req/s, p50 {r['p50']:.1f} ms, p99 {r['p99']:.1f} ms"
                  f"{'  NON-2xx/3xx: ' + str(r['non2xx']) if r['non2xx'] else ''}"
                  f"{'  socket errors: ' + r['errors'] if r['errors'] else ''}", flush=True)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)

    baseline = (results[0][1]["rps"] + results[-1][1]["rps"]) / 2
    lines = [
        "| scenario | req/s | p50 ms | p99 ms | × baseline (mean of the two runs) |",
        "|---|---:|---:|---:|---:|",
    ]
    for label, r in results:
        lines.append(f"| {label} | {r['rps']:.0f} | {r['p50']:.1f} | {r['p99']:.1f} | "
                     f"{r['rps'] / baseline:.2f} |")
    table = "\n".join(lines)
    print()
    print(table)
    print(f"\nfiltered list body: {len(listed)} bytes; wrk: {results[1][1]['cmd']}")
    if args.write_docs and not args.only:
        write_docs(table, args, results, len(listed), shape)


def server_shape(gunicorn: list[str], env: dict) -> str:
    """The workers, threads and connection cap gunicorn will run with (its own reading
    of the config file and the flags)."""
    probe = (
        "import sys; from gunicorn.app.wsgiapp import WSGIApplication as A; "
        "a = A(); a.load_config(); c = a.cfg; "
        "print(f'{c.workers} gthread workers x {c.threads} threads, "
        "{c.worker_connections} connections per worker, keep-alive {c.keepalive} s')"
    )
    out = subprocess.run(
        [str(ROOT / ".venv/bin/python"), "-c", probe, *gunicorn[1:]],
        capture_output=True, text=True, env=env, cwd=ROOT, check=True,
    )
    return out.stdout.strip()


def write_docs(table: str, args, results, list_bytes: int, shape: str) -> None:
    path = ROOT / "docs" / "performance.md"
    text = path.read_text()
    cpu = subprocess.run(["nproc"], capture_output=True, text=True).stdout.strip()
    load = Path("/proc/loadavg").read_text().split()[:3]
    section = f"""## API

`bench/api.py`: {args.n:,} obligations in PostgreSQL (statuses stored by
`deadlines.sweep.run()`), gunicorn ({shape}) on 127.0.0.1 with the product
settings (DEBUG off, anonymous throttle on at a high rate, Redis cache), wrk
{args.threads_wrk} threads × {args.connections} connections × {args.duration} s per
scenario, all in one run, on the same {cpu}-core machine as the server and PostgreSQL
(load average at the end of the run: {" ".join(load)}).

    .venv/bin/python bench/api.py --n {args.n} --duration {args.duration} \\
        --connections {args.connections} --write-docs

{table}

The filtered list is `{LIST}` ({list_bytes:,} bytes of JSON).
"""
    # Up to the next heading: the "What each speed-up buys" subsection stays.
    pattern = re.compile(r"^## API\n.*?(?=^### |^## |\Z)", re.S | re.M)
    if pattern.search(text):
        text = pattern.sub(lambda _: section + "\n", text, count=1)
    else:
        text = text.rstrip() + "\n\n" + section
    path.write_text(text)
    print(f"wrote the API section of {path}")


if __name__ == "__main__":
    main()
