"""Statuses at a past instant in SQL (summary spans) equal the engine's, at any instant."""

from __future__ import annotations

import random
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from deadlines import engine, sweep
from deadlines.facts import facts_of, with_facts
from tests.engine.test_sweep import random_obligations
from tests.factories import (
    AgreementFactory,
    ObligationFactory,
    PartyFactory,
    ReportFactory,
    as_loaded,
)
from tracker import services, statuses
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Agreement, DeadlineChange, Obligation, Report, SummarySpan


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def engine_at(qs, asof: AsOf) -> dict[int, engine.Assessment]:
    return {o.pk: engine.assess(facts_of(o), asof.at(o.agreement.zone))
            for o in with_facts(qs)}


def split_at(qs, asof: AsOf):
    agreements = Agreement.objects.filter(pk__in=qs.values("agreement_id"))
    sql_rows, engine_qs = statuses.split(qs, asof, statuses.zone_instants(asof, agreements))
    found = {pk: (st, due_at) for pk, st, due_at in sql_rows.values_list("pk", "st", "st_due_at")}
    return found, set(engine_qs.values_list("pk", flat=True))


def fact_instants(qs) -> list[datetime]:
    ids = qs.values("pk")
    changes = DeadlineChange.objects.filter(obligation__in=ids).values_list("agreed_at", flat=True)
    reports = Report.objects.filter(obligation__in=ids).values_list("occurred_at", flat=True)
    return [*changes, *reports]


def test_a_span_keeps_every_summary_column_the_engine_has():
    span_fields = {f.name for f in SummarySpan._meta.get_fields()}
    summary = set(engine.SUMMARY_COLUMNS) - {"facts_from", "facts_until"}
    assert summary <= span_fields
    assert set(sweep.SPAN_COLUMNS) == summary


@pytest.mark.django_db
def test_spans_cover_time_without_gaps_and_each_is_the_engines_summary_there():
    agreement = AgreementFactory()
    o = ObligationFactory(agreement=agreement, due_date=date(2020, 11, 20))
    DeadlineChange.objects.create(obligation=o, due_date=date(2020, 11, 30),
                                  agreed_at=utc(2020, 11, 15), review_state=V.PUBLISHED,
                                  published_at=utc(2020, 11, 15))
    ReportFactory(obligation=o, claim=V.CLAIM_COMPLETED, occurred_at=utc(2020, 11, 25))
    facts = facts_of(with_facts(Obligation.objects.filter(pk=o.pk)).get())
    spans = sweep.summary_spans(facts)
    assert [(s.facts_from, s.facts_until) for s in spans] == [
        (None, utc(2020, 11, 15)), (utc(2020, 11, 15), utc(2020, 11, 25)),
        (utc(2020, 11, 25), None),
    ]
    for s in spans:
        assert s == engine.summarize(facts, s.facts_from or utc(2020, 1, 1))


@pytest.mark.django_db
def test_past_statuses_in_sql_equal_the_engine_at_random_instants():
    agreement = AgreementFactory()
    random_obligations(agreement, 150, seed=23)
    sweep.run(utc(2024, 3, 1))
    qs = Obligation.objects.filter(agreement=agreement)
    assert SummarySpan.objects.exists()
    rng = random.Random(29)
    # Random instants, the instants of the facts themselves (a span's bounds), an
    # instant before entry into force, and dates (the end of the day, local).
    instants: list[date | datetime] = [
        utc(2020, 11, 10) + timedelta(minutes=rng.randint(0, 60 * 24 * 1600))
        for _ in range(20)
    ]
    facts = sorted(fact_instants(qs))
    instants += rng.sample(facts, 8) + [t - timedelta(microseconds=1) for t in facts[:3]]
    instants += [utc(2019, 6, 1), date(2021, 3, 14), date(2022, 8, 1)]
    with_later_facts = 0
    for written in instants:
        asof = AsOf(written)
        found, by_engine = split_at(qs, asof)
        expected = engine_at(qs, asof)
        assert not by_engine, (written, by_engine)  # every row in SQL
        assert {pk: st for pk, (st, _) in found.items()} == {
            pk: a.status for pk, a in expected.items()}, written
        assert {pk: due for pk, (_, due) in found.items()} == {
            pk: a.due_at for pk, a in expected.items()}, written
        with_later_facts += sum(
            1 for o in qs if o.facts_from is not None and o.facts_from > asof.at(agreement.zone)
        )
    assert with_later_facts > 100  # the spans, not the rows' own columns, answered those


@pytest.mark.django_db
def test_rows_whose_facts_changed_go_to_the_engine_until_the_sweep_rewrites_their_spans():
    o = ObligationFactory(due_date=date(2020, 11, 20))
    as_loaded(o.agreement)  # the term published at its agreement's signing
    ReportFactory(obligation=o, claim=V.CLAIM_COMPLETED, occurred_at=utc(2020, 11, 18))
    sweep.run(utc(2021, 1, 1))
    qs = Obligation.objects.filter(pk=o.pk)
    asof = AsOf(utc(2020, 11, 17, 22))  # inside the warning window of 20 November
    assert split_at(qs, asof) == ({o.pk: (V.DUE_SOON, utc(2020, 11, 20, 20))}, set())
    # A correction: the completion was later, and the deadline moved before it.
    Report.objects.filter(obligation=o).update(occurred_at=utc(2020, 11, 24))
    DeadlineChange.objects.create(obligation=o, due_date=date(2020, 11, 30),
                                  agreed_at=utc(2020, 11, 16), review_state=V.PUBLISHED,
                                  published_at=utc(2020, 11, 16))
    services.facts_changed([o.pk])
    assert split_at(qs, asof) == ({}, {o.pk})  # the engine, until swept
    sweep.run(utc(2021, 1, 1))
    assert split_at(qs, asof) == ({o.pk: (V.PENDING, utc(2020, 11, 30, 20))}, set())
    assert split_at(qs, AsOf(utc(2020, 11, 25))) == (
        {o.pk: (V.COMPLETED, utc(2020, 11, 30, 20))}, set())
    assert split_at(qs, AsOf(utc(2020, 11, 15, 12))) == (
        {o.pk: (V.PENDING, utc(2020, 11, 20, 20))}, set())
    assert split_at(qs, AsOf(utc(2020, 11, 29))) == (
        {o.pk: (V.COMPLETED, utc(2020, 11, 30, 20))}, set())
    assert SummarySpan.objects.filter(obligation=o).count() == 3


@pytest.mark.django_db
def test_a_date_is_read_in_each_agreements_zone_from_the_spans():
    baku = AgreementFactory(slug="baku", timezone="Asia/Baku")
    ny = AgreementFactory(slug="ny", timezone="America/New_York")
    for a in (baku, ny):
        o = ObligationFactory(agreement=a, due_date=date(2021, 5, 10), slug="d")
        # Completed at 02:00 UTC on 10 May: that day in Baku, still 9 May in New York.
        ReportFactory(obligation=o, claim=V.CLAIM_COMPLETED, occurred_at=utc(2021, 5, 10, 2))
        ReportFactory(obligation=o, claim=V.CLAIM_PROGRESS, occurred_at=utc(2021, 5, 1))
    sweep.run(utc(2022, 1, 1))
    qs = Obligation.objects.all()
    for day in (date(2021, 5, 9), date(2021, 5, 10), date(2021, 4, 30)):
        asof = AsOf(day)
        found, by_engine = split_at(qs, asof)
        assert not by_engine
        assert {pk: st for pk, (st, _) in found.items()} == {
            pk: a.status for pk, a in engine_at(qs, asof).items()}, day


@pytest.mark.django_db
def test_counts_at_a_past_instant_equal_the_engines():
    agreement = AgreementFactory()
    random_obligations(agreement, 90, seed=31)
    sweep.run(utc(2024, 1, 1))
    qs = Obligation.objects.filter(agreement=agreement)
    for written in (utc(2021, 2, 3, 4), date(2022, 2, 2), utc(2023, 7, 1)):
        asof = AsOf(written)
        counted = statuses.status_counts_many([agreement], asof)[agreement.pk]
        assert counted == dict(Counter(a.status for a in engine_at(qs, asof).values()))


@pytest.mark.django_db
def test_a_read_with_past_knowledge_does_not_use_the_spans():
    o = ObligationFactory(due_date=date(2020, 11, 20))
    as_loaded(o.agreement)  # the term published at its agreement's signing
    ReportFactory(obligation=o, claim=V.CLAIM_COMPLETED, occurred_at=utc(2020, 11, 18))
    sweep.run(utc(2021, 1, 1))
    qs = Obligation.objects.filter(pk=o.pk)
    assert split_at(qs, AsOf(utc(2020, 11, 17)))[1] == set()
    # Its report was published after 1 December 2020: the spans, built from today's
    # facts, do not tell what was known then; the engine reads the facts known then.
    then = AsOf(utc(2020, 11, 17), known=utc(2020, 12, 1))
    assert split_at(qs, then)[1] == {o.pk}


@pytest.mark.django_db
@pytest.mark.parametrize("listed", [10_000, 3])
def test_a_status_filter_in_the_past_keeps_exactly_the_rows_the_engine_puts_there(
    listed, monkeypatch
):
    # 3: more matches than are passed on as ids, so the subquery is used instead.
    monkeypatch.setattr(statuses, "LISTED_MATCHES", listed)
    agreement = AgreementFactory()
    random_obligations(agreement, 80, seed=37)
    sweep.run(utc(2024, 1, 1))
    first = Obligation.objects.filter(agreement=agreement).order_by("pk").first()
    ReportFactory(obligation=first, claim=sorted(V.CLAIMS_BY_KIND[first.kind])[0],
                  occurred_at=utc(2021, 1, 1))
    services.facts_changed([first.pk])  # one row for the engine, the rest in SQL
    qs = Obligation.objects.filter(agreement=agreement)
    for written in (utc(2021, 6, 1), date(2022, 3, 1)):
        asof = AsOf(written)
        expected = engine_at(qs, asof)
        for wanted in ([V.OVERDUE], [V.PENDING, V.IN_FORCE], [V.COMPLETED, V.VIOLATED]):
            kept = set(statuses.filter_status(qs, wanted, asof).values_list("pk", flat=True))
            assert kept == {pk for pk, a in expected.items() if a.status in wanted}, wanted


@pytest.mark.django_db
def test_the_overviews_counts_and_lists_in_one_statement_equal_the_engines():
    agreement = AgreementFactory()
    random_obligations(agreement, 90, seed=41)
    parties = [PartyFactory(slug=f"p{i}") for i in range(3)]
    for o in Obligation.objects.filter(agreement=agreement):
        o.responsible.set(parties[: 1 + o.pk % 3])
    sweep.run(utc(2024, 1, 1))
    qs = Obligation.objects.filter(agreement=agreement)
    first = qs.order_by("pk").first()
    ReportFactory(obligation=first, claim=sorted(V.CLAIMS_BY_KIND[first.kind])[0],
                  occurred_at=utc(2021, 1, 1))
    services.facts_changed([first.pk])  # counted by the engine, the rest in SQL
    asof = AsOf(utc(2021, 9, 1))
    counted, engine_qs = statuses.count_at(
        qs, asof, [agreement], {"soon": ([V.PENDING, V.DUE_SOON], 5), "late": ([V.OVERDUE], 4)}
    )
    assert list(engine_qs) == [first]
    expected = {pk: a for pk, a in engine_at(qs, asof).items() if pk != first.pk}
    assert counted.by_agreement[agreement.pk] == Counter(a.status for a in expected.values())
    for name, wanted, limit in (("soon", {V.PENDING, V.DUE_SOON}, 5), ("late", {V.OVERDUE}, 4)):
        rows = sorted((a.due_at, pk) for pk, a in expected.items()
                      if a.status in wanted and qs.get(pk=pk).kind == V.DEADLINE)[:limit]
        assert [(r[2], r[0]) for r in counted.listed[name]] == rows, name
