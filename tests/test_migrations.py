"""Migration 0011 gives a database migrated before it StatusEvent's foreign keys back and
drops the triggers that checked its references in their place (0009 and 0010 installed
them); a fresh database never gets them (tests/test_models.py checks PostgreSQL's)."""

from __future__ import annotations

import importlib
import sqlite3

import pytest
from django.db import connection

from tests.sqlite_run import copy_database, manage, probe, sqlite_env

MIGRATION = importlib.import_module("tracker.migrations.0011_status_event_foreign_keys")

# The triggers 0009/0010 created on PostgreSQL: (name, table, function).
OLD_TRIGGERS = [
    *((f"tracker_statusevent_refs_{action}", "tracker_statusevent",
       f"tracker_statusevent_refs_{done}")
      for action, done in (("insert", "inserted"), ("update", "updated"))),
    *((f"{table}_tracker_statusevent_{action}", table, f"{table}_tracker_statusevent_{done}")
      for table in ("tracker_obligation", "tracker_report")
      for action, done in (("delete", "deleted"), ("renumber", "renumbered"),
                           ("truncate", "truncated"))),
]


def user_triggers() -> list[str]:
    with connection.cursor() as cur:
        cur.execute("SELECT tgname FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1")
        return [name for (name,) in cur.fetchall()]


@pytest.mark.django_db
def test_postgresql_upgrade_drops_every_old_trigger_and_its_function():
    with connection.cursor() as cur:
        for name, table, function in OLD_TRIGGERS:  # stand-ins under the old names
            cur.execute(f"CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql "
                        "AS $$ BEGIN RETURN NULL; END $$")
            cur.execute(f"CREATE TRIGGER {name} AFTER TRUNCATE ON {table} "
                        f"FOR EACH STATEMENT EXECUTE FUNCTION {function}()")
    assert len(user_triggers()) == len(OLD_TRIGGERS)
    with connection.schema_editor() as editor:
        MIGRATION.drop_reference_triggers(None, editor)
    assert user_triggers() == []
    with connection.cursor() as cur:
        cur.execute("SELECT proname FROM pg_proc WHERE proname LIKE 'tracker%'")
        assert cur.fetchall() == []


# The SQLite triggers as 0009/0010 installed them (row-level, `make run`'s database).
OLD_SQLITE_TRIGGERS = [
    """CREATE TRIGGER tracker_statusevent_refs_insert BEFORE INSERT ON tracker_statusevent
       BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed') WHERE NOT EXISTS
         (SELECT 1 FROM tracker_obligation WHERE id = NEW.obligation_id); END""",
    """CREATE TRIGGER tracker_statusevent_refs_update
       BEFORE UPDATE OF obligation_id, report_id ON tracker_statusevent
       BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed') WHERE NOT EXISTS
         (SELECT 1 FROM tracker_obligation WHERE id = NEW.obligation_id); END""",
    *(f"""CREATE TRIGGER {table}_tracker_statusevent_delete BEFORE DELETE ON {table}
          BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed') WHERE EXISTS
            (SELECT 1 FROM tracker_statusevent WHERE {column} = OLD.id); END"""
      for table, column in (("tracker_obligation", "obligation_id"),
                            ("tracker_report", "report_id"))),
    *(f"""CREATE TRIGGER {table}_tracker_statusevent_renumber AFTER UPDATE OF id ON {table}
          WHEN OLD.id IS NOT NEW.id
          BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed') WHERE EXISTS
            (SELECT 1 FROM tracker_statusevent WHERE {column} = OLD.id); END"""
      for table, column in (("tracker_obligation", "obligation_id"),
                            ("tracker_report", "report_id"))),
]

SQLITE_PROBE = r"""
import json
from datetime import UTC, datetime
from django.db import IntegrityError, connection, transaction
from tracker.models import StatusEvent

at = datetime(2020, 11, 20, tzinfo=UTC)
out = {}
try:
    with transaction.atomic():
        StatusEvent.objects.create(obligation_id=2_000_000_000, from_status="pending",
                                   to_status="overdue", effective_at=at, detected_at=at,
                                   cause="sweep")
except IntegrityError as exc:
    out["refused"] = str(exc)
out["stored"] = StatusEvent.objects.count()
cur = connection.cursor()
out["triggers"] = [r[0] for r in cur.execute(
    "SELECT name FROM sqlite_master WHERE type = 'trigger'")]
out["keys"] = sorted([r[3], r[2]] for r in cur.execute(
    "PRAGMA foreign_key_list(tracker_statusevent)"))
print(json.dumps(out))
"""


@pytest.mark.parametrize("path", ["fresh", "upgrade"])
def test_sqlite_ends_with_foreign_keys_and_no_triggers(tmp_path, path, request):
    """`make run`'s database, migrated from scratch or from 0010 with the triggers."""
    db_file = tmp_path / "run.sqlite3"
    env = sqlite_env(db_file)
    if path == "upgrade":
        manage(env, "migrate", "--noinput", "-v", "0", "tracker", "0010")
        with sqlite3.connect(db_file) as db:
            for statement in OLD_SQLITE_TRIGGERS:
                db.execute(statement)
        manage(env, "migrate", "--noinput", "-v", "0")  # remakes the events' table on SQLite
    else:  # `manage.py migrate` from nothing, made once for the session
        copy_database(request.getfixturevalue("sqlite_migrated"), db_file)
    out = probe(env, SQLITE_PROBE)
    assert out["refused"] and "FOREIGN KEY constraint failed" in out["refused"]
    assert out["stored"] == 0
    assert out["triggers"] == []
    assert out["keys"] == [["obligation_id", "tracker_obligation"],
                           ["report_id", "tracker_report"]]
