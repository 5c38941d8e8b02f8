"""Shared fixtures: the November 2020 agreement loaded through the real loader."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.shared import before_each_test, shared_rows
from tests.sqlite_run import sqlite_loaded, sqlite_migrated  # noqa: F401 - fixtures

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
NOV_2020 = FIXTURES / "nov-2020-trilateral.yaml"
# Every agreement file at the top of fixtures/, in the order `make run` loads them: the
# 2020 statement first, then the agreements that followed, named YYYY-MM-DD-....yaml.
FOLLOW_ON = sorted(FIXTURES.glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-*.yaml"))
AGREEMENT_FILES = [NOV_2020, *FOLLOW_ON]


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    # Before any fixture of the test: rows shared by a module's tests (tests/shared.py)
    # are visible to the tests that ask for them and to no other.
    before_each_test(item)


def load_nov2020():
    from tracker.loader import load_agreement_file

    return load_agreement_file(NOV_2020)


def load_all_agreements() -> dict:
    from tracker.loader import load_agreement_file

    loaded = [load_agreement_file(path) for path in AGREEMENT_FILES]
    return {agreement.slug: agreement for agreement in loaded}


# Loaded once for a module's tests; each test's writes roll back (tests/shared.py).
_nov2020_rows = shared_rows(load_nov2020)
_all_agreements_rows = shared_rows(load_all_agreements)


@pytest.fixture
def nov2020(_nov2020_rows, db):
    """The November 2020 statement, loaded from its file (not yet swept)."""
    return _nov2020_rows.copy() if _nov2020_rows.is_open else load_nov2020()


@pytest.fixture
def all_agreements(_all_agreements_rows, db):
    """Every agreement file, loaded in `make run`'s order (not yet swept): slug -> Agreement."""
    rows = _all_agreements_rows
    return rows.copy() if rows.is_open else load_all_agreements()


def swept(load):
    def build():
        from deadlines import sweep

        loaded = load()
        sweep.run()
        return loaded

    return build


_nov2020_swept_rows = shared_rows(swept(load_nov2020))
_all_agreements_swept_rows = shared_rows(swept(load_all_agreements))


@pytest.fixture
def nov2020_swept(_nov2020_swept_rows, db):
    """The November 2020 statement, loaded from its file and swept."""
    rows = _nov2020_swept_rows
    return rows.copy() if rows.is_open else swept(load_nov2020)()


@pytest.fixture
def all_agreements_swept(_all_agreements_swept_rows, db):
    """Every agreement file, loaded in `make run`'s order and swept: slug -> Agreement."""
    rows = _all_agreements_swept_rows
    return rows.copy() if rows.is_open else swept(load_all_agreements)()


@pytest.fixture
def celery_worker_process(transactional_db):
    """A real Celery worker, in its own process, on Redis and the test database.

    Tests using it commit their data (transactional_db) so the worker can see it.
    The worker starts with --purge: stray messages from earlier runs are dropped.
    """
    import os
    import subprocess
    import sys
    import tempfile

    from django.db import connection

    db = connection.settings_dict
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    url = f"postgres://{db['USER'] or 'postgres'}@{host}/{db['NAME']}"
    env = {**os.environ, "DATABASE_URL": url, "DEBUG": "true",
           "DJANGO_SETTINGS_MODULE": "config.settings"}
    log = tempfile.NamedTemporaryFile(  # noqa: SIM115 - the worker writes it while we read
        prefix="celery-worker-", suffix=".log", delete=False
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "config", "worker", "--pool=solo", "--purge",
         "--without-gossip", "--without-mingle", "--without-heartbeat", "--loglevel=INFO"],
        env=env, stdout=log, stderr=subprocess.STDOUT,
        cwd=Path(__file__).resolve().parent.parent,
    )
    log_path = Path(log.name)
    # --purge runs before the worker reports ready: send nothing until then.
    wait_until(lambda: "ready." in log_path.read_text() or proc.poll() is not None,
               describe=lambda: log_path.read_text()[-3000:])
    if proc.poll() is not None:
        pytest.fail(f"celery worker exited with {proc.returncode}:\n{log_path.read_text()[-3000:]}")
    try:
        yield proc, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        connection.close()


def wait_until(predicate, *, timeout: float = 60.0, interval: float = 0.2, describe=lambda: ""):
    """Poll until `predicate()` is true; fail with `describe()` after `timeout` seconds.

    A deadline for a background process to act, not a speed assertion.
    """
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout:.0f}s. {describe()}")
