"""The sweep stores what the engine says, set-based, once per transition."""

from __future__ import annotations

import random
import threading
from datetime import UTC, date, datetime, timedelta

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from deadlines import classify, engine, sweep
from deadlines.facts import facts_of, with_facts
from tests.factories import (
    AgreementFactory,
    ClaimantFactory,
    ObligationFactory,
    PartyFactory,
    ReportFactory,
)
from tracker import services
from tracker import vocabulary as V
from tracker.models import (
    Agreement,
    AgreementRelation,
    DeadlineChange,
    Obligation,
    Report,
    StatusEvent,
)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def random_obligations(agreement: Agreement, n: int, seed: int) -> None:
    """A spread of kinds, dates and facts, including dated facts in the future: reports
    by one party or another, contests and findings (disputes that open and settle),
    contested text, and later agreements ending terms."""
    rng = random.Random(seed)
    base = utc(2020, 11, 10)
    east, west = PartyFactory(slug="east"), PartyFactory(slug="west")
    voices = [None, ClaimantFactory(slug="east-mod", kind=V.CLAIMANT_GOVERNMENT),
              ClaimantFactory(slug="tracker", kind=V.CLAIMANT_TRACKER)]
    later = AgreementFactory(signed_at=utc(2021, 1, 1), effective_at=utc(2021, 1, 1))
    for i in range(n):
        kind = rng.choice([V.DEADLINE, V.DEADLINE, V.ONGOING, V.OPEN])
        extra = {"due_date": None}
        if kind == V.DEADLINE:
            due = date(2020, 11, 10) + timedelta(days=rng.randint(0, 900))
            extra = {"due_date": due, "original_due_date": due,
                     "due_at": engine.due_instant(due, agreement.zone)}
        elif kind == V.ONGOING and rng.random() < 0.5:
            extra = {"due_date": None, "starts_at": base + timedelta(days=rng.randint(0, 300)),
                     "term_years": rng.choice([1, 2]),
                     "renews_years": rng.choice([None, 1])}
        if rng.random() < 0.08:
            extra["text_dispute"] = "Only in one version of the text."
        o = ObligationFactory(agreement=agreement, kind=kind, slug=f"o{i}", **extra)
        o.responsible.set(rng.choice([[east], [west], [east, west]]))
        if kind == V.DEADLINE and rng.random() < 0.3:
            DeadlineChange.objects.create(
                obligation=o, due_date=o.due_date + timedelta(days=rng.randint(-5, 30)),
                agreed_at=base + timedelta(days=rng.randint(0, 900)),
                review_state=V.PUBLISHED, published_at=base)
        if rng.random() < 0.1:
            AgreementRelation.objects.create(
                agreement=later, kind=rng.choice([V.SUPERSEDES, V.TERMINATES]),
                target_agreement=agreement, target=o,
                at=utc(2021, 1, 1) + timedelta(days=rng.randint(0, 900)))
        claims = sorted(V.CLAIMS_BY_KIND[kind])
        made: list[Report] = []
        for _ in range(rng.randint(0, 4)):
            contested = rng.choice(made) if made and rng.random() < 0.4 else None
            r = ReportFactory(obligation=o, claim=rng.choice(claims),
                              occurred_at=base + timedelta(days=rng.randint(0, 1200),
                                                           hours=rng.randint(0, 23)),
                              claimant=rng.choice(voices), contests=contested)
            if rng.random() < 0.3:
                r.actors.set([rng.choice([east, west])])
            made.append(r)


def engine_statuses(agreement: Agreement, at: datetime) -> dict[int, tuple[str, datetime | None]]:
    objs = with_facts(Obligation.objects.filter(agreement=agreement))
    assessed = {o.pk: engine.assess(facts_of(o), at) for o in objs}
    return {pk: (a.status, a.status_since) for pk, a in assessed.items()}


def stored_statuses(agreement: Agreement) -> dict[int, tuple[str, datetime | None]]:
    return {o.pk: (o.status, o.status_since)
            for o in Obligation.objects.filter(agreement=agreement)}


def stored_events() -> list[tuple]:
    return list(StatusEvent.current.values_list(
        "obligation_id", "from_status", "to_status", "effective_at"))


def replayed_events(agreement: Agreement, until: datetime) -> list[tuple]:
    objs = with_facts(Obligation.objects.filter(agreement=agreement))
    return [(o.pk, t.from_status, t.to_status, t.at)
            for o in objs for t in engine.timeline(facts_of(o), until)]


@pytest.mark.django_db
def test_stored_events_equal_the_replayed_timeline_however_often_it_sweeps():
    agreement = AgreementFactory()
    random_obligations(agreement, 120, seed=13)
    at = utc(2020, 11, 10)
    while at < utc(2024, 12, 31):  # forward in uneven steps: SQL and Python paths
        sweep.run(at)
        at += timedelta(days=17, hours=5)
    last = at - timedelta(days=17, hours=5)
    assert sorted(stored_events()) == sorted(replayed_events(agreement, last))


@pytest.mark.django_db
def test_stored_statuses_equal_the_engine_as_time_moves_forward_and_back():
    agreement = AgreementFactory()
    random_obligations(agreement, 120, seed=7)
    instants = [utc(2020, 11, 10), utc(2021, 3, 1), utc(2021, 3, 2), utc(2022, 6, 1),
                utc(2023, 12, 31), utc(2024, 6, 1), utc(2021, 1, 1), utc(2025, 1, 1)]
    for at in instants:
        sweep.run(at)
        assert stored_statuses(agreement) == engine_statuses(agreement, at), at


@pytest.mark.django_db
def test_sql_classification_agrees_with_the_engine_where_the_summary_holds():
    agreement = AgreementFactory()
    random_obligations(agreement, 150, seed=11)
    sweep.run(utc(2021, 6, 1))
    rng = random.Random(3)
    seen: set[str] = set()
    for _ in range(25):
        at = utc(2021, 6, 1) + timedelta(hours=rng.randint(0, 24 * 1500))
        valid = Obligation.objects.filter(agreement=agreement, facts_from__lte=at).exclude(
            facts_until__lte=at
        ) | Obligation.objects.filter(agreement=agreement, facts_from__isnull=True).exclude(
            facts_until__lte=at
        )
        sql = dict(valid.annotate(s=classify.status_at(at)).values_list("pk", "s"))
        assert sql, "some rows must be classifiable in SQL"
        expected = engine_statuses(agreement, at)
        assert {pk: expected[pk][0] for pk in sql} == sql, at
        seen.update(sql.values())
    assert {V.DISPUTED, V.SUPERSEDED, V.OVERTAKEN, V.VIOLATED} <= seen


@pytest.mark.django_db
def test_time_passing_goes_through_sql_and_writes_one_event_per_transition():
    o = ObligationFactory(due_date=date(2020, 11, 20))  # due_at 2020-11-20T20:00Z
    sweep.run(utc(2020, 11, 10))
    assert StatusEvent.objects.filter(obligation=o).count() == 1  # '' -> pending, backfill
    result = sweep.run(utc(2020, 11, 18))
    assert (result.changed_rows, result.events) == (1, 1)
    o.refresh_from_db()
    assert (o.status, o.status_since) == (V.DUE_SOON, utc(2020, 11, 17, 20))
    assert sweep.run(utc(2020, 11, 19)).changed_rows == 0  # nothing due: not even read
    sweep.run(utc(2020, 11, 20, 20))
    o.refresh_from_db()
    assert (o.status, o.next_change_at) == (V.OVERDUE, None)
    events = list(StatusEvent.objects.filter(obligation=o).order_by("effective_at")
                  .values_list("from_status", "to_status", "effective_at", "cause"))
    assert events == [
        ("", V.PENDING, o.agreement.effective_at, V.CAUSE_BACKFILL),
        (V.PENDING, V.DUE_SOON, utc(2020, 11, 17, 20), V.CAUSE_AS_OF),
        (V.DUE_SOON, V.OVERDUE, utc(2020, 11, 20, 20), V.CAUSE_AS_OF),
    ]


@pytest.mark.django_db
def test_published_fact_is_reassessed_with_cause_facts_and_its_report():
    o = ObligationFactory(due_date=date(2020, 11, 20))
    sweep.run()
    o.refresh_from_db()
    assert o.status == V.OVERDUE
    report = ReportFactory(obligation=o, occurred_at=utc(2021, 2, 1))
    services.facts_changed([o.pk])
    sweep.run()
    o.refresh_from_db()
    assert (o.status, o.status_since) == (V.COMPLETED_LATE, utc(2021, 2, 1))
    event = StatusEvent.objects.get(obligation=o, to_status=V.COMPLETED_LATE)
    assert (event.cause, event.report_id, event.notified_at) == (V.CAUSE_FACTS, report.pk, None)


@pytest.mark.django_db
def test_a_retracted_completion_is_superseded_and_the_correction_is_an_event():
    o = ObligationFactory(due_date=date(2020, 11, 20))
    report = ReportFactory(obligation=o, occurred_at=utc(2021, 2, 1))
    sweep.run()
    assert stored_statuses(o.agreement)[o.pk][0] == V.COMPLETED_LATE
    first = StatusEvent.current.get(obligation=o, to_status=V.COMPLETED_LATE)
    Report.objects.filter(pk=report.pk).update(superseded_at=utc(2021, 3, 1))
    services.facts_changed([o.pk])
    sweep.run()
    o.refresh_from_db()
    assert o.status == V.OVERDUE
    first.refresh_from_db()
    assert first.superseded_at is not None  # kept, but out of the history
    correction = StatusEvent.current.get(obligation=o, cause=V.CAUSE_CORRECTION)
    assert (correction.from_status, correction.to_status) == (V.COMPLETED_LATE, V.OVERDUE)
    history = [(e.from_status, e.to_status, e.effective_at) for e in
               StatusEvent.current.filter(obligation=o).exclude(cause=V.CAUSE_CORRECTION)
               .order_by("effective_at")]
    assert history == [(t.from_status, t.to_status, t.at)
                       for t in engine.timeline(facts_of(o), utc(2026, 1, 1))]


@pytest.mark.django_db
def test_a_late_report_of_a_closed_past_episode_enters_the_history():
    o = ObligationFactory(kind=V.ONGOING, due_date=None)
    sweep.run(utc(2023, 6, 1))
    began = ReportFactory(obligation=o, claim=V.CLAIM_VIOLATION, occurred_at=utc(2023, 3, 5))
    ended = ReportFactory(obligation=o, claim=V.CLAIM_VIOLATION_ENDED,
                          occurred_at=utc(2023, 3, 6))
    services.facts_changed([o.pk])
    sweep.run(utc(2023, 6, 2))
    got = list(StatusEvent.current.filter(obligation=o).order_by("effective_at")
               .values_list("from_status", "to_status", "effective_at", "cause"))
    assert got == [
        ("", V.IN_FORCE, o.agreement.effective_at, V.CAUSE_BACKFILL),
        (V.IN_FORCE, V.VIOLATED, utc(2023, 3, 5), V.CAUSE_FACTS),
        (V.VIOLATED, V.IN_FORCE, utc(2023, 3, 6), V.CAUSE_FACTS),
    ]
    # Each transition names the report that caused it, the ending one included.
    reports = list(StatusEvent.current.filter(obligation=o).order_by("effective_at")
                   .values_list("report_id", flat=True))
    assert reports == [None, began.pk, ended.pk]


@pytest.mark.django_db
def test_a_replay_ahead_of_the_present_writes_no_future_history():
    import time_machine

    with time_machine.travel(utc(2026, 6, 1), tick=False):
        o = ObligationFactory(due_date=date(2028, 1, 1))
        sweep.run()
        sweep.run(utc(2031, 1, 1))  # an analyst looks ahead
        o.refresh_from_db()
        assert o.status == V.OVERDUE  # the row is as it would be then...
        assert not StatusEvent.objects.filter(effective_at__gt=utc(2026, 6, 1)).exists()
        sweep.run()  # ...and the beat's next sweep brings it back to the present
        o.refresh_from_db()
        assert o.status == V.PENDING
    with time_machine.travel(utc(2028, 1, 2), tick=False):
        sweep.run()  # when the deadline really passes, it is news
    events = list(StatusEvent.current.filter(obligation=o, effective_at__gt=utc(2026, 6, 1))
                  .order_by("effective_at").values_list("to_status", "cause", "notified_at"))
    assert events == [(V.DUE_SOON, V.CAUSE_SWEEP, None), (V.OVERDUE, V.CAUSE_SWEEP, None)]


@pytest.mark.django_db
def test_dry_run_changes_nothing_and_reports_what_it_would_do():
    o = ObligationFactory()
    result = sweep.run(utc(2020, 11, 25), dry_run=True)
    assert [c.to_status for c in result.changes] == [V.PENDING, V.DUE_SOON, V.OVERDUE]
    o.refresh_from_db()
    assert o.status == "" and not StatusEvent.objects.exists()


@pytest.mark.django_db
def test_one_bad_row_is_counted_and_the_rest_are_swept(caplog):
    good = ObligationFactory()
    broken_agreement = AgreementFactory()
    Agreement.objects.filter(pk=broken_agreement.pk).update(timezone="Not/AZone")
    bad = ObligationFactory(agreement=broken_agreement, due_at=utc(2020, 11, 20, 20))
    result = sweep.run(utc(2020, 11, 25))
    assert result.failed == 1
    good.refresh_from_db()
    bad.refresh_from_db()
    assert good.status == V.OVERDUE and bad.status == ""
    assert f"obligation {bad.pk}" in caplog.text


@pytest.mark.django_db
def test_sweep_command_prints_transitions_and_rejects_a_bad_instant(capsys):
    ObligationFactory(slug="aghdam")
    call_command("sweep", "--as-of", "2020-11-21T00:00:00+04:00")
    out = capsys.readouterr().out
    assert "aghdam: due_soon -> overdue at 2020-11-20T20:00:00+00:00" in out
    assert "3 transitions recorded" in out
    with pytest.raises(CommandError, match="offset"):
        call_command("sweep", "--as-of", "2020-11-21")


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("swept_before", [False, True], ids=["first-assessment", "time-passing"])
def test_two_sweeps_at_once_write_each_transition_exactly_once(swept_before):
    if connection.vendor != "postgresql":
        pytest.fail("this test needs PostgreSQL (row locks)")
    agreement = AgreementFactory()
    random_obligations(agreement, 200, seed=5)
    if swept_before:
        sweep.run(utc(2020, 11, 12))  # later sweeps take the SQL path
    at = utc(2023, 1, 1)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker():
        try:
            barrier.wait()
            sweep.run(at, cause=V.CAUSE_SWEEP)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert stored_statuses(agreement) == engine_statuses(agreement, at)
    assert sorted(stored_events()) == sorted(replayed_events(agreement, at))
    # The data exercise the statuses of every kind, disputes first among them.
    reached = {to for _, _, to, _ in stored_events()}
    assert {V.DISPUTED, V.SUPERSEDED, V.TERMINATED, V.VIOLATED} <= reached


@pytest.mark.django_db
def test_a_sweep_after_a_replay_backwards_records_each_transition_once():
    agreement = AgreementFactory()
    random_obligations(agreement, 120, seed=17)
    sweep.run(utc(2020, 11, 10))
    sweep.run(utc(2023, 6, 1))
    sweep.run(utc(2021, 6, 1))  # back: statuses move, the history stays
    # Forward again through transitions already on record, and past them: the SQL path
    # must skip the recorded ones (a duplicate would fail status_event_once).
    result = sweep.run(utc(2024, 6, 1))
    assert result.changed_rows > 0
    assert sorted(stored_events()) == sorted(replayed_events(agreement, utc(2024, 6, 1)))
    assert stored_statuses(agreement) == engine_statuses(agreement, utc(2024, 6, 1))
