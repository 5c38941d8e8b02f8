"""The worker survives Redis going away while it runs a task, reconnects, and goes on.

A real worker (prefork, as `make run` and compose start it) on a Redis of the test's
own, stopped while a task runs and started again. Without config/worker.py, Celery
5.7.0 exits here with "Unrecoverable error: AttributeError('NoneType' object has no
attribute 'hostname')".
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import wait_until
from tests.own_redis import own_redis  # noqa: F401 - fixture

pytestmark = pytest.mark.worker
ROOT = Path(__file__).resolve().parent.parent.parent


def _send(broker: str, seconds: float, marker: Path) -> None:
    from celery import Celery

    app = Celery("sender", broker=broker)
    app.send_task("tests.slow_tasks.nap", args=[seconds, str(marker)])
    app.close()


def test_worker_reconnects_after_redis_drops_mid_task(own_redis, tmp_path):  # noqa: F811
    log_path = tmp_path / "worker.log"
    marker = tmp_path / "marker"
    env = {**os.environ, "REDIS_URL": own_redis.url(), "CELERY_BROKER_URL": own_redis.url(),
           "DEBUG": "true", "DJANGO_SETTINGS_MODULE": "config.settings"}
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            # As docker-compose.yml starts it (gossip, mingle and heartbeats on).
            [sys.executable, "-m", "celery", "-A", "config", "worker", "--concurrency=2",
             "--include=tests.engine.slow_tasks", "--loglevel=INFO"],
            env=env, stdout=log, stderr=subprocess.STDOUT, cwd=ROOT,
        )
    describe = lambda: f"worker exit={proc.poll()}\n{log_path.read_text()[-4000:]}"  # noqa: E731
    try:
        wait_until(lambda: "ready." in log_path.read_text() or proc.poll() is not None,
                   describe=describe)
        _send(own_redis.url(), 4, marker)
        wait_until(lambda: marker.exists() and "start" in marker.read_text(), describe=describe)

        own_redis.stop()  # mid-task
        time.sleep(6)  # the task finishes while Redis is away
        assert proc.poll() is None, describe()
        own_redis.start()

        wait_until(lambda: "Connected to redis" in log_path.read_text().split(
            "Connection to broker lost")[-1], describe=describe)
        _send(own_redis.url(), 0.1, marker)
        wait_until(lambda: marker.read_text().count("done") == 2, describe=describe)
        assert proc.poll() is None, describe()
        assert "Unrecoverable error" not in log_path.read_text()
        assert marker.read_text().splitlines() == ["start", "done", "start", "done"]
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
