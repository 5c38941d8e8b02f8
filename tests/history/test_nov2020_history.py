"""Replay the November 2020 statement from its signing to today (issue 3, "What must hold").

The agreement file is loaded through the real loader (`nov2020` fixture), then the
history in ../shared/reference/nov-2020-statement.md is walked twice:

* with the pure engine (`engine.assess` of each term at each instant), and
* with the sweep (`sweep.run(at=T)`, then the stored `status` is read back),

and the two must say the same at every checkpoint. The sweep's stored StatusEvents
must equal the replayed `engine.timeline`, and `sweep --as-of` must move every row
back to 2020 after today's statuses were stored, and forward again.

Instants are exact: Asia/Baku is UTC+4 throughout, so "by 20 November" ends at
2020-11-20T20:00:00Z and a report dated 20 November counts from 2020-11-19T20:00:00Z.
"""

from __future__ import annotations

import io
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.core.management import call_command
from django.utils import timezone

from deadlines import engine, sweep
from deadlines.facts import facts_of, with_facts
from tracker import vocabulary as V
from tracker.models import Agreement, Obligation, Report, StatusEvent

BAKU = ZoneInfo("Asia/Baku")
SECOND = timedelta(seconds=1)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def baku(*args: int) -> datetime:
    """A wall-clock instant in Baku (UTC+4), as an aware datetime."""
    return datetime(*args, tzinfo=BAKU)


# (instant, obligation slug, status the history says it had then, why).
# Sorted by instant; the sweep walk visits them in this order.
CHECKPOINTS: list[tuple[datetime, str, str, str]] = [
    (utc(2020, 11, 9, 21), "ceasefire", V.IN_FORCE, "ceasefire from 00:00 Moscow time"),
    (utc(2020, 11, 9, 21), "kalbajar-return", V.PENDING, "signed; Kalbajar due 15 Nov"),
    (utc(2020, 11, 9, 21), "refugee-return", V.PENDING, "nothing reported yet"),
    (baku(2020, 11, 13, 0) - SECOND, "kalbajar-return", V.PENDING, "before the warning window"),
    (baku(2020, 11, 13, 0), "kalbajar-return", V.DUE_SOON, "3-day window of 15 Nov opens"),
    (baku(2020, 11, 13, 12), "prisoner-exchange", V.PENDING, "before the first bodies"),
    (baku(2020, 11, 13, 12), "refugee-return", V.PENDING, "before the escorted returns"),
    (baku(2020, 11, 14, 12), "kalbajar-return", V.DUE_SOON, "14 Nov: due on the 15th"),
    (baku(2020, 11, 14, 12), "prisoner-exchange", V.IN_PROGRESS, "bodies exchanged 14 Nov"),
    (baku(2020, 11, 14, 12), "refugee-return", V.IN_PROGRESS, "returns escorted from 14 Nov"),
    # The change to 25 Nov is dated 15 Nov (00:00 Baku): from then Kalbajar is pending.
    (baku(2020, 11, 15, 0) - SECOND, "kalbajar-return", V.DUE_SOON, "last second of 14 Nov"),
    (baku(2020, 11, 15, 0), "kalbajar-return", V.PENDING, "moved to 25 Nov on 15 Nov"),
    (baku(2020, 11, 16, 12), "kalbajar-return", V.PENDING, "16 Nov: due on the 25th"),
    (baku(2020, 11, 18, 0) - SECOND, "aghdam-return", V.PENDING, "before Aghdam's window"),
    (baku(2020, 11, 18, 0), "aghdam-return", V.DUE_SOON, "Aghdam's window opens"),
    # Gazakh is contested text (only in unsigned variants): disputed from the start,
    # never due soon, never overdue, never anyone's breach.
    (baku(2020, 11, 18, 0), "gazakh-return", V.DISPUTED, "contested text, not due soon"),
    (baku(2020, 11, 20, 0) - SECOND, "aghdam-return", V.DUE_SOON, "before the army enters"),
    (baku(2020, 11, 20, 0), "aghdam-return", V.COMPLETED, "army enters Aghdam on 20 Nov"),
    (utc(2020, 11, 20, 20) - SECOND, "aghdam-return", V.COMPLETED, "1 s before due"),
    (utc(2020, 11, 20, 20) - SECOND, "gazakh-return", V.DISPUTED, "1 s before due"),
    (utc(2020, 11, 20, 20), "gazakh-return", V.DISPUTED, "due instant: not overdue"),
    (utc(2020, 11, 20, 20), "aghdam-return", V.COMPLETED, "met on 20 Nov"),
    (baku(2020, 11, 21, 12), "aghdam-return", V.COMPLETED, "21 Nov"),
    (baku(2020, 11, 21, 12), "gazakh-return", V.DISPUTED, "21 Nov"),
    (baku(2020, 11, 23, 0), "kalbajar-return", V.DUE_SOON, "window of the new date opens"),
    (baku(2020, 11, 25, 0), "kalbajar-return", V.COMPLETED, "army enters on 25 Nov"),
    (baku(2020, 11, 26, 12), "kalbajar-return", V.COMPLETED, "met on the amended deadline"),
    (baku(2020, 11, 30, 12), "lachin-district-return", V.DUE_SOON, "due 1 Dec"),
    (baku(2020, 12, 2, 12), "lachin-district-return", V.COMPLETED, "army enters 1 Dec"),
    (baku(2020, 12, 10, 12), "ceasefire", V.IN_FORCE, "before the Hadrut operation"),
    (baku(2020, 12, 12, 12), "ceasefire", V.VIOLATED, "Hin Tagher / Khtsaberd, 11-13 Dec"),
    (baku(2020, 12, 13, 12), "prisoner-exchange", V.IN_PROGRESS, "bodies since 14 Nov"),
    (baku(2020, 12, 14, 0) - SECOND, "ceasefire", V.VIOLATED, "last second of 13 Dec"),
    (baku(2020, 12, 14, 0), "ceasefire", V.IN_FORCE, "fighting over by 13 Dec"),
    (baku(2020, 12, 15, 12), "prisoner-exchange", V.IN_PROGRESS, "first exchange 14 Dec"),
    (baku(2021, 1, 10, 12), "transport-links-unblocking", V.PENDING, "before Moscow, 11 Jan"),
    (baku(2021, 1, 12, 12), "transport-links-unblocking", V.IN_PROGRESS, "working group"),
    (baku(2021, 1, 29, 12), "monitoring-centre", V.IN_PROGRESS, "memorandum 11 Nov 2020"),
    (baku(2021, 1, 29, 12), "monitoring-centre-operation", V.PENDING, "not open yet"),
    (baku(2021, 1, 31, 12), "monitoring-centre", V.COMPLETED, "opened 30 Jan 2021"),
    (baku(2021, 1, 31, 12), "monitoring-centre-operation", V.IN_FORCE, "opened 30 Jan 2021"),
    (baku(2021, 6, 1, 12), "peacekeepers-term", V.IN_FORCE, "first five-year term"),
    (baku(2021, 8, 10, 12), "armenian-forces-withdrawal", V.IN_FORCE, "before the charge"),
    (baku(2021, 8, 11, 12), "armenian-forces-withdrawal", V.DISPUTED, "charged and denied"),
    (baku(2022, 3, 23, 12), "ceasefire", V.IN_FORCE, "before Farukh/Parukh"),
    (baku(2022, 3, 24, 12), "ceasefire", V.VIOLATED, "Russian MoD: Farukh/Parukh, 24-25 Mar"),
    (baku(2022, 3, 26, 0) - SECOND, "ceasefire", V.VIOLATED, "before Baku's denial"),
    (baku(2022, 3, 26, 0), "ceasefire", V.DISPUTED, "Azerbaijan's MoD denies the breach"),
    (baku(2022, 4, 1, 12), "ceasefire", V.IN_FORCE, "incident over 28 Mar, its dispute too"),
    (baku(2022, 8, 2, 12), "ceasefire", V.VIOLATED, "Girkhgiz/Saribaba, 1-3 Aug 2022"),
    (baku(2022, 8, 3, 12), "ceasefire", V.DISPUTED, "Baku's other account, 3 Aug"),
    (baku(2022, 8, 5, 12), "ceasefire", V.IN_FORCE, "the incident over, its dispute too"),
    (baku(2022, 8, 27, 12), "new-corridor-route", V.PENDING, "Lachin town handed over"),
    (baku(2022, 8, 30, 20) - SECOND, "new-corridor-route", V.PENDING, "before the new route"),
    (baku(2022, 8, 30, 20), "new-corridor-route", V.COMPLETED, "new route in use from 20:00"),
    (baku(2022, 12, 1, 12), "lachin-corridor-safe-passage", V.IN_FORCE, "before the blockade"),
    (baku(2022, 12, 12, 0), "lachin-corridor-safe-passage", V.VIOLATED, "blockade begins"),
    (baku(2023, 1, 1, 12), "lachin-corridor-safe-passage", V.VIOLATED, "blockade"),
    (baku(2023, 1, 1, 12), "lachin-corridor-control", V.IN_FORCE, "peacekeepers at post"),
    # Dukyanlar and height 2054.0: claimed by the Russian MoD and denied by Baku the
    # same day, so they never count as violations while no finding settles them.
    (baku(2023, 3, 5, 12), "ceasefire", V.DISPUTED, "Dukyanlar: two accounts"),
    (baku(2023, 3, 25, 12), "ceasefire", V.DISPUTED, "height 2054.0: claimed and denied"),
    (baku(2023, 3, 31, 12), "new-corridor-route", V.COMPLETED, "permanent road ~30 Mar 2023"),
    (baku(2023, 4, 24, 12), "lachin-corridor-control", V.VIOLATED, "Hakari checkpoint"),
    (baku(2023, 4, 24, 12), "lachin-corridor-safe-passage", V.VIOLATED, "still blocked"),
    (baku(2023, 9, 19, 13) - SECOND, "ceasefire", V.IN_FORCE, "before the offensive"),
    (baku(2023, 9, 19, 13), "ceasefire", V.VIOLATED, "offensive from ~13:00"),
    (baku(2023, 9, 20, 13) - SECOND, "ceasefire", V.VIOLATED, "until the 13:00 ceasefire"),
    (baku(2023, 9, 20, 13), "ceasefire", V.IN_FORCE, "ceasefire of 20 Sep 13:00"),
    (baku(2023, 9, 28, 0) - SECOND, "ceasefire", V.IN_FORCE, "before the dissolution decree"),
    (baku(2023, 9, 28, 0), "ceasefire", V.OVERTAKEN, "no line of contact left"),
    (baku(2023, 10, 2, 12), "lachin-corridor-safe-passage", V.OVERTAKEN, "exodus"),
    (baku(2023, 10, 2, 12), "lachin-corridor-control", V.OVERTAKEN, "exodus"),
    (baku(2023, 10, 2, 12), "refugee-return", V.OVERTAKEN, "exodus: no return under UNHCR"),
    (baku(2023, 10, 2, 12), "armenian-forces-withdrawal", V.OVERTAKEN, "forces disband"),
    (baku(2023, 12, 14, 12), "prisoner-exchange", V.IN_PROGRESS, "32 for 2, 13 Dec 2023"),
    (baku(2024, 4, 17, 0) - SECOND, "peacekeepers-term", V.IN_FORCE, "before the withdrawal"),
    (baku(2024, 4, 17, 0), "peacekeepers-term", V.TERMINATED, "ended early: withdrawal begins"),
    (baku(2024, 4, 27, 12), "monitoring-centre-operation", V.TERMINATED, "closed 26 Apr"),
    (baku(2024, 7, 1, 12), "peacekeepers-term", V.TERMINATED, "July 2024"),
    (baku(2024, 7, 1, 12), "gazakh-return", V.DISPUTED, "4 villages under other protocols"),
    (baku(2025, 8, 7, 12), "nakhchivan-link-guarantee", V.PENDING, "link never opened"),
    (baku(2025, 8, 9, 12), "nakhchivan-link-guarantee", V.IN_PROGRESS, "Washington"),
]


def _by_slug(agreement: Agreement, at: datetime) -> dict[str, engine.Assessment]:
    rows = list(with_facts(Obligation.objects.filter(agreement=agreement)))
    return {o.slug: engine.assess(facts_of(o), at) for o in rows}


def _stored(agreement: Agreement) -> dict[str, str]:
    return dict(Obligation.objects.filter(agreement=agreement).values_list("slug", "status"))


def _transitions(
    obligation: Obligation, until: datetime
) -> list[tuple[str, str, datetime, int | None]]:
    """The replayed timeline: (from, to, at, id of the report that caused it)."""
    return [
        (t.from_status, t.to_status, t.at, t.report.id if t.report else None)
        for t in engine.timeline(facts_of(obligation), until)
    ]


def _events(obligation: Obligation) -> list[tuple[str, str, datetime, int | None]]:
    return list(
        StatusEvent.current.filter(obligation=obligation)
        .exclude(cause="correction")
        .order_by("effective_at", "id")
        .values_list("from_status", "to_status", "effective_at", "report_id")
    )


def test_checkpoints_are_in_time_order():
    instants = [at for at, _, _, _ in CHECKPOINTS]
    assert instants == sorted(instants)


def test_the_file_loads_every_point_of_the_statement(nov2020):
    slugs = set(Obligation.objects.filter(agreement=nov2020).values_list("slug", flat=True))
    assert {slug for _, slug, _, _ in CHECKPOINTS} <= slugs
    clauses = set(
        Obligation.objects.filter(agreement=nov2020).values_list("clause__number", flat=True)
    )
    assert clauses == {str(n) for n in range(1, 10)}


def test_engine_replays_the_history(nov2020):
    """Every checkpoint at once (one load of the file); all mismatches are listed."""
    wrong = []
    for at, slug, expected, why in CHECKPOINTS:
        status = _by_slug(nov2020, at)[slug].status
        if status != expected:
            wrong.append(f"{slug} at {at.isoformat()}: {status}, expected {expected} ({why})")
    assert wrong == []


def test_kalbajar_deadline_moves_from_15_to_25_november(nov2020):
    before = _by_slug(nov2020, baku(2020, 11, 14, 12))["kalbajar-return"]
    assert before.due_date == date(2020, 11, 15)
    assert before.due_at == utc(2020, 11, 15, 20)
    assert before.days_remaining == 1

    after = _by_slug(nov2020, baku(2020, 11, 16, 12))["kalbajar-return"]
    assert (after.status, after.due_date) == (V.PENDING, date(2020, 11, 25))
    assert after.due_at == utc(2020, 11, 25, 20)
    assert after.days_remaining == 9

    met = _by_slug(nov2020, baku(2020, 11, 26, 12))["kalbajar-return"]
    # On time against the deadline in force when it happened (25 Nov), not the first one.
    assert met.status == V.COMPLETED
    assert met.report is not None and met.report.claim == V.CLAIM_COMPLETED
    # The stored deadline is the one in force now (DESIGN.md).
    row = Obligation.objects.get(agreement=nov2020, slug="kalbajar-return")
    assert (row.original_due_date, row.due_date) == (date(2020, 11, 15), date(2020, 11, 25))
    assert row.due_at == utc(2020, 11, 25, 20)


def test_aghdam_due_instant_is_midnight_baku_after_20_november(nov2020):
    at = _by_slug(nov2020, utc(2020, 11, 20, 20))
    assert at["aghdam-return"].due_at == utc(2020, 11, 20, 20)
    assert at["gazakh-return"].due_at == utc(2020, 11, 20, 20)
    # Counted in local days: on 21 November Aghdam's date has passed. Gazakh shares it,
    # but it is contested text: disputed, never overdue, no days counted against it.
    gazakh = at["gazakh-return"]
    assert (gazakh.status, gazakh.disputed_reason, gazakh.days_overdue) == (
        V.DISPUTED, "text", None,
    )
    assert _by_slug(nov2020, baku(2021, 11, 20, 12))["gazakh-return"].days_overdue is None


def test_peacekeeping_term_ends_november_2025_with_notice_by_may_2025(nov2020):
    a = _by_slug(nov2020, baku(2021, 6, 1, 12))["peacekeepers-term"]
    assert a.status == V.IN_FORCE
    # Five years from 00:00 Moscow time on 10 Nov 2020 (01:00 in Baku).
    assert a.term_ends_at == utc(2025, 11, 9, 21)
    assert a.term_ends_at.astimezone(BAKU).date() == date(2025, 11, 10)
    assert a.notice_deadline == utc(2025, 5, 9, 21)
    assert a.notice_deadline.astimezone(BAKU).date() == date(2025, 5, 10)

    # Ended early, by the parties' decision, when the withdrawal began (17 April 2024);
    # not through the notice mechanism.
    ended = _by_slug(nov2020, baku(2024, 7, 1, 12))["peacekeepers-term"]
    assert ended.status == V.TERMINATED
    assert ended.status_since == baku(2024, 4, 17, 0)
    assert ended.report is not None and ended.report.claim == V.CLAIM_TERMINATED
    # A terminated term has no end or notice date left to show.
    assert ended.term_ends_at is None and ended.notice_deadline is None


def test_corridor_guarantee_violated_from_the_blockade_until_it_lost_its_object(nov2020):
    slug = "lachin-corridor-safe-passage"
    assert _by_slug(nov2020, baku(2022, 12, 1, 12))[slug].status == V.IN_FORCE
    blocked = _by_slug(nov2020, baku(2023, 1, 1, 12))[slug]
    assert blocked.status == V.VIOLATED
    # Later violations (Hakari checkpoint) keep the blockade's start as status_since.
    assert _by_slug(nov2020, baku(2023, 6, 20, 12))[slug].status_since == baku(2022, 12, 12)
    obligation = Obligation.objects.get(agreement=nov2020, slug=slug)
    assert [t[1] for t in _transitions(obligation, timezone.now())] == [
        V.IN_FORCE, V.VIOLATED, V.OVERTAKEN,
    ]


def test_ceasefire_history_has_only_the_pk_zone_violations(nov2020):
    ceasefire = Obligation.objects.get(agreement=nov2020, slug="ceasefire")
    violated_from = [
        at for _, to, at, _ in _transitions(ceasefire, timezone.now()) if to == V.VIOLATED
    ]
    # Dukyanlar (5 Mar 2023) and height 2054.0 (25 Mar 2023) were denied by Baku the
    # day they were claimed: disputed, never counted as violations.
    assert violated_from == [
        baku(2020, 12, 11),
        baku(2022, 3, 24),
        baku(2022, 8, 1),
        baku(2023, 9, 19, 13),
    ]
    # Border incidents (outside point 1's zone) are context, not violations.
    assert _by_slug(nov2020, baku(2021, 5, 27, 12))["ceasefire"].status == V.IN_FORCE
    assert _by_slug(nov2020, baku(2021, 11, 16, 12))["ceasefire"].status == V.IN_FORCE
    # A denied incident's dispute lasts as long as the incident: by the border clashes
    # of September 2022 the term is in force again.
    assert _by_slug(nov2020, baku(2022, 3, 26, 12))["ceasefire"].status == V.DISPUTED
    assert _by_slug(nov2020, baku(2022, 9, 13, 12))["ceasefire"].status == V.IN_FORCE
    assert _by_slug(nov2020, timezone.now())["ceasefire"].status == V.OVERTAKEN


def test_today_what_is_still_open(nov2020):
    now = _by_slug(nov2020, timezone.now())
    assert now["nakhchivan-link-guarantee"].status == V.IN_PROGRESS
    # Washington, Aug 2025: the agreement on a route is confirmed, its operation is not.
    assert not now["nakhchivan-link-guarantee"].unconfirmed
    # Superseded by the Washington declaration of 2025, whose file is not loaded here
    # (see test_today_with_the_whole_chain_loaded).
    assert now["nakhchivan-link-fsb-control"].status == V.PENDING
    assert now["gazakh-return"].status == V.DISPUTED  # contested text
    # Returns happened (escorted by the peacekeepers from 14 Nov 2020, Azerbaijan's own
    # programme from 19 Jul 2022), none under UNHCR; the exodus of September 2023
    # overtook the point's premise.
    assert now["refugee-return"].status == V.OVERTAKEN
    assert now["armenian-forces-withdrawal"].status == V.OVERTAKEN
    assert {now[s].status for s in now if s != "nakhchivan-link-fsb-control"}.isdisjoint(
        {V.IN_FORCE, V.PENDING}
    )


def test_today_with_the_whole_chain_loaded(all_agreements):
    """Issue 16: with every agreement file loaded, no 2020 term reads in force or pending
    on 4 December 2026, and each says how it ended or stands."""
    nov2020 = all_agreements["nov-2020-trilateral"]
    now = _by_slug(nov2020, baku(2026, 12, 4, 12))
    assert {slug: a.status for slug, a in now.items()} == {
        "ceasefire": V.OVERTAKEN,
        "aghdam-return": V.COMPLETED,
        "gazakh-return": V.DISPUTED,
        "peacekeepers-deployment": V.COMPLETED,
        "peacekeepers-term": V.TERMINATED,
        "armenian-forces-withdrawal": V.OVERTAKEN,
        "monitoring-centre": V.COMPLETED,
        "monitoring-centre-operation": V.TERMINATED,
        "kalbajar-return": V.COMPLETED,
        "lachin-district-return": V.COMPLETED,
        "lachin-corridor-control": V.OVERTAKEN,
        "lachin-corridor-safe-passage": V.OVERTAKEN,
        "new-corridor-route": V.COMPLETED,
        "refugee-return": V.OVERTAKEN,
        "prisoner-exchange": V.IN_PROGRESS,
        "transport-links-unblocking": V.IN_PROGRESS,
        "nakhchivan-link-guarantee": V.IN_PROGRESS,
        "nakhchivan-link-fsb-control": V.SUPERSEDED,
    }
    fsb = now["nakhchivan-link-fsb-control"]
    assert fsb.ending is not None and fsb.ending.replacement == (
        "aug-2025-washington-declaration/tripp-route"
    )
    before = _by_slug(nov2020, baku(2025, 8, 7, 12))["nakhchivan-link-fsb-control"]
    assert before.status == V.PENDING
    assert now["prisoner-exchange"].status == V.IN_PROGRESS
    assert now["transport-links-unblocking"].status == V.IN_PROGRESS
    assert {now[s].status for s in ("aghdam-return", "kalbajar-return",
                                    "lachin-district-return", "new-corridor-route")} == {
        V.COMPLETED
    }


def test_sweep_walking_forward_stores_what_the_engine_says(nov2020):
    """Sweep at each checkpoint in turn; the stored status of EVERY obligation must be
    the engine's at that instant, and the checkpoint's own expectation must hold."""
    for at, slug, expected, why in CHECKPOINTS:
        result = sweep.run(at=at)
        assert result.failed == 0
        stored = _stored(nov2020)
        assert stored[slug] == expected, f"{slug} at {at.isoformat()} ({why})"
        assert _stored_explanations(nov2020) == _engine_explanations(nov2020, at), (
            f"sweep and engine differ at {at.isoformat()}"
        )
    sweep.run(at=timezone.now())
    now = timezone.now()
    assert _stored(nov2020) == {s: a.status for s, a in _by_slug(nov2020, now).items()}


def _stored_explanations(agreement: Agreement) -> dict[str, tuple]:
    return {
        slug: (status, since, due_date, due_at)
        for slug, status, since, due_date, due_at in Obligation.objects.filter(
            agreement=agreement
        ).values_list("slug", "status", "status_since", "due_date", "due_at")
    }


def _engine_explanations(agreement: Agreement, at: datetime) -> dict[str, tuple]:
    return {
        slug: (a.status, a.status_since, a.due_date, a.due_at)
        for slug, a in _by_slug(agreement, at).items()
    }


def test_stored_events_equal_the_replayed_timeline_after_one_sweep(nov2020):
    now = timezone.now()
    sweep.run(at=now)
    for obligation in with_facts(Obligation.objects.filter(agreement=nov2020)):
        assert _events(obligation) == _transitions(obligation, now), obligation.slug
    # Not only the status: since when, and the deadline in force, as the engine says.
    assert _stored_explanations(nov2020) == _engine_explanations(nov2020, now)


def test_reloading_the_file_after_a_sweep_rewrites_no_history(nov2020):
    from tests.conftest import NOV_2020
    from tracker.loader import load_agreement_file

    now = timezone.now()
    sweep.run(at=now)
    events = StatusEvent.objects.filter(obligation__agreement=nov2020).count()
    stored = _stored_explanations(nov2020)

    load_agreement_file(NOV_2020)
    sweep.run(at=timezone.now())
    assert StatusEvent.objects.filter(obligation__agreement=nov2020).count() == events
    assert _stored_explanations(nov2020) == stored


def test_stored_events_equal_the_replayed_timeline_after_a_forward_walk(nov2020):
    """Sweeps at successive instants record every transition once, each at the instant
    it became true in the world, whichever path (Python or SQL) handled the row."""
    for at in sorted({at for at, _, _, _ in CHECKPOINTS}):
        sweep.run(at=at)
    now = timezone.now()
    sweep.run(at=now)
    for obligation in with_facts(Obligation.objects.filter(agreement=nov2020)):
        assert _events(obligation) == _transitions(obligation, now), obligation.slug


def test_sweep_as_of_goes_back_to_2020_and_forward_again(nov2020):
    now = timezone.now()
    sweep.run(at=now)
    today = _stored(nov2020)
    assert today == {s: a.status for s, a in _by_slug(nov2020, now).items()}

    for at in (utc(2020, 11, 20, 20), baku(2020, 11, 14, 12), baku(2022, 3, 25, 12)):
        call_command("sweep", "--as-of", at.isoformat(), stdout=io.StringIO())
        back = _stored(nov2020)
        assert back == {s: a.status for s, a in _by_slug(nov2020, at).items()}, at
        assert _stored_explanations(nov2020) == _engine_explanations(nov2020, at), at
    assert _stored(nov2020)["ceasefire"] == V.VIOLATED  # 25 Mar 2022

    call_command("sweep", "--as-of", baku(2020, 11, 14, 12).isoformat(), stdout=io.StringIO())
    kalbajar = Obligation.objects.get(agreement=nov2020, slug="kalbajar-return")
    assert kalbajar.status == V.DUE_SOON

    sweep.run(at=now)
    assert _stored(nov2020) == today
    assert _stored_explanations(nov2020) == _engine_explanations(nov2020, now)


def test_sweep_as_of_walks_backwards_through_every_checkpoint_and_forward_again(nov2020):
    """From today's stored statuses, replay the checkpoints in reverse order, then in
    order: whatever was stored before, every row ends at its status at T. (Every other
    checkpoint, to keep the suite quick; the walk crosses every kind of transition.)"""
    instants = sorted({at for at, _, _, _ in CHECKPOINTS})[::2]
    sweep.run(at=timezone.now())
    for direction in (list(reversed(instants)), instants):
        for at in direction:
            assert sweep.run(at=at).failed == 0
            assert _stored_explanations(nov2020) == _engine_explanations(nov2020, at), at


def test_late_published_past_violation_appears_in_the_stored_history(nov2020):
    """Reports usually arrive after the fact. Publish the offensive of 19-20 September
    2023 (a violation and its end) only after today's statuses were stored: the
    ceasefire is overtaken today, but its history must now show the episode."""
    from tracker.services import facts_changed

    ceasefire = Obligation.objects.get(agreement=nov2020, slug="ceasefire")
    late = ceasefire.reports.filter(
        occurred_at__gte=baku(2023, 9, 19), occurred_at__lt=baku(2023, 9, 21)
    )
    assert late.count() == 2
    late_ids = list(late.values_list("pk", flat=True))
    late.update(review_state=V.DRAFT, published_at=None)

    now = timezone.now()
    sweep.run(at=now)
    assert baku(2023, 9, 19, 13) not in [t[2] for t in _transitions(ceasefire, now)]

    Report.objects.filter(pk__in=late_ids).update(review_state=V.PUBLISHED, published_at=now)
    facts_changed([ceasefire.pk])
    sweep.run(at=timezone.now())

    ceasefire.refresh_from_db()
    assert ceasefire.status == V.OVERTAKEN
    replayed = _transitions(ceasefire, timezone.now())
    assert (V.IN_FORCE, V.VIOLATED, baku(2023, 9, 19, 13)) in [t[:3] for t in replayed]
    assert _events(ceasefire) == replayed
