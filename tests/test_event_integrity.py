"""StatusEvent's references are checked by triggers (tracker/integrity.py), not by
foreign-key constraints: the same refusals as the constraints, on real PostgreSQL, and
on SQLite (`make run`) in a subprocess."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import NotSupportedError

from tests.factories import ObligationFactory, ReportFactory
from tests.sqlite_run import loaded, probe, sqlite_env
from tracker import vocabulary as V
from tracker.models import Obligation, Report, StatusEvent

AT = datetime(2020, 11, 20, 20, tzinfo=UTC)
MISSING = 2_000_000_000  # no row has this id


def event(obligation_id: int, report_id: int | None = None, to: str = V.OVERDUE) -> StatusEvent:
    return StatusEvent(obligation_id=obligation_id, report_id=report_id, from_status=V.PENDING,
                       to_status=to, effective_at=AT, detected_at=AT, cause=V.CAUSE_SWEEP)


def sql(query: str, params=()) -> list[tuple]:
    with connection.cursor() as cur:
        cur.execute(query, params)
        return cur.fetchall() if cur.description else []


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__, "pgcode", None)


# ---------------------------------------------------------------- events inserted


@pytest.mark.django_db
def test_an_event_for_a_missing_obligation_is_refused_and_nothing_is_stored():
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        event(MISSING).save()
    assert sqlstate(caught.value) == "23503"  # foreign_key_violation, as the constraint's
    assert f"Key (obligation_id)=({MISSING}) is not present" in str(caught.value)
    assert not StatusEvent.objects.exists()


@pytest.mark.django_db
def test_an_event_for_a_missing_report_is_refused():
    obligation = ObligationFactory()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        event(obligation.pk, report_id=MISSING).save()
    assert sqlstate(caught.value) == "23503"
    assert f"Key (report_id)=({MISSING}) is not present" in str(caught.value)
    assert not StatusEvent.objects.exists()


@pytest.mark.django_db
def test_an_event_without_a_report_or_with_an_existing_one_is_stored():
    report = ReportFactory()
    event(report.obligation_id).save()
    event(report.obligation_id, report_id=report.pk, to=V.COMPLETED).save()
    assert StatusEvent.objects.filter(obligation=report.obligation).count() == 2


@pytest.mark.django_db
def test_a_multi_row_insert_with_one_bad_row_stores_none():
    obligations = ObligationFactory.create_batch(3)
    rows = [event(o.pk) for o in obligations] + [event(MISSING)]
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusEvent.objects.bulk_create(rows)
    assert not StatusEvent.objects.exists()
    StatusEvent.objects.bulk_create(rows[:3])  # the good rows alone go in, in one statement
    assert StatusEvent.objects.count() == 3


@pytest.mark.django_db
def test_changing_an_events_reference_is_checked():
    report = ReportFactory()
    other = ObligationFactory()
    stored = event(report.obligation_id)
    stored.save()
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusEvent.objects.filter(pk=stored.pk).update(obligation_id=MISSING)
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusEvent.objects.filter(pk=stored.pk).update(report_id=MISSING)
    StatusEvent.objects.filter(pk=stored.pk).update(obligation_id=other.pk, report_id=report.pk)
    assert StatusEvent.objects.get(pk=stored.pk).obligation_id == other.pk


# ---------------------------------------------------------------- referenced rows leaving


@pytest.mark.django_db
def test_a_raw_delete_of_an_obligation_with_events_is_refused():
    obligation = ObligationFactory()
    event(obligation.pk).save()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        sql("DELETE FROM tracker_obligation WHERE id = %s", [obligation.pk])
    assert sqlstate(caught.value) == "23503"
    assert f"Key (id)=({obligation.pk}) is still referenced" in str(caught.value)
    assert Obligation.objects.filter(pk=obligation.pk).exists()


@pytest.mark.django_db
def test_a_raw_delete_of_a_report_is_refused_while_an_event_cites_it():
    cited, uncited = ReportFactory(), ReportFactory()
    event(cited.obligation_id, report_id=cited.pk).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        sql("DELETE FROM tracker_report WHERE id IN (%s, %s)", [cited.pk, uncited.pk])
    sql("DELETE FROM tracker_report WHERE id = %s", [uncited.pk])
    assert list(Report.objects.values_list("pk", flat=True)) == [cited.pk]


@pytest.mark.django_db
def test_deleting_an_obligation_through_django_still_cascades_to_its_events():
    report = ReportFactory()
    kept = ObligationFactory()
    event(report.obligation_id).save()
    event(report.obligation_id, report_id=report.pk, to=V.COMPLETED).save()
    event(kept.pk).save()
    report.obligation.delete()
    assert list(StatusEvent.objects.values_list("obligation_id", flat=True)) == [kept.pk]


@pytest.mark.django_db
def test_deleting_a_report_through_django_clears_the_events_reference():
    report = ReportFactory()
    stored = event(report.obligation_id, report_id=report.pk)
    stored.save()
    report.delete()
    stored.refresh_from_db()
    assert stored.report_id is None


@pytest.mark.django_db
def test_renumbering_a_referenced_obligation_or_report_is_refused():
    report = ReportFactory()
    event(report.obligation_id, report_id=report.pk).save()
    with pytest.raises(IntegrityError), transaction.atomic():
        sql("UPDATE tracker_obligation SET id = %s WHERE id = %s", [MISSING, report.obligation_id])
    with pytest.raises(IntegrityError), transaction.atomic():
        sql("UPDATE tracker_report SET id = %s WHERE id = %s", [MISSING, report.pk])
    unreferenced = ObligationFactory()  # nothing refers to it: as with NO ACTION, allowed
    sql("UPDATE tracker_obligation SET id = %s WHERE id = %s", [MISSING, unreferenced.pk])


@pytest.mark.django_db
def test_truncating_a_referenced_table_without_the_events_is_refused():
    report = ReportFactory()
    event(report.obligation_id, report_id=report.pk).save()
    sql("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE refuses pending (deferred) checks
    # CASCADE follows the real foreign keys (reports, join tables), not the events.
    for table in ("tracker_obligation", "tracker_report"):
        with pytest.raises(IntegrityError), transaction.atomic():
            sql(f"TRUNCATE {table} CASCADE")
    with transaction.atomic():  # with the events, as Django's flush does: allowed
        sql("TRUNCATE tracker_statusevent, tracker_obligation CASCADE")
        assert not Obligation.objects.exists()
        transaction.set_rollback(True)


@pytest.mark.django_db(transaction=True)  # a transaction of its own, to set its level
def test_deleting_under_repeatable_read_is_refused_not_half_checked():
    obligation = ObligationFactory()
    with pytest.raises(NotSupportedError), transaction.atomic():
        sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        sql("DELETE FROM tracker_obligation WHERE id = %s", [obligation.pk])
    with transaction.atomic():  # deleting nothing is fine
        sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        sql("DELETE FROM tracker_obligation WHERE id = %s", [MISSING])


# ---------------------------------------------------------------- what is installed


@pytest.mark.django_db
def test_the_triggers_are_installed_and_the_obligation_update_stays_unmaterialised():
    rows = sql("""SELECT c.relname, t.tgname, t.tgtype, t.tgnewtable IS NOT NULL
                  FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid
                  WHERE NOT t.tgisinternal ORDER BY 1, 2""")
    names = {(table, name) for table, name, _, _ in rows}
    assert {
        ("tracker_statusevent", "tracker_statusevent_refs_insert"),
        ("tracker_statusevent", "tracker_statusevent_refs_update"),
        ("tracker_obligation", "tracker_obligation_tracker_statusevent_delete"),
        ("tracker_obligation", "tracker_obligation_tracker_statusevent_renumber"),
        ("tracker_obligation", "tracker_obligation_tracker_statusevent_truncate"),
        ("tracker_report", "tracker_report_tracker_statusevent_delete"),
        ("tracker_report", "tracker_report_tracker_statusevent_renumber"),
        ("tracker_report", "tracker_report_tracker_statusevent_truncate"),
    } <= names
    # The sweep updates every obligation it assesses: nothing on that table may capture
    # the updated rows (a NEW TABLE) or run per statement on UPDATE.
    update, row_level = 1 << 4, 1 << 0
    for table, name, tgtype, new_table in rows:
        if table == "tracker_obligation" and tgtype & update:
            assert not new_table and tgtype & row_level, name
    assert not sql("""SELECT conname FROM pg_constraint
                      WHERE conrelid = 'tracker_statusevent'::regclass AND contype = 'f'""")


# ---------------------------------------------------------------- concurrency


def _in_thread(target, errors: list[BaseException]) -> threading.Thread:
    def run():
        try:
            target()
        except BaseException as exc:  # surfaced by the test
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def _wait_until_blocked(query_start: str) -> None:
    """Until a session whose query starts with `query_start` waits for a lock."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if sql("""SELECT 1 FROM pg_stat_activity
                  WHERE datname = current_database() AND wait_event_type = 'Lock'
                    AND query LIKE %s""", [query_start + "%"]):
            return
        time.sleep(0.05)
    pytest.fail(f"no session blocked on {query_start!r} within 30 s")


def _delete_while_held(obligation_id: int, write) -> list[BaseException]:
    """In one thread, `write()` in a transaction held open; in another, a DELETE of the
    obligation, which must wait for the first. Returns the DELETE's errors."""
    written, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    refused: list[BaseException] = []

    def write_and_hold():
        with transaction.atomic():
            write()
            written.set()
            release.wait(30)

    def delete():
        try:
            with transaction.atomic():
                sql("DELETE FROM tracker_obligation WHERE id = %s", [obligation_id])
        except IntegrityError as exc:
            refused.append(exc)

    holder = _in_thread(write_and_hold, errors)
    assert written.wait(30)
    deleter = _in_thread(delete, errors)
    _wait_until_blocked("DELETE FROM tracker_obligation")
    release.set()
    holder.join(30)
    deleter.join(30)
    assert not errors
    return refused


@pytest.mark.django_db(transaction=True)
def test_an_uncommitted_event_holds_off_a_delete_of_its_obligation():
    obligation = ObligationFactory()
    # The DELETE waits for the event's KEY SHARE lock, then finds the event.
    refused = _delete_while_held(obligation.pk, lambda: event(obligation.pk).save())
    assert len(refused) == 1 and sqlstate(refused[0]) == "23503"
    assert Obligation.objects.filter(pk=obligation.pk).exists()
    assert StatusEvent.objects.filter(obligation=obligation).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_obligation_written_by_the_same_transaction_is_not_locked_again_yet_held():
    """The sweep writes each obligation, then its events: the check takes no second lock
    on such a row (its xmax stays empty), and a DELETE still waits for the writer."""
    obligation = ObligationFactory()
    xmax: list[str] = []

    def write_then_insert():
        Obligation.objects.filter(pk=obligation.pk).update(assessed_at=AT)
        StatusEvent.objects.bulk_create([event(obligation.pk)])
        xmax.extend(sql("SELECT xmax::text FROM tracker_obligation WHERE id = %s",
                        [obligation.pk])[0])

    refused = _delete_while_held(obligation.pk, write_then_insert)
    assert xmax == ["0"]  # no KEY SHARE taken on the version this transaction wrote
    assert len(refused) == 1 and sqlstate(refused[0]) == "23503"
    assert StatusEvent.objects.filter(obligation=obligation).count() == 1


@pytest.mark.django_db(transaction=True)
def test_an_obligation_written_under_a_savepoint_is_locked_as_any_other():
    """Under a savepoint the row's xmin is the savepoint's id, not the transaction's:
    the check cannot tell it from another's write, so it takes the lock."""
    obligation = ObligationFactory()
    with transaction.atomic(), transaction.atomic():  # the inner one is a savepoint
        Obligation.objects.filter(pk=obligation.pk).update(assessed_at=AT)
        StatusEvent.objects.bulk_create([event(obligation.pk)])
        (xmax,) = sql("SELECT xmax::text FROM tracker_obligation WHERE id = %s",
                      [obligation.pk])[0]
    assert xmax != "0"


@pytest.mark.django_db(transaction=True)
def test_an_event_waits_for_an_uncommitted_delete_and_is_refused_after_it():
    obligation = ObligationFactory()
    deleted, release = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    refused: list[BaseException] = []

    def delete_and_hold():
        with transaction.atomic():
            sql("DELETE FROM tracker_obligation WHERE id = %s", [obligation.pk])
            deleted.set()
            release.wait(30)

    def insert():
        try:
            with transaction.atomic():
                StatusEvent.objects.bulk_create([event(obligation.pk)])
        except IntegrityError as exc:
            refused.append(exc)

    holder = _in_thread(delete_and_hold, errors)
    assert deleted.wait(30)
    inserter = _in_thread(insert, errors)
    _wait_until_blocked("INSERT INTO")  # the trigger's KEY SHARE lock waits for the delete
    release.set()
    holder.join(30)
    inserter.join(30)
    assert not errors
    assert len(refused) == 1 and sqlstate(refused[0]) == "23503"
    assert not Obligation.objects.filter(pk=obligation.pk).exists()
    assert not StatusEvent.objects.exists()


# ---------------------------------------------------------------- SQLite (make run)

SQLITE_PROBE = r"""
import json
from datetime import UTC, datetime
from django.db import IntegrityError, connection, transaction
from tracker.models import Obligation, Report, StatusEvent

at = datetime(2020, 11, 20, tzinfo=UTC)
out = {}

def refused(name, fn):
    try:
        with transaction.atomic():
            fn()
    except IntegrityError as exc:
        out[name] = str(exc)
    else:
        out[name] = None

def sql(query, params=()):
    with connection.cursor() as cur:
        cur.execute(query, params)

def event(obligation_id, report_id=None, to="overdue"):
    return StatusEvent(obligation_id=obligation_id, report_id=report_id, from_status="pending",
                       to_status=to, effective_at=at, detected_at=at, cause="sweep")

report = Report.objects.order_by("pk").first()
ob = report.obligation
refused("missing_obligation", lambda: event(2_000_000_000).save())
refused("missing_report", lambda: event(ob.pk, report_id=2_000_000_000).save())
refused("bad_in_bulk",
        lambda: StatusEvent.objects.bulk_create([event(ob.pk), event(2_000_000_000)]))
refused("fine", lambda: event(ob.pk, report_id=report.pk, to="completed").save())
refused("raw_delete", lambda: sql("DELETE FROM tracker_obligation WHERE id = %s", [ob.pk]))
refused("raw_report_delete", lambda: sql("DELETE FROM tracker_report WHERE id = %s", [report.pk]))
refused("renumber",
        lambda: sql("UPDATE tracker_obligation SET id = 2000000000 WHERE id = %s", [ob.pk]))
refused("repoint",
        lambda: StatusEvent.objects.filter(obligation=ob).update(obligation_id=2_000_000_000))
out["events_before"] = StatusEvent.objects.filter(obligation=ob).count()
report_pk, ob_pk = report.pk, ob.pk  # delete() sets pk to None
out["cited"] = StatusEvent.objects.filter(report_id=report_pk).count()
report.delete()
out["cleared"] = not StatusEvent.objects.filter(report_id=report_pk).exists()
ob.delete()
out["cascaded"] = not StatusEvent.objects.filter(obligation_id=ob_pk).exists()
out["triggers"] = sorted(r[0] for r in connection.cursor().execute(
    "SELECT name FROM sqlite_master WHERE type = 'trigger'"))
print(json.dumps(out))
"""


def test_sqlite_keeps_the_same_checks(tmp_path):
    env = sqlite_env(tmp_path / "integrity.sqlite3")
    loaded(env)
    out = probe(env, SQLITE_PROBE)
    for name in ("missing_obligation", "missing_report", "bad_in_bulk", "raw_delete",
                 "raw_report_delete", "renumber", "repoint"):
        assert out[name] and "FOREIGN KEY constraint failed" in out[name], name
    assert out["fine"] is None
    assert out["events_before"] >= 2  # the sweep's and the one stored above; no bad one
    assert out["cited"] >= 1 and out["cleared"] and out["cascaded"]
    assert out["triggers"] == [
        "tracker_obligation_tracker_statusevent_delete",
        "tracker_obligation_tracker_statusevent_renumber",
        "tracker_report_tracker_statusevent_delete",
        "tracker_report_tracker_statusevent_renumber",
        "tracker_statusevent_refs_insert",
        "tracker_statusevent_refs_update",
    ]
