"""The count timeline (tracker.count_timeline): past counts read from stored running
sums of the status events equal a classification of every row, and it answers only
when it can tell."""

from __future__ import annotations

import random
from collections import Counter
from datetime import date, datetime, timedelta

import pytest
from django.test import override_settings

from deadlines import sweep, tasks
from tests.engine.test_spans import utc
from tests.engine.test_sweep import random_obligations
from tests.factories import AgreementFactory, ObligationFactory, PartyFactory, ReportFactory
from tracker import count_timeline, services, statuses
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, Obligation, StatusTally, StatusTallyBuild
from tracker.web import queries

SWEPT = utc(2024, 3, 1)
LISTS = {"soon": ([V.PENDING, V.DUE_SOON], 6), "late": ([V.OVERDUE], 5)}


@pytest.fixture
def two_agreements() -> list[Agreement]:
    """Random terms in Baku, and a few in New York (a date ends at another instant
    there), swept to SWEPT."""
    baku = AgreementFactory(slug="baku", timezone="Asia/Baku")
    random_obligations(baku, 120, seed=53)
    ny = AgreementFactory(slug="ny", timezone="America/New_York")
    north = PartyFactory(slug="north")
    rng = random.Random(59)
    for i in range(15):
        o = ObligationFactory(agreement=ny, slug=f"n{i}",
                              due_date=date(2021, 1, 1) + timedelta(days=rng.randint(0, 700)))
        o.responsible.set([north])
        if i % 3 == 0:
            ReportFactory(obligation=o, claim=V.CLAIM_COMPLETED,
                          occurred_at=utc(2021, 6, 1) + timedelta(days=rng.randint(0, 500)))
    # Due after the sweep: its status changes later, so the timeline has a horizon.
    ObligationFactory(agreement=ny, slug="later", due_date=date(2030, 1, 1))
    sweep.run(SWEPT)
    return [baku, ny]


def instants(rng: random.Random) -> list[date | datetime]:
    found: list[date | datetime] = [
        utc(2020, 11, 1) + timedelta(minutes=rng.randint(0, 60 * 24 * 1200)) for _ in range(12)
    ]
    return found + [date(2020, 11, 10), date(2021, 6, 1), date(2023, 1, 15), utc(2019, 1, 1)]


def classified(agreements: list[Agreement], asof: AsOf):
    qs = Obligation.objects.filter(agreement__in=[a.pk for a in agreements])
    counted, engine_qs = statuses.count_at(qs, asof, agreements, LISTS)
    assert not engine_qs.exists()
    plain = statuses.tally(qs.exclude(statuses.attributed()), asof, agreements,
                           ("agreement_id", "responsible__id"))
    return counted, plain


@pytest.mark.django_db
def test_counts_read_from_the_timeline_equal_a_classification_of_every_row(two_agreements):
    assert count_timeline.rebuild()
    assert StatusTally.objects.exists()
    for written in instants(random.Random(61)):
        asof = AsOf(written)
        timeline = count_timeline.counts_at(asof, two_agreements)
        assert timeline is not None, written
        counted, plain = classified(two_agreements, asof)
        for a in two_agreements:
            assert timeline.by_agreement[a.pk] == counted.by_agreement.get(a.pk, Counter()), (
                written, a.slug)
        assert timeline.by_party == {k: c for k, c in plain.items() if c}, written
        # The standings the overview shows, from the timeline's counts or from SQL alone.
        assert statuses.party_tally(Obligation.objects.all(), asof, two_agreements,
                                    timeline.by_party) == statuses.party_tally(
            Obligation.objects.all(), asof, two_agreements)


@pytest.mark.django_db
def test_the_first_deadlines_walked_in_due_order_equal_the_classified_lists(two_agreements):
    for written in instants(random.Random(67)):
        asof = AsOf(written)
        counted, _ = classified(two_agreements, asof)
        for name, ahead in (("soon", True), ("late", False)):
            wanted, limit = LISTS[name]
            walked = statuses.first_due(two_agreements, asof, wanted, limit, ahead=ahead)
            assert walked == counted.listed[name], (written, name)


@pytest.mark.django_db
def test_the_overview_in_the_past_is_the_same_with_or_without_the_timeline(two_agreements):
    asof = AsOf(date(2022, 3, 1))
    at = asof.at(two_agreements[0].zone)

    def seen() -> tuple:
        o = queries.overview(two_agreements, asof, at)
        return (
            [(a.agreement.pk, dict(a.counts)) for a in o.agreements],
            [(d.obligation.pk, d.status, d.due_at) for d in o.next_deadlines],
            [(d.obligation.pk, d.status, d.due_at) for d in o.overdue],
            o.overdue_total,
            [(p.party_id, dict(p.counts), dict(p.as_actor)) for p in o.parties],
        )

    classified_view = seen()
    assert count_timeline.rebuild()
    assert count_timeline.counts_at(asof, two_agreements) is not None
    assert seen() == classified_view
    assert classified_view[0][0][1]  # something was counted


@pytest.mark.django_db
def test_it_answers_only_when_it_can_tell(two_agreements):
    asof = AsOf(utc(2022, 1, 1))
    assert count_timeline.counts_at(asof, two_agreements) is None  # never built
    assert count_timeline.rebuild()
    assert count_timeline.counts_at(asof, two_agreements) is not None
    # Past knowledge: built from today's facts, it cannot say what was known then.
    assert count_timeline.counts_at(AsOf(utc(2022, 1, 1), known=utc(2022, 6, 1)),
                                    two_agreements) is None
    # At or after its horizon, stored statuses have not been swept that far.
    horizon = StatusTallyBuild.objects.get().horizon
    assert horizon is not None and horizon > SWEPT
    assert count_timeline.counts_at(AsOf(horizon), two_agreements) is None
    assert count_timeline.counts_at(AsOf(horizon - timedelta(seconds=1)),
                                    two_agreements) is not None
    # Too old: a change no version records would go unseen for longer than allowed.
    with override_settings(COUNT_TIMELINE_MAX_AGE_SECONDS=0):
        assert count_timeline.counts_at(asof, two_agreements) is None
    # A new fact: the data moved and a row awaits assessment.
    o = Obligation.objects.filter(agreement=two_agreements[1]).order_by("pk").first()
    ReportFactory(obligation=o, claim=V.CLAIM_COMPLETED, occurred_at=utc(2021, 2, 1))
    services.facts_changed([o.pk])
    assert count_timeline.counts_at(asof, two_agreements) is None
    assert not count_timeline.rebuild()  # nothing built while a row awaits assessment
    sweep.run(SWEPT)
    assert count_timeline.refresh()
    timeline = count_timeline.counts_at(asof, two_agreements)
    assert timeline is not None
    counted, _ = classified(two_agreements, asof)
    assert timeline.by_agreement[two_agreements[1].pk] == counted.by_agreement[
        two_agreements[1].pk]
    assert not count_timeline.refresh()  # nothing moved: the build stands


@pytest.mark.django_db
def test_the_worker_builds_it_after_storing_statuses(two_agreements):
    assert not StatusTallyBuild.objects.exists()
    tasks.after_statuses_stored()
    build = StatusTallyBuild.objects.get()
    assert build.version and build.data["totals"]
    assert count_timeline.counts_at(AsOf(utc(2021, 5, 5)), two_agreements) is not None


@pytest.mark.django_db(transaction=True)
def test_a_rebuild_that_finds_another_running_leaves_it_the_work(two_agreements):
    import psycopg2
    from django.db import connection

    s = connection.settings_dict
    other = psycopg2.connect(dbname=s["NAME"], user=s["USER"], host=s["HOST"],
                             port=s["PORT"] or 5432, password=s["PASSWORD"] or None)
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN; SELECT pg_advisory_xact_lock(%s)", [count_timeline._LOCK])
            assert not count_timeline.rebuild()
            assert not StatusTallyBuild.objects.exists()
        other.rollback()
        assert count_timeline.rebuild()
    finally:
        other.close()
