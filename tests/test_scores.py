"""A made-up agreement exercising every rule of docs/method.md through the database:
per-party standings on a joint term, a non-responsible actor, a claim contested and then
settled by a finding (the history keeps all three phases), contested text, endings by
relations and by events, and scores by the method's table at several instants."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from deadlines import engine, sweep
from deadlines.facts import facts_of, with_facts
from tests.factories import (
    AgreementFactory,
    ClaimantFactory,
    ObligationFactory,
    PartyFactory,
    ReportFactory,
)
from tracker import scores, statuses
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import AgreementRelation, Obligation, StatusEvent


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.fixture
def world(db):
    east = PartyFactory(slug="east", name="East")
    west = PartyFactory(slug="west", name="West")
    guarantor = PartyFactory(slug="guarantor", name="Guarantor")
    west_mod = ClaimantFactory(slug="west-mod", party=west)
    east_mod = ClaimantFactory(slug="east-mod", party=east)
    tracker = ClaimantFactory(slug="tracker", kind=V.CLAIMANT_TRACKER)
    a = AgreementFactory(slug="made-up")
    a.parties.set([east, west, guarantor])

    def term(slug, kind, responsible, **kw):
        kw.setdefault("due_date", None)
        o = ObligationFactory(agreement=a, slug=slug, kind=kind, **kw)
        o.responsible.set(responsible)
        return o

    ceasefire = term("ceasefire", V.ONGOING, [east, west])
    claimed = ReportFactory(obligation=ceasefire, claim=V.CLAIM_VIOLATION,
                            occurred_at=utc(2021, 3, 1), claimant=west_mod)
    claimed.actors.set([east])
    denied = ReportFactory(obligation=ceasefire, claim=V.CLAIM_DENIAL,
                           occurred_at=utc(2021, 3, 2), claimant=east_mod, contests=claimed)
    finding = ReportFactory(obligation=ceasefire, claim=V.CLAIM_VIOLATION,
                            occurred_at=utc(2021, 6, 1), claimant=tracker, contests=claimed)
    ended = ReportFactory(obligation=ceasefire, claim=V.CLAIM_VIOLATION_ENDED,
                          occurred_at=utc(2021, 7, 1))
    ended.actors.set([east])

    withdrawal = term("withdrawal", V.DEADLINE, [west], due_date=date(2020, 11, 20))
    ReportFactory(obligation=withdrawal, occurred_at=utc(2020, 11, 25))  # late

    corridor = term("corridor", V.ONGOING, [guarantor])
    checkpoint = ReportFactory(obligation=corridor, claim=V.CLAIM_VIOLATION,
                               occurred_at=utc(2023, 4, 23))
    checkpoint.actors.set([east])

    text = term("text-only", V.DEADLINE, [west], due_date=date(2020, 12, 1),
                text_dispute="Only in one of the published versions.")

    returns = term("returns", V.OPEN, [east])
    ReportFactory(obligation=returns, claim=V.CLAIM_PROGRESS, occurred_at=utc(2022, 7, 1))
    ReportFactory(obligation=returns, claim=V.CLAIM_OVERTAKEN, occurred_at=utc(2023, 9, 30))

    link = term("link", V.OPEN, [guarantor])

    later = AgreementFactory(slug="later", signed_at=utc(2024, 1, 1), effective_at=utc(2024, 1, 1))
    route = ObligationFactory(agreement=later, slug="route", kind=V.OPEN, due_date=None)
    AgreementRelation.objects.create(agreement=later, kind=V.TERMINATES, target_agreement=a,
                                     target=corridor, at=utc(2024, 4, 17))
    AgreementRelation.objects.create(agreement=later, kind=V.SUPERSEDES, target_agreement=a,
                                     target=link, replacement=route, at=utc(2025, 8, 8))
    last = AgreementFactory(slug="last", signed_at=utc(2026, 1, 1), effective_at=utc(2026, 1, 1))
    AgreementRelation.objects.create(agreement=last, kind=V.TERMINATES, target_agreement=a,
                                     at=utc(2026, 1, 1))  # the whole agreement
    return {
        "agreement": a, "ceasefire": ceasefire, "claimed": claimed, "denied": denied,
        "finding": finding, "withdrawal": withdrawal, "corridor": corridor, "text": text,
        "returns": returns, "link": link, "later": later,
    }


def score_of(at: datetime, agreement) -> dict[str, float | None]:
    return {p.party: p.score for p in scores.party_scores(AsOf(at), agreement)}


def test_scores_follow_the_methods_table_at_several_instants(world):
    a = world["agreement"]
    assert score_of(utc(2020, 12, 15), a) == {"east": 3.0, "west": 2.5, "guarantor": 3.0}
    # East's violation in dispute: not scored; its only other term is pending.
    assert score_of(utc(2021, 4, 1), a) == {"east": None, "west": 2.5, "guarantor": 3.0}
    assert score_of(utc(2021, 6, 15), a)["east"] == 0.0  # upheld by the finding
    assert score_of(utc(2021, 8, 1), a)["east"] == 3.0  # its violation ended
    assert score_of(utc(2022, 8, 1), a)["east"] == 2.5  # returns in progress: 2
    # The checkpoint: 0 for East as an actor the term does not bind; the guarantor keeps
    # 3; the returns, overtaken by events, are not scored.
    assert score_of(utc(2023, 10, 1), a) == {"east": 1.5, "west": 2.5, "guarantor": 3.0}
    # Ended terms are not scored: the corridor ended early, the link superseded.
    assert score_of(utc(2025, 9, 1), a) == {"east": 3.0, "west": 2.5, "guarantor": None}
    # The whole agreement terminated: only what was done before counts.
    assert score_of(utc(2026, 2, 1), a) == {"east": None, "west": 2.0, "guarantor": None}


def test_each_term_score_says_why(world):
    a = world["agreement"]
    by = {(t.party, t.obligation_slug): t for p in scores.party_scores(AsOf(utc(2023, 10, 1)), a)
          for t in p.terms}
    checkpoint = by[("east", "corridor")]
    assert (checkpoint.points, checkpoint.responsible, checkpoint.reason, checkpoint.status) == (
        0, False, scores.ACTOR_BREACH, V.VIOLATED
    )
    assert checkpoint.report_id is not None
    assert (by[("west", "text-only")].points, by[("west", "text-only")].reason) == (
        None, scores.DISPUTED_TEXT
    )
    assert by[("east", "returns")].reason == V.OVERTAKEN
    assert by[("guarantor", "link")].reason == scores.NOT_DUE
    assert by[("west", "withdrawal")].points == 2
    during = {(t.party, t.obligation_slug): t
              for p in scores.party_scores(AsOf(utc(2021, 4, 1)), a) for t in p.terms}
    assert during[("east", "ceasefire")].reason == scores.DISPUTED_CLAIMS
    assert during[("west", "ceasefire")].points == 3


def test_score_series_and_the_moves_that_marked_it(world):
    a = world["agreement"]
    series = scores.score_series("east", utc(2020, 12, 31, 20), utc(2021, 9, 1), a)
    assert [at for at, _ in series][:2] == [
        engine.local_midnight(date(2021, 1, 1), a.zone),
        engine.local_midnight(date(2021, 2, 1), a.zone),
    ]
    assert [s for _, s in series] == [3.0, 3.0, 3.0, None, None, None, 0.0, 3.0, 3.0]
    moves = scores.score_moves("east", utc(2021, 1, 1), utc(2024, 1, 1), a)
    cf, corridor = world["ceasefire"].pk, world["corridor"].pk
    assert moves == [
        (utc(2021, 3, 1), V.VIOLATED, cf),
        (utc(2021, 3, 2), V.DISPUTED, cf),
        (utc(2021, 6, 1), V.VIOLATED, cf),
        (utc(2023, 4, 23), V.VIOLATED, corridor),
    ]


def test_the_history_keeps_the_claim_the_dispute_and_the_finding(world):
    sweep.run(utc(2022, 1, 1))
    ceasefire = world["ceasefire"]
    events = list(StatusEvent.current.filter(obligation=ceasefire).order_by("effective_at")
                  .values_list("to_status", "effective_at", "report_id"))
    assert events == [
        (V.IN_FORCE, world["agreement"].effective_at, None),
        (V.VIOLATED, utc(2021, 3, 1), world["claimed"].pk),
        (V.DISPUTED, utc(2021, 3, 2), world["denied"].pk),
        (V.VIOLATED, utc(2021, 6, 1), world["finding"].pk),
        (V.IN_FORCE, utc(2021, 7, 1), ceasefire.reports.get(claim=V.CLAIM_VIOLATION_ENDED).pk),
    ]
    sweep.run(utc(2021, 4, 1))
    ceasefire.refresh_from_db()
    assert (ceasefire.status, ceasefire.disputed_at) == (V.DISPUTED, utc(2021, 3, 2))


def test_endings_by_relations_and_the_stored_status_explain_them(world):
    sweep.run(utc(2025, 9, 1))
    link = Obligation.objects.get(pk=world["link"].pk)
    assert link.status == V.SUPERSEDED
    stored = statuses.stored_assessment(link, utc(2025, 9, 1))
    fetched = with_facts(Obligation.objects.filter(pk=link.pk)).get()
    a = engine.assess(facts_of(fetched), utc(2025, 9, 1))
    assert a.ending is not None and a.ending.replacement == "later/route"
    assert (stored.status, a.status) == (V.SUPERSEDED, V.SUPERSEDED)
    text = engine.assess(facts_of(world["text"]), utc(2025, 9, 1))
    assert (text.status, text.disputed_reason) == (V.DISPUTED, "text")
    # A relation ending the whole agreement reaches every term of it.
    assert engine.assess(facts_of(world["ceasefire"]), utc(2026, 2, 1)).status == V.TERMINATED
    assert engine.assess(facts_of(world["withdrawal"]), utc(2026, 2, 1)).status == (
        V.COMPLETED_LATE  # the earliest ending wins
    )


@pytest.mark.parametrize("asof", [AsOf(utc(2023, 4, 24)), AsOf(date(2023, 4, 24))],
                         ids=["instant", "date"])
def test_party_tallies_charge_the_actor_and_never_the_responsible_party(world, asof):
    sweep.run(utc(2023, 4, 24))
    tallies = {c.party.slug: c for c in
               statuses.party_compliance_many([world["agreement"]], asof)[world["agreement"].pk]}
    assert tallies["guarantor"].counts.get(V.VIOLATED, 0) == 0
    assert tallies["east"].counts[V.VIOLATED] == 1
    assert tallies["east"].as_actor == {V.VIOLATED: 1}
    # Contested text is nobody's breach.
    assert tallies["west"].counts.get(V.OVERDUE, 0) == 0
    assert tallies["west"].counts[V.DISPUTED] == 1


def test_party_tallies_now_read_the_same(world):
    import time_machine

    with time_machine.travel(utc(2023, 4, 24), tick=False):
        sweep.run()
        now = statuses.party_compliance_many([world["agreement"]], AsOf())
    tallies = {c.party.slug: c for c in now[world["agreement"].pk]}
    assert tallies["guarantor"].counts.get(V.VIOLATED, 0) == 0
    assert tallies["east"].as_actor == {V.VIOLATED: 1}


def test_scores_read_a_fixed_number_of_queries(world, django_assert_max_num_queries):
    for i in range(5):
        o = ObligationFactory(agreement=world["agreement"], slug=f"more-{i}")
        o.responsible.set([world["ceasefire"].responsible.first()])
        ReportFactory(obligation=o, occurred_at=utc(2020, 11, 15))
    with django_assert_max_num_queries(9):
        result = scores.party_scores(AsOf(utc(2023, 5, 1)))
    assert sum(len(p.terms) for p in result) > 10


def test_a_relation_flags_the_terms_it_reaches(world):
    sweep.run(utc(2022, 1, 1))
    assert not Obligation.objects.filter(needs_assessment=True).exists()
    from tracker import services

    whole = AgreementRelation.objects.get(target__isnull=True)
    services.relations_changed([whole])
    flagged = set(Obligation.objects.filter(needs_assessment=True).values_list("slug", flat=True))
    assert flagged == {"ceasefire", "withdrawal", "corridor", "text-only", "returns", "link"}
