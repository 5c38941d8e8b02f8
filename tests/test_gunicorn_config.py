"""config/gunicorn.conf.py, which the image, compose and bench/api.py serve with: its
values as gunicorn reads them, a malformed variable named, and a real server started
with it answering over a kept-alive connection."""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.sqlite_run import ROOT, copy_database, sqlite_env

CONF = str(ROOT / "config/gunicorn.conf.py")
GUNICORN = str(Path(sys.executable).parent / "gunicorn")

# gunicorn's own reading of the file (and of any flags after it).
READ = (
    "import json; from gunicorn.app.wsgiapp import WSGIApplication as A; "
    "c = A().cfg; print(json.dumps({k: getattr(c, k) for k in "
    "('bind', 'workers', 'threads', 'worker_connections', 'keepalive', 'worker_class_str')}))"
)


def _read(env: dict[str, str], *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", READ, "-c", CONF, "config.wsgi:application", *flags],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("WEB_")}, **env},
    )


def test_defaults_are_the_measured_shape():
    done = _read({})
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "bind": ["0.0.0.0:8000"], "workers": 3, "threads": 2, "worker_connections": 12,
        "keepalive": 5, "worker_class_str": "gthread",
    }


def test_environment_and_flags_override():
    done = _read({"WEB_WORKERS": "5", "WEB_WORKER_CONNECTIONS": "40"}, "--threads", "1")
    got = json.loads(done.stdout)
    assert (got["workers"], got["worker_connections"], got["threads"]) == (5, 40, 1)


@pytest.mark.parametrize("value", ["three", "2.5", "-"])
def test_a_malformed_variable_is_named(value):
    done = _read({"WEB_WORKERS": value})
    assert done.returncode != 0
    assert "WEB_WORKERS" in done.stderr + done.stdout and repr(value) in done.stderr + done.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_a_server_started_with_it_serves_over_one_connection(tmp_path, sqlite_loaded):
    db_file = copy_database(sqlite_loaded, tmp_path / "web.sqlite3")  # migrated and loaded
    env = sqlite_env(db_file, ALLOWED_HOSTS="127.0.0.1")
    port = _free_port()
    server = subprocess.Popen(
        [GUNICORN, "-c", CONF, "config.wsgi:application"], cwd=ROOT,
        env={**env, "WEB_BIND": f"127.0.0.1:{port}", "WEB_WORKERS": "1"},
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
    )
    try:
        for _ in range(150):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("GET", "/api/v1/obligations/?page_size=1")
        first = conn.getresponse()
        listed = json.loads(first.read())
        assert first.status == 200 and listed["count"] == 34
        sock = conn.sock
        conn.request("GET", listed["results"][0]["url"].replace(f"http://127.0.0.1:{port}", ""))
        second = conn.getresponse()
        assert second.status == 200
        assert json.loads(second.read())["id"] == listed["results"][0]["id"]
        assert conn.sock is sock, "the connection was kept alive"
        conn.close()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)


def test_each_worker_loads_the_views_and_freezes_them():
    probe = (
        "import gc, runpy, sys, django; django.setup(); "
        f"conf = runpy.run_path({CONF!r}); "
        "assert 'tracker.api.views' not in sys.modules; "
        "conf['post_worker_init'](None); "
        "print(gc.get_freeze_count(), 'tracker.api.views' in sys.modules)"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], cwd=ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", "DEBUG": "true"},
    )
    assert done.returncode == 0, done.stderr
    frozen, loaded = done.stdout.split()
    assert int(frozen) > 10_000 and loaded == "True"
