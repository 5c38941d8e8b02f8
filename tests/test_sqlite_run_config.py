"""`make run` serves from SQLite (the suite runs on PostgreSQL): the code paths that
write SQL by hand (API relations and detail, dashboard queries) must read the same
there. A fresh SQLite file, migrated and loaded by the real commands, in a
subprocess with `make run`'s settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = r"""
import json
from django.test import Client
from tracker.models import Obligation

c = Client()
kalbajar = Obligation.objects.get(slug="kalbajar-return")
detail = c.get(f"/api/v1/obligations/{kalbajar.pk}/")
listed = c.get("/api/v1/obligations/", {"page_size": 100})
exported = c.get("/api/v1/obligations/", {"format": "csv"})
pages = {path: c.get(path).status_code for path in (
    "/", "/agreements/nov-2020-trilateral/", "/map/", "/places/?q=Berdzor",
    f"/agreements/nov-2020-trilateral/{kalbajar.slug}/",
)}
print(json.dumps({
    "detail": detail.json(),
    "listed": listed.json()["results"],
    "csv": b"".join(exported.streaming_content).decode(),
    "missing": c.get("/api/v1/obligations/99999999999999999999/").status_code,
    "pages": pages,
}))
"""


def test_sqlite_serves_the_november_2020_file(tmp_path):
    # make run's defaults: no Redis (local-memory cache); an in-memory broker here so
    # that nothing is left queued for a later `make run` worker.
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "CELERY_BROKER_URL")},
        "CELERY_BROKER_URL": "memory://",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'run.sqlite3'}",
        "DEBUG": "true",
        "ALLOWED_HOSTS": "testserver,localhost,127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "config.settings",
    }

    def manage(*args: str) -> str:
        done = subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env,
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stdout + done.stderr
        return done.stdout

    manage("migrate", "--noinput", "-v", "0")
    manage("load_agreement", "fixtures/nov-2020-trilateral.yaml")
    manage("sweep")
    out = json.loads(manage("shell", "-c", PROBE).strip().splitlines()[-1])

    detail = out["detail"]
    assert detail["slug"] == "kalbajar-return" and detail["clause"]
    assert detail["status"] in ("completed", "completed_late")
    assert detail["due_date"] == "2020-11-25"
    change = detail["deadline_changes"][0]
    assert change["due_date"] == "2020-11-25" and change["agreed_at"].endswith("Z")
    assert change["sources"] and change["sources"][0]["published_at"][:4] == "2020"
    assert detail["locations"][0]["label"] == "Kalbajar / Karvachar"
    assert detail["sources"] and all(s["url"].startswith("http") for s in detail["sources"])
    assert detail in out["listed"] and len(out["listed"]) == 17
    assert out["csv"].count("\n") == 18  # header and 17 rows
    assert out["missing"] == 404
    assert out["pages"] == dict.fromkeys(out["pages"], 200)
