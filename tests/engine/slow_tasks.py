"""A task that takes a while, for tests that break the broker while it runs
(loaded into a test's worker with `celery worker --include`)."""

from __future__ import annotations

import time
from pathlib import Path

from celery import shared_task


@shared_task(name="tests.slow_tasks.nap")
def nap(seconds: float, marker: str) -> None:
    """Append 'start' to `marker`, sleep, then append 'done' (one line each)."""
    path = Path(marker)
    with path.open("a") as f:
        f.write("start\n")
    time.sleep(seconds)
    with path.open("a") as f:
        f.write("done\n")
