"""The engine's rules for actors, competing claims, findings, contested text and endings
(SPEC "Engine rules"), on made-up terms: pure, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime, timedelta

from deadlines import engine as E
from tracker import vocabulary as V

from .test_engine import BAKU, EFFECTIVE, deadline


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def report(claim, at, id, **kw) -> E.ReportFact:
    if "actors" in kw:
        kw["actors"] = frozenset(kw["actors"])
    return E.ReportFact(claim, at, id=id, **kw)


def ongoing(*reports, responsible=("east", "west"), **kw) -> E.Facts:
    return E.Facts(kind=V.ONGOING, zone=BAKU, effective_at=EFFECTIVE,
                   responsible=frozenset(responsible), reports=tuple(reports), **kw)


def open_term(*reports, **kw) -> E.Facts:
    return E.Facts(kind=V.OPEN, zone=BAKU, effective_at=EFFECTIVE,
                   responsible=frozenset({"east"}), reports=tuple(reports), **kw)


def statuses(standings: dict[str, E.Standing]) -> dict[str, tuple[str, bool, bool]]:
    return {p: (s.status, s.responsible, s.charged) for p, s in standings.items()}


# --- actors and standings -------------------------------------------------------------


def test_a_violation_of_a_joint_term_is_charged_to_its_actor_only():
    facts = ongoing(report(V.CLAIM_VIOLATION, utc(2020, 12, 11), 1, actors={"east"}))
    assert E.assess(facts, utc(2020, 12, 12)).status == V.VIOLATED
    assert statuses(E.standings(facts, utc(2020, 12, 12))) == {
        "east": (V.VIOLATED, True, True),
        "west": (V.IN_FORCE, True, False),
    }
    assert E.standings(facts, utc(2020, 12, 12))["east"].report.id == 1


def test_a_violation_with_no_actors_is_the_responsible_parties_act():
    facts = ongoing(report(V.CLAIM_VIOLATION, utc(2020, 12, 11), 1))
    assert statuses(E.standings(facts, utc(2020, 12, 12))) == {
        "east": (V.VIOLATED, True, True),
        "west": (V.VIOLATED, True, True),
    }


def test_a_non_responsible_actor_is_charged_and_the_responsible_party_is_not():
    facts = ongoing(
        report(V.CLAIM_VIOLATION, utc(2023, 4, 23), 1, actors={"east"}),
        responsible=("guarantor",),
    )
    # Before its act, the actor has no standing on a term that does not bind it.
    assert statuses(E.standings(facts, utc(2023, 4, 1))) == {
        "guarantor": (V.IN_FORCE, True, False),
    }
    assert statuses(E.standings(facts, utc(2023, 4, 24))) == {
        "east": (V.VIOLATED, False, True),
        "guarantor": (V.IN_FORCE, True, False),
    }
    assert E.assess(facts, utc(2023, 4, 24)).status == V.VIOLATED


def test_violations_are_paired_with_their_ends_per_actor():
    facts = ongoing(
        report(V.CLAIM_VIOLATION, utc(2021, 1, 1), 1, actors={"east"}),
        report(V.CLAIM_VIOLATION, utc(2021, 1, 5), 2, actors={"west"}),
        report(V.CLAIM_VIOLATION_ENDED, utc(2021, 1, 10), 3, actors={"east"}),
        report(V.CLAIM_VIOLATION_ENDED, utc(2021, 2, 1), 4),  # no actors: ends all
    )
    at = utc(2021, 1, 20)
    a = E.assess(facts, at)
    # East's end does not end West's violation: the term is still violated, since West's.
    assert (a.status, a.summary.violated_at, a.report.id) == (V.VIOLATED, utc(2021, 1, 5), 2)
    assert statuses(E.standings(facts, at)) == {
        "east": (V.IN_FORCE, True, False),
        "west": (V.VIOLATED, True, True),
    }
    assert E.assess(facts, utc(2021, 2, 2)).status == V.IN_FORCE
    assert [t.to_status for t in E.timeline(facts, utc(2021, 3, 1))] == [
        V.IN_FORCE, V.VIOLATED, V.IN_FORCE,
    ]


# --- competing claims and findings ----------------------------------------------------

CLAIMED = report(V.CLAIM_VIOLATION, utc(2021, 3, 1), 1, actors={"east"}, claimant="west-mod")
DENIED = report(V.CLAIM_DENIAL, utc(2021, 3, 2), 2, claimant="east-mod", contests=1)
UPHELD = report(V.CLAIM_VIOLATION, utc(2021, 6, 1), 3, claimant="tracker", finding=True,
                contests=1)
REJECTED = report(V.CLAIM_DENIAL, utc(2021, 6, 1), 3, claimant="tracker", finding=True,
                  contests=1)


def test_a_denied_claim_is_disputed_with_both_accounts_until_a_finding_settles_it():
    facts = ongoing(CLAIMED, DENIED, UPHELD)
    history = E.timeline(facts, utc(2022, 1, 1))
    assert [(t.to_status, t.at, t.report and t.report.id) for t in history] == [
        (V.IN_FORCE, EFFECTIVE, None),
        (V.VIOLATED, utc(2021, 3, 1), 1),
        (V.DISPUTED, utc(2021, 3, 2), 2),
        (V.VIOLATED, utc(2021, 6, 1), 3),  # the finding caused the change
    ]
    during = E.assess(facts, utc(2021, 4, 1))
    assert (during.status, during.disputed_reason) == (V.DISPUTED, "claims")
    assert [r.id for r in during.accounts] == [1, 2]
    assert {r.claimant for r in during.accounts} == {"west-mod", "east-mod"}
    # In dispute, nobody is charged: east's standing is disputed, west's in force.
    assert statuses(E.standings(facts, utc(2021, 4, 1))) == {
        "east": (V.DISPUTED, True, False),
        "west": (V.IN_FORCE, True, False),
    }
    # Upheld, the violation counts from when it occurred, charged to its actor.
    after = E.assess(facts, utc(2021, 7, 1))
    assert (after.status, after.summary.violated_at, after.accounts) == (
        V.VIOLATED, utc(2021, 3, 1), ()
    )
    assert E.standings(facts, utc(2021, 7, 1))["east"].charged


def test_a_finding_that_rejects_the_claim_leaves_nothing_to_count():
    facts = ongoing(CLAIMED, DENIED, REJECTED)
    assert [t.to_status for t in E.timeline(facts, utc(2022, 1, 1))] == [
        V.IN_FORCE, V.VIOLATED, V.DISPUTED, V.IN_FORCE,
    ]
    assert not any(s.charged for s in E.standings(facts, utc(2021, 7, 1)).values())


def test_a_lone_denial_of_an_unknown_report_counts_for_nothing():
    facts = ongoing(report(V.CLAIM_DENIAL, utc(2021, 3, 2), 2, contests=99))
    assert E.assess(facts, utc(2021, 4, 1)).status == V.IN_FORCE


def test_two_accounts_agreeing_count_and_a_contest_of_a_contest_joins_the_case():
    agreeing = report(V.CLAIM_VIOLATION, utc(2021, 3, 3), 4, claimant="monitor", contests=1)
    facts = ongoing(CLAIMED, agreeing)
    assert E.assess(facts, utc(2021, 4, 1)).status == V.VIOLATED
    # A denial of the agreeing account belongs to the same case, which it puts in dispute.
    denial = report(V.CLAIM_DENIAL, utc(2021, 3, 5), 5, contests=4)
    a = E.assess(ongoing(CLAIMED, agreeing, denial), utc(2021, 4, 1))
    assert (a.status, a.summary.disputed_at, [r.id for r in a.accounts]) == (
        V.DISPUTED, utc(2021, 3, 5), [1, 4, 5]
    )


def test_a_violation_elsewhere_outranks_a_dispute_and_a_dispute_outranks_overdue():
    other = report(V.CLAIM_VIOLATION, utc(2021, 5, 1), 7, actors={"west"})
    facts = ongoing(CLAIMED, DENIED, other)
    assert E.assess(facts, utc(2021, 4, 1)).status == V.DISPUTED
    assert E.assess(facts, utc(2021, 5, 2)).status == V.VIOLATED
    # A completion denied before the deadline passes: disputed, not overdue.
    done = report(V.CLAIM_COMPLETED, utc(2020, 11, 19), 1)
    denial = report(V.CLAIM_DENIAL, utc(2020, 11, 19, 12), 2, contests=1)
    contested = deadline(date(2020, 11, 20), reports=[done, denial])
    assert E.assess(contested, utc(2021, 1, 1)).status == V.DISPUTED
    assert E.assess(contested, utc(2020, 11, 19, 6)).status == V.COMPLETED


# --- contested text -------------------------------------------------------------------


def test_contested_text_is_disputed_from_entry_into_force_and_never_a_breach():
    facts = E.Facts(
        kind=V.DEADLINE, zone=BAKU, effective_at=EFFECTIVE, original_due_date=date(2020, 12, 1),
        responsible=frozenset({"west"}), text_dispute=True,
    )
    for at in (EFFECTIVE, utc(2020, 12, 5), utc(2026, 1, 1)):
        a = E.assess(facts, at)
        assert (a.status, a.disputed_reason) == (V.DISPUTED, "text"), at
        assert not any(s.charged for s in E.standings(facts, at).values())
    late = replace(facts, reports=(report(V.CLAIM_COMPLETED, utc(2021, 1, 1), 1),))
    assert E.assess(late, utc(2021, 2, 1)).status == V.COMPLETED  # no deadline binds it
    violated = ongoing(report(V.CLAIM_VIOLATION, utc(2021, 1, 1), 1), text_dispute=True)
    assert E.assess(violated, utc(2021, 2, 1)).status == V.DISPUTED


# --- endings --------------------------------------------------------------------------

SUPERSEDED = E.EndingFact(V.SUPERSEDED, utc(2025, 8, 8), relation_id=5,
                          replacement="washington-2025/syunik-route")
TERMINATED = E.EndingFact(V.TERMINATED, utc(2024, 4, 17), relation_id=6)


def test_a_relation_supersedes_a_deadline_term_from_its_instant():
    facts = E.Facts(kind=V.DEADLINE, zone=BAKU, effective_at=EFFECTIVE,
                    original_due_date=date(2021, 1, 1), endings=(SUPERSEDED,))
    assert E.assess(facts, utc(2025, 8, 7)).status == V.OVERDUE
    a = E.assess(facts, utc(2025, 8, 8))
    assert (a.status, a.status_since, a.ending) == (V.SUPERSEDED, utc(2025, 8, 8), SUPERSEDED)
    assert a.ending.replacement == "washington-2025/syunik-route"
    assert a.days_overdue is None


def test_an_open_term_is_overtaken_by_a_report_and_an_ongoing_term_ended_early():
    facts = open_term(
        report(V.CLAIM_PROGRESS, utc(2022, 7, 1), 1),
        report(V.CLAIM_OVERTAKEN, utc(2023, 9, 30), 2),
    )
    assert [t.to_status for t in E.timeline(facts, utc(2026, 1, 1))] == [
        V.PENDING, V.IN_PROGRESS, V.OVERTAKEN,
    ]
    a = E.assess(facts, utc(2026, 1, 1))
    assert (a.report.id, a.ending) == (2, None)
    peacekeepers = ongoing(
        responsible=("guarantor",), starts_at=EFFECTIVE,
        term=E.Term(years=5, renews_years=5, notice_months=6), endings=(TERMINATED,),
    )
    a = E.assess(peacekeepers, utc(2024, 6, 1))
    assert (a.status, a.status_since, a.ending, a.term_ends_at) == (
        V.TERMINATED, utc(2024, 4, 17), TERMINATED, None
    )
    # A terminated claim ends a deadline term early too.
    ended = deadline(date(2021, 1, 1), reports=[report(V.CLAIM_TERMINATED, utc(2020, 12, 1), 3)])
    assert E.assess(ended, utc(2021, 6, 1)).status == V.TERMINATED


def test_the_earliest_ending_wins():
    done = report(V.CLAIM_COMPLETED, utc(2020, 11, 30), 1)
    facts = E.Facts(kind=V.DEADLINE, zone=BAKU, effective_at=EFFECTIVE,
                    original_due_date=date(2021, 1, 1), reports=(done,), endings=(SUPERSEDED,))
    assert E.assess(facts, utc(2026, 1, 1)).status == V.COMPLETED
    both = ongoing(report(V.CLAIM_TERMINATED, utc(2025, 1, 1), 1), endings=(SUPERSEDED,))
    assert E.assess(both, utc(2026, 1, 1)).status == V.TERMINATED
    violated = ongoing(report(V.CLAIM_VIOLATION, utc(2024, 1, 1), 1), endings=(TERMINATED,))
    # An ending outranks an open violation, and nobody is charged once it has ended.
    assert E.assess(violated, utc(2024, 5, 1)).status == V.TERMINATED
    assert not any(s.charged for s in E.standings(violated, utc(2024, 5, 1)).values())


def test_an_ending_dated_later_holds_only_from_its_instant_and_is_a_candidate_instant():
    facts = open_term(endings=(SUPERSEDED,))
    a = E.assess(facts, utc(2025, 1, 1))
    assert (a.status, a.next_change_at) == (V.PENDING, utc(2025, 8, 8))
    assert E.timeline(facts, utc(2026, 1, 1))[-1].at == utc(2025, 8, 8)


def test_party_timeline_follows_one_party():
    facts = ongoing(CLAIMED, DENIED, UPHELD, responsible=("west",))
    assert [(t.to_status, t.at) for t in E.party_timeline(facts, "east", utc(2022, 1, 1))] == [
        (V.VIOLATED, utc(2021, 3, 1)),
        (V.DISPUTED, utc(2021, 3, 2)),
        (V.VIOLATED, utc(2021, 6, 1)),
    ]
    assert [t.to_status for t in E.party_timeline(facts, "west", utc(2022, 1, 1))] == [
        V.IN_FORCE
    ]


# --- the term's status from the standings ---------------------------------------------


def test_the_term_status_is_the_first_standing_in_rules_order_on_random_facts():
    """docs/method.md section 3, on random terms: wherever every party a counting report
    names has a standing, `term_status(standings)` is what `assess` says."""
    import random

    rng = random.Random(20)
    parties = ["east", "west", "guarantor"]
    checked = 0
    for _ in range(300):
        kind = rng.choice([V.DEADLINE, V.ONGOING, V.OPEN])
        responsible = frozenset(rng.sample(parties, rng.randint(1, 2)))
        reports = []
        for i in range(rng.randint(0, 5)):
            claim = rng.choice(sorted(V.CLAIMS_BY_KIND[kind]))
            contests = rng.choice(reports).id if reports and rng.random() < 0.4 else None
            actors = frozenset(rng.sample(parties, 1)) if rng.random() < 0.4 else frozenset()
            reports.append(E.ReportFact(
                claim, utc(2021, 1, 1) + timedelta(days=rng.randint(0, 900)), id=i + 1,
                actors=actors, contests=contests, finding=rng.random() < 0.15,
            ))
        endings = (
            (E.EndingFact(rng.choice([V.SUPERSEDED, V.TERMINATED]),
                          utc(2021, 1, 1) + timedelta(days=rng.randint(0, 900))),)
            if rng.random() < 0.2 else ()
        )
        facts = E.Facts(
            kind=kind, zone=BAKU, effective_at=EFFECTIVE, responsible=responsible,
            original_due_date=date(2021, 6, 1) if kind == V.DEADLINE else None,
            reports=tuple(reports), endings=endings, text_dispute=rng.random() < 0.05,
        )
        for at in (utc(2021, 3, 1), utc(2022, 1, 1), utc(2023, 9, 1)):
            standing = E.standings(facts, at)
            named = {a for r in reports if r.occurred_at <= at for a in r.actors}
            if not named <= set(standing):
                continue  # a party named only in a completion or progress report
            checked += 1
            assert E.term_status(standing.values()) == E.assess(facts, at).status, (facts, at)
    assert checked > 500
