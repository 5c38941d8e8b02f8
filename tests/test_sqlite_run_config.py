"""`make run` serves from SQLite (the suite runs on PostgreSQL): the code paths that
write SQL by hand (API relations and detail, dashboard queries) must read the same
there. A fresh SQLite file, migrated and loaded by the real commands, in a
subprocess with `make run`'s settings."""

from __future__ import annotations

from tests.sqlite_run import copy_database, manage, probe, sqlite_env

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
    "/", "/agreements/nov-2020-trilateral/", "/agreements/jan-2021-moscow-statement/",
    "/agreements/aug-2025-washington-declaration/", "/map/", "/places/?q=Berdzor",
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


def test_sqlite_serves_the_november_2020_file(tmp_path, sqlite_loaded):
    db_file = copy_database(sqlite_loaded, tmp_path / "run.sqlite3")  # migrated and loaded
    env = sqlite_env(db_file, ALLOWED_HOSTS="testserver,localhost,127.0.0.1")
    manage(env, "sweep")
    out = probe(env, PROBE)

    detail = out["detail"]
    assert detail["slug"] == "kalbajar-return" and detail["clause"]
    assert detail["status"] in ("completed", "completed_late")
    assert detail["due_date"] == "2020-11-25"
    change = detail["deadline_changes"][0]
    assert change["due_date"] == "2020-11-25" and change["agreed_at"].endswith("Z")
    assert change["sources"] and change["sources"][0]["published_at"][:4] == "2020"
    assert detail["locations"][0]["label"] == "Kalbajar / Karvachar"
    assert detail["sources"] and all(s["url"].startswith("http") for s in detail["sources"])
    # Every agreement file is loaded, as `make run` does: 18 terms of the 2020 statement
    # and 15 of the six agreements that followed it.
    assert detail in out["listed"] and len(out["listed"]) == 34
    assert out["csv"].count("\n") == 35  # header and 34 rows
    assert out["missing"] == 404
    assert out["pages"] == dict.fromkeys(out["pages"], 200)
