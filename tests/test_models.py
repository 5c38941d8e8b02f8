"""StatusEvent's references to its obligation and report are the database's own foreign
keys: a reference to a row that does not exist is refused at commit with nothing stored,
and deleting through Django cascades or clears as the model says."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.db import IntegrityError, connection, transaction

from tests.factories import ObligationFactory, ReportFactory
from tracker import vocabulary as V
from tracker.models import Obligation, Report, StatusEvent

AT = datetime(2020, 11, 20, 20, tzinfo=UTC)
MISSING = 2_000_000_000  # no row has this id


def event(obligation_id: int, report_id: int | None = None, to: str = V.OVERDUE) -> StatusEvent:
    return StatusEvent(obligation_id=obligation_id, report_id=report_id, from_status=V.PENDING,
                       to_status=to, effective_at=AT, detected_at=AT, cause=V.CAUSE_SWEEP)


def sqlstate(exc: BaseException) -> str | None:
    return getattr(exc.__cause__, "pgcode", None)


# Refusals: each transaction commits, as a request's or the sweep's does (Django's
# foreign keys on PostgreSQL are checked at COMMIT).


@pytest.mark.django_db(transaction=True)
def test_an_event_for_a_missing_obligation_is_refused_and_nothing_is_stored():
    kept = ObligationFactory()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        event(kept.pk).save()
        event(MISSING).save()
    assert sqlstate(caught.value) == "23503"  # foreign_key_violation
    assert f"Key (obligation_id)=({MISSING}) is not present" in str(caught.value)
    assert not StatusEvent.objects.exists()  # the good event went with the bad one


@pytest.mark.django_db(transaction=True)
def test_an_event_citing_a_missing_report_is_refused_and_nothing_is_stored():
    obligation = ObligationFactory()
    with pytest.raises(IntegrityError) as caught, transaction.atomic():
        event(obligation.pk, report_id=MISSING).save()
    assert sqlstate(caught.value) == "23503"
    assert f"Key (report_id)=({MISSING}) is not present" in str(caught.value)
    assert not StatusEvent.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_bulk_insert_with_one_bad_row_stores_none():
    obligations = ObligationFactory.create_batch(3)
    rows = [event(o.pk) for o in obligations]
    with pytest.raises(IntegrityError), transaction.atomic():
        StatusEvent.objects.bulk_create([*rows, event(MISSING)])
    assert not StatusEvent.objects.exists()
    StatusEvent.objects.bulk_create(rows)  # the good rows alone go in
    assert StatusEvent.objects.count() == 3


@pytest.mark.django_db(transaction=True)
def test_pointing_a_stored_event_at_a_missing_row_is_refused():
    report = ReportFactory()
    stored = event(report.obligation_id, report_id=report.pk)
    stored.save()
    for change in ({"obligation_id": MISSING}, {"report_id": MISSING}):
        with pytest.raises(IntegrityError), transaction.atomic():
            StatusEvent.objects.filter(pk=stored.pk).update(**change)
    stored.refresh_from_db()
    assert (stored.obligation_id, stored.report_id) == (report.obligation_id, report.pk)


@pytest.mark.django_db(transaction=True)
def test_a_raw_delete_of_a_referenced_obligation_or_report_is_refused():
    """Outside Django's collector (SQL by hand), the database keeps the events whole."""
    report = ReportFactory()
    event(report.obligation_id, report_id=report.pk).save()
    for table, pk in (("tracker_obligation", report.obligation_id),
                      ("tracker_report", report.pk)):
        with pytest.raises(IntegrityError) as caught, transaction.atomic(), \
                connection.cursor() as cur:
            cur.execute(f"DELETE FROM {table} WHERE id = %s", [pk])
        assert f"Key (id)=({pk}) is still referenced" in str(caught.value)
    assert Obligation.objects.filter(pk=report.obligation_id).exists()
    assert Report.objects.filter(pk=report.pk).exists()
    assert StatusEvent.objects.filter(report=report).count() == 1


# on_delete, as the model says.


@pytest.mark.django_db
def test_deleting_an_obligation_deletes_its_events_and_no_others():
    report = ReportFactory()
    kept = ObligationFactory()
    event(report.obligation_id).save()
    event(report.obligation_id, report_id=report.pk, to=V.COMPLETED).save()
    event(kept.pk).save()
    report.obligation.delete()
    assert list(StatusEvent.objects.values_list("obligation_id", flat=True)) == [kept.pk]


@pytest.mark.django_db
def test_deleting_a_report_keeps_its_events_without_the_reference():
    report = ReportFactory()
    stored = event(report.obligation_id, report_id=report.pk)
    stored.save()
    report.delete()
    stored.refresh_from_db()
    assert stored.report_id is None
    assert stored.obligation_id == report.obligation_id


@pytest.mark.django_db
def test_the_references_are_foreign_keys_and_no_trigger_checks_them():
    with connection.cursor() as cur:
        cur.execute("""SELECT a.attname, c.confrelid::regclass::text, c.confdeltype
                       FROM pg_constraint c
                       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                       WHERE c.conrelid = 'tracker_statusevent'::regclass AND c.contype = 'f'
                       ORDER BY 1""")
        keys = cur.fetchall()
        cur.execute("""SELECT tgname FROM pg_trigger
                       WHERE NOT tgisinternal AND tgrelid IN ('tracker_statusevent'::regclass,
                             'tracker_obligation'::regclass, 'tracker_report'::regclass)""")
        triggers = cur.fetchall()
    # 'a' = NO ACTION in the database: CASCADE and SET_NULL are Django's collector's.
    assert keys == [("obligation_id", "tracker_obligation", "a"),
                    ("report_id", "tracker_report", "a")]
    assert triggers == []
