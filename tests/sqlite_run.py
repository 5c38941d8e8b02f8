"""A fresh SQLite database with `make run`'s settings, driven by the real management
commands in a subprocess (the suite itself runs on PostgreSQL)."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOV_2020 = "fixtures/nov-2020-trilateral.yaml"
# `make run` loads every agreement file: the 2020 statement first, then those that
# followed it in date order (the Makefile's FIXTURES).
AGREEMENT_FILES = [NOV_2020, *sorted(
    str(p.relative_to(ROOT))
    for p in (ROOT / "fixtures").glob("[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]-*.yaml")
)]
# A developer's own mail settings stay out of the subprocess (tests set what they need).
MAIL_VARIABLES = ("EMAIL_URL", "ADMINS", "SERVER_EMAIL")


def sqlite_env(path: Path, **extra: str) -> dict[str, str]:
    """`make run`'s defaults on the SQLite file `path`: no Redis (local-memory cache),
    and an in-memory broker so that nothing is left queued for a later worker."""
    return {
        **{k: v for k, v in os.environ.items()
           if k not in ("REDIS_URL", "CELERY_BROKER_URL", *MAIL_VARIABLES)
           and not k.startswith("WEB_")},
        "CELERY_BROKER_URL": "memory://",
        "DATABASE_URL": f"sqlite:///{path}",
        "DEBUG": "true",
        "DJANGO_SETTINGS_MODULE": "config.settings",
        **extra,
    }


def manage(env: dict[str, str], *args: str) -> str:
    """Run `manage.py args` with `env`; its output (the test fails if the command does)."""
    done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def copy_database(source: Path, target: Path) -> Path:
    """`target`: a copy of the SQLite database `source` (through SQLite's backup, which
    copies what a write-ahead log still holds too)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()
    return target


@pytest.fixture(scope="session")
def sqlite_migrated(tmp_path_factory) -> Path:
    """A SQLite file that `manage.py migrate` made from nothing with `make run`'s
    settings. Migrating SQLite takes seconds (tables are remade), so it is done once and
    tests work on copies (`copy_database`)."""
    path = tmp_path_factory.mktemp("sqlite-run") / "migrated.sqlite3"
    manage(sqlite_env(path), "migrate", "--noinput", "-v", "0")
    return path


@pytest.fixture(scope="session")
def sqlite_loaded(sqlite_migrated, tmp_path_factory) -> Path:
    """`sqlite_migrated` with every agreement file loaded as `make run` loads them (not
    swept), by `manage.py load_agreement`; tests work on copies."""
    path = copy_database(sqlite_migrated,
                         tmp_path_factory.mktemp("sqlite-run") / "loaded.sqlite3")
    manage(sqlite_env(path), "load_agreement", *AGREEMENT_FILES)
    return path


def probe(env: dict[str, str], code: str) -> dict:
    """Run `code` in `manage.py shell`; the JSON it prints last."""
    return json.loads(manage(env, "shell", "-c", code).strip().splitlines()[-1])
