"""Fault run: the service under load while its parts fail (docs/reliability.md).

    .venv/bin/python bench/fault_run.py [--n 20000] [--port 8150] [--redis-port 6405]
        [--outage 20] [--clients 6]

Needs PostgreSQL on 127.0.0.1:5432 and `redis-server` on the PATH. It creates (drops
first) the database `tracker_fault`, migrates it and bulk-creates N obligations
(bench/api.py's data, statuses not yet stored: the first sweep has work to do), then
starts, all on 127.0.0.1 and all its own:

* a Redis on --redis-port (cache, throttle counters and broker; no persistence, so a
  restart comes back empty, as after a crash);
* gunicorn with the service's settings (config/gunicorn.conf.py, DEBUG off,
  CONN_MAX_AGE=600 as in docker-compose.yml) on --port;
* a Celery worker and beat (sweep every 5 s), each under scripts/supervise.sh, which
  restarts them when they exit, as `make run` and compose do;

and --clients threads reading the API anonymously and with a token (lists, details,
agreements, events, a small CSV export, /healthz) from start to end. Faults, one
after the other:

1. the worker is killed (SIGKILL, with its pool) while it runs the first sweep;
2. Redis is stopped for --outage seconds, then started again (empty);
3. every idle database connection of the web server and the worker (the connections
   kept between requests, CONN_MAX_AGE) is terminated with pg_terminate_backend, as a
   database restart, failover or idle timeout closes them; twice, 3 s apart.

Then it waits for a sweep to finish after the last fault and checks: the read
answers per phase as the clients saw them, and every 5xx in gunicorn's access log
(which also counts answers a client had given up waiting for; goal: none), whether
the worker and beat are alive and how often they were restarted, and that nothing
was lost or duplicated (no obligation left unassessed or flagged, a dry-run sweep
finds nothing to change, no status event stored twice). It prints a Markdown report
for docs/reliability.md.
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._common import prepare_database  # noqa: E402 - needs ROOT on the path

DB = "tracker_fault"
PG = "postgres://postgres@127.0.0.1:5432"
VENV = ROOT / ".venv" / "bin"


class Stack:
    """The processes of the run, each started and stopped by its own pid."""

    def __init__(self, args, workdir: Path):
        self.args = args
        self.dir = workdir
        self.procs: dict[str, subprocess.Popen] = {}
        self.env = {
            **os.environ,
            "DATABASE_URL": f"{PG}/{DB}",
            "REDIS_URL": f"redis://127.0.0.1:{args.redis_port}/0",
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{args.redis_port}/0",
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DEBUG": "false",
            "SECRET_KEY": "fault-run-only-" + "x" * 50,
            "ALLOWED_HOSTS": "127.0.0.1",
            "SECURE_SSL_REDIRECT": "false",
            "CONN_MAX_AGE": "600",
            "SWEEP_PERIOD_SECONDS": "5",
            "API_ANON_RATE": "100000/minute",  # the load is one address: measure, not throttle
            "API_USER_RATE": "100000/minute",
            "WEB_BIND": f"127.0.0.1:{args.port}",
            "WEB_WORKERS": "2",
            "WEB_THREADS": "4",
            "SUPERVISE_PAUSE": "1",
        }

    def log(self, name: str) -> Path:
        return self.dir / f"{name}.log"

    def start(self, name: str, argv: list[str]) -> None:
        out = self.log(name).open("a")
        self.procs[name] = subprocess.Popen(argv, env=self.env, cwd=ROOT, stdout=out,
                                            stderr=subprocess.STDOUT)

    def redis_up(self) -> None:
        self.start("redis", ["redis-server", "--port", str(self.args.redis_port), "--bind",
                             "127.0.0.1", "--save", "", "--appendonly", "no"])
        wait_for(lambda: _redis_answers(self.args.redis_port), "redis to answer")

    def stop(self, name: str, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is not None and proc.poll() is None:
            proc.send_signal(sig)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    def stop_all(self) -> None:
        for name in ("web", "beat", "worker", "redis"):
            self.stop(name)


def _redis_answers(port: int) -> bool:
    import socket

    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


def wait_for(predicate, what: str, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"fault run: gave up waiting for {what}")
        time.sleep(0.2)


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(p) for p in (task / "children").read_text().split()]
    return found


def kill_worker(supervisor_pid: int) -> list[int]:
    """SIGKILL the celery worker under its supervisor, with its pool processes."""
    killed = []
    for pid in children(supervisor_pid):
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            continue
        if b"celery" not in cmdline:
            continue  # the supervisor's sleep
        for victim in [pid, *children(pid)]:
            try:
                os.kill(victim, signal.SIGKILL)
                killed.append(victim)
            except ProcessLookupError:
                pass
    return killed


class Load:
    """Reader threads; every answer is counted under the phase it was sent in."""

    def __init__(self, base: str, token: str, ids: list[int], clients: int):
        self.base = base
        self.token = token
        self.ids = ids
        self.clients = clients
        self.phase = "start"
        self.counts: dict[str, collections.Counter] = collections.defaultdict(
            collections.Counter)
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,), daemon=True)
                        for i in range(clients)]

    def urls(self, rng: random.Random) -> tuple[str, dict]:
        auth = {"Authorization": f"Token {self.token}"}
        choice = rng.randrange(10)
        if choice < 3:
            return f"/api/v1/obligations/?page={rng.randrange(1, 40)}", {}
        if choice < 6:
            return f"/api/v1/obligations/{rng.choice(self.ids)}/", {}
        if choice == 6:
            return "/api/v1/agreements/", {}
        if choice == 7:
            return "/api/v1/obligations/?category=transport&page_size=20", auth
        if choice == 8:
            return "/api/v1/parties/?format=csv", {}
        return "/healthz", {}

    def run(self, i: int) -> None:
        rng = random.Random(i)
        while not self.stopping.is_set():
            path, headers = self.urls(rng)
            phase = self.phase
            try:
                request = urllib.request.Request(self.base + path, headers=headers)
                with urllib.request.urlopen(request, timeout=30) as response:
                    response.read()
                    code = str(response.status)
            except urllib.error.HTTPError as exc:
                code = str(exc.code)
                if exc.code >= 500:
                    self.note(f"{phase}: {exc.code} {path}: {exc.read()[:200]!r}")
            except Exception as exc:  # noqa: BLE001 - a refused or timed-out request counts too
                code = type(exc).__name__
                self.note(f"{phase}: {code} {path}: {exc}")
            with self.lock:
                self.counts[phase][code] += 1

    def note(self, line: str) -> None:
        with self.lock:
            if len(self.failures) < 50:
                self.failures.append(line)

    def start(self) -> None:
        for t in self.threads:
            t.start()

    def stop(self) -> None:
        self.stopping.set()
        for t in self.threads:
            t.join(timeout=40)


def setup_django(env: dict) -> None:
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DEBUG",
                                           "SECRET_KEY", "ALLOWED_HOSTS")})
    os.environ["DJANGO_SETTINGS_MODULE"] = "config.settings"
    import django

    django.setup()


def terminate_connections() -> int:
    import psycopg2

    conn = psycopg2.connect(f"{PG}/postgres")
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = %s AND pid <> pg_backend_pid()", [DB])
            return cur.fetchone()[0]
    finally:
        conn.close()


def sweeps_succeeded(log: Path) -> int:
    return sum(1 for line in log.read_text(errors="replace").splitlines()
               if "deadlines.tasks.sweep[" in line and "succeeded" in line)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--port", type=int, default=8150)
    parser.add_argument("--redis-port", type=int, default=6405)
    parser.add_argument("--outage", type=float, default=20.0)
    parser.add_argument("--clients", type=int, default=6)
    args = parser.parse_args()
    if _redis_answers(args.redis_port):
        raise SystemExit(f"port {args.redis_port} already has a Redis; pick --redis-port")

    workdir = Path(tempfile.mkdtemp(prefix="fault-run-"))
    stack = Stack(args, workdir)
    print(f"fault run: logs in {workdir}", flush=True)
    prepare_database(f"{PG}/postgres", DB, reuse=False)
    subprocess.run([VENV / "python", "manage.py", "migrate", "--noinput", "-v", "0"],
                   env=stack.env, cwd=ROOT, check=True)
    setup_django(stack.env)
    from bench.api import populate

    populate(args.n)
    from django.contrib.auth.models import User
    from django.db import connection
    from rest_framework.authtoken.models import Token

    from tracker.models import Obligation, StatusEvent

    token = Token.objects.create(user=User.objects.create_user("fault-reader")).key
    ids = list(Obligation.objects.values_list("pk", flat=True)[:5000])
    connection.close()

    load = Load(f"http://127.0.0.1:{args.port}", token, ids, args.clients)
    started = time.monotonic()
    timeline: list[str] = []

    def mark(phase: str, what: str) -> None:
        load.phase = phase
        timeline.append(f"| {time.monotonic() - started:6.1f} s | {what} |")
        print(f"  {timeline[-1]}", flush=True)

    try:
        stack.redis_up()
        stack.start("web", [str(VENV / "gunicorn"), "-c", "config/gunicorn.conf.py",
                            "config.wsgi:application", "--access-logfile",
                            str(workdir / "access.log")])
        wait_for(lambda: _get_ok(f"http://127.0.0.1:{args.port}/healthz"), "gunicorn")
        load.start()
        mark("baseline", "load starts (gunicorn, Redis up, no worker yet)")
        time.sleep(5)

        # 1. Worker killed mid-sweep.
        stack.start("worker", ["scripts/supervise.sh", "worker", str(VENV / "celery"), "-A",
                               "config", "worker", "--concurrency=2", "--loglevel=INFO"])
        stack.start("beat", ["scripts/supervise.sh", "beat", str(VENV / "celery"), "-A",
                             "config", "beat", "--loglevel=INFO", "--schedule",
                             str(workdir / "celerybeat-schedule")])
        worker_log = stack.log("worker")
        wait_for(lambda: "deadlines.tasks.sweep[" in worker_log.read_text(errors="replace"),
                 "the first sweep to start")
        time.sleep(2)
        mid_sweep = sweeps_succeeded(worker_log) == 0
        killed = kill_worker(stack.procs["worker"].pid)
        mark("worker-killed", f"worker killed with SIGKILL ({len(killed)} processes; "
             f"{'mid-sweep' if mid_sweep else 'the sweep had already finished'})")
        wait_for(lambda: worker_log.read_text(errors="replace").count("ready.") >= 2,
                 "the supervisor to restart the worker")
        mark("worker-restarted", "worker restarted by its supervisor")
        wait_for(lambda: sweeps_succeeded(worker_log) >= 1, "a sweep to finish", 600)
        mark("swept", "first sweep finished on the restarted worker")
        time.sleep(5)

        # 2. Redis down.
        stack.stop("redis")
        mark("redis-down", f"Redis stopped for {args.outage:.0f} s")
        time.sleep(args.outage)
        stack.redis_up()
        mark("redis-back", "Redis started again (empty)")
        time.sleep(15)

        # 3. Database connections terminated.
        first = terminate_connections()
        mark("db-terminated", f"pg_terminate_backend: {first} connections")
        time.sleep(3)
        second = terminate_connections()
        mark("db-terminated", f"pg_terminate_backend again: {second} connections")
        done_before = sweeps_succeeded(worker_log)
        wait_for(lambda: sweeps_succeeded(worker_log) > done_before, "a sweep after the faults",
                 300)
        mark("settled", "a sweep finished after the last fault")
        time.sleep(5)
        load.stop()
        mark("end", "load stops")

        alive = {name: stack.procs[name].poll() is None for name in ("web", "worker", "beat")}
        restarts = {name: stack.log(name).read_text(errors="replace").count("[supervise]")
                    for name in ("worker", "beat")}
        unrecoverable = worker_log.read_text(errors="replace").count("Unrecoverable error")
        worker_pids_alive = bool(children(stack.procs["worker"].pid))
    finally:
        load.stop()
        stack.stop_all()

    from django.db.models import Count, Q

    from deadlines import sweep

    unassessed = Obligation.objects.filter(
        Q(assessed_at__isnull=True) | Q(needs_assessment=True)).count()
    pending = sweep.run(dry_run=True)
    duplicates = (StatusEvent.objects.values("obligation", "from_status", "to_status",
                                             "effective_at")
                  .annotate(n=Count("id")).filter(n__gt=1).count())
    events = StatusEvent.objects.count()
    served_5xx = server_errors(workdir / "access.log")
    report(args, load, timeline, alive, restarts, unrecoverable, worker_pids_alive,
           unassessed, pending.changed_rows, duplicates, events, workdir, served_5xx)


def server_errors(access_log: Path) -> list[str]:
    """The access log's 5xx answers (`"GET /path HTTP/1.1" 500 ...`)."""
    found = []
    for line in access_log.read_text(errors="replace").splitlines():
        _, _, rest = line.partition('" ')
        status = rest.split(" ", 1)[0]
        if status.startswith("5"):
            found.append(line)
    return found


def _get_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except Exception:  # noqa: BLE001 - not up yet
        return False


def report(args, load, timeline, alive, restarts, unrecoverable, worker_pids_alive,
           unassessed, pending, duplicates, events, workdir, served_5xx) -> None:
    print("\n### Timeline\n\n| at | event |\n|---|---|")
    print("\n".join(timeline))
    print("\n### Reads by phase (answers counted under the phase they were sent in)\n")
    print("| phase | requests | 2xx | 4xx | 5xx | no answer |\n|---|---|---|---|---|---|")
    total5 = 0
    for phase, counts in load.counts.items():
        n = sum(counts.values())
        ok = sum(v for k, v in counts.items() if k.isdigit() and k.startswith("2"))
        c4 = sum(v for k, v in counts.items() if k.isdigit() and k.startswith("4"))
        c5 = sum(v for k, v in counts.items() if k.isdigit() and k.startswith("5"))
        other = n - ok - c4 - c5
        total5 += c5
        print(f"| {phase} | {n} | {ok} | {c4} | {c5} | {other} |")
    print(f"\n**5xx on reads: {total5} seen by the clients, {len(served_5xx)} in the "
          "access log**\n")
    for line in served_5xx[:10]:
        print(f"    {line}")
    print("| check | result |\n|---|---|")
    print(f"| web, worker, beat alive at the end | {alive} (worker has processes: "
          f"{worker_pids_alive}) |")
    print(f"| supervisor restarts | worker {restarts['worker']}, beat {restarts['beat']} |")
    print(f"| 'Unrecoverable error' in the worker log | {unrecoverable} |")
    print(f"| obligations never assessed or still flagged | {unassessed} |")
    print(f"| rows a dry-run sweep would still change | {pending} |")
    print(f"| status events stored twice | {duplicates} (of {events}) |")
    if load.failures:
        print("\nFirst failures:\n")
        for line in load.failures[:20]:
            print(f"    {line}")
    print(f"\nLogs: {workdir}")


if __name__ == "__main__":
    main()
