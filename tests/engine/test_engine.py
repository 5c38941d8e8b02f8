"""The pure engine: table-driven, at exact instants, in a fixed-offset and a DST zone."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from deadlines import engine as E
from tracker import vocabulary as V

BAKU = ZoneInfo("Asia/Baku")  # UTC+4, no DST since 2016
NEW_YORK = ZoneInfo("America/New_York")  # DST: -4 in summer, -5 in winter
EFFECTIVE = datetime(2020, 11, 9, 21, tzinfo=UTC)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def deadline(due: date, *, zone=BAKU, changes=(), reports=(), warning_days=3, effective=EFFECTIVE):
    return E.Facts(
        kind=V.DEADLINE,
        zone=zone,
        effective_at=effective,
        warning_days=warning_days,
        original_due_date=due,
        changes=tuple(changes),
        reports=tuple(reports),
    )


AGHDAM = deadline(date(2020, 11, 20))  # due_at 2020-11-21T00:00+04:00 = 2020-11-20T20:00Z


@pytest.mark.parametrize(
    ("at", "status"),
    [
        (utc(2020, 11, 10), V.PENDING),
        (utc(2020, 11, 17, 19, 59, 59), V.PENDING),  # window opens 18 Nov 00:00 local
        (utc(2020, 11, 17, 20), V.DUE_SOON),
        (utc(2020, 11, 20, 19, 59, 59), V.DUE_SOON),  # last second of 20 Nov in Baku
        (utc(2020, 11, 20, 20), V.OVERDUE),  # 21 Nov 00:00 local: "by 20 November" missed
        (utc(2021, 1, 1), V.OVERDUE),
    ],
)
def test_deadline_boundaries_in_a_utc_plus_4_zone(at, status):
    assert E.assess(AGHDAM, at).status == status


def test_due_instant_is_local_midnight_after_the_due_date():
    assert E.due_instant(date(2020, 11, 20), BAKU) == datetime.fromisoformat(
        "2020-11-21T00:00:00+04:00"
    )


@pytest.mark.parametrize(
    ("due", "expected_due_at"),
    [
        # 7 Nov 2021 is the day US clocks fall back: the day after starts at -05:00.
        (date(2021, 11, 6), "2021-11-07T00:00:00-04:00"),
        (date(2021, 11, 7), "2021-11-08T00:00:00-05:00"),
        # 14 Mar 2021 springs forward at 02:00: midnight before it is still -05:00.
        (date(2021, 3, 13), "2021-03-14T00:00:00-05:00"),
        (date(2021, 3, 14), "2021-03-15T00:00:00-04:00"),
    ],
)
def test_due_instant_across_daylight_saving_changes(due, expected_due_at):
    assert E.due_instant(due, NEW_YORK) == datetime.fromisoformat(expected_due_at)


def test_deadline_boundaries_in_a_dst_zone():
    facts = deadline(date(2021, 11, 7), zone=NEW_YORK, effective=utc(2021, 1, 1))
    due_at = datetime.fromisoformat("2021-11-08T00:00:00-05:00")  # 05:00Z
    # The warning window opens at local midnight three days earlier, still in EDT (-4).
    soon = datetime.fromisoformat("2021-11-05T00:00:00-04:00")
    assert E.assess(facts, soon - timedelta(seconds=1)).status == V.PENDING
    assert E.assess(facts, soon).status == V.DUE_SOON
    assert E.assess(facts, due_at - timedelta(microseconds=1)).status == V.DUE_SOON
    assert E.assess(facts, due_at).status == V.OVERDUE
    assert E.assess(facts, due_at).status_since == due_at


def test_midnight_skipped_by_dst_starts_the_day_at_the_jump():
    # Chile springs forward at 00:00 -> 01:00 (e.g. 2022-09-11): the day starts at 01:00.
    santiago = ZoneInfo("America/Santiago")
    start = E.local_midnight(date(2022, 9, 11), santiago)
    assert start.astimezone(santiago).hour == 1
    assert (start - timedelta(seconds=1)).astimezone(santiago).date() == date(2022, 9, 10)


KALBAJAR = deadline(
    date(2020, 11, 15),
    changes=[E.DeadlineChangeFact(date(2020, 11, 25), utc(2020, 11, 15, 8), id=1)],
)


@pytest.mark.parametrize(
    ("at", "status", "due"),
    [
        (utc(2020, 11, 14), V.DUE_SOON, date(2020, 11, 15)),
        (utc(2020, 11, 15, 7, 59), V.DUE_SOON, date(2020, 11, 15)),
        (utc(2020, 11, 15, 8), V.PENDING, date(2020, 11, 25)),  # change holds from agreed_at
        (utc(2020, 11, 16), V.PENDING, date(2020, 11, 25)),
        (utc(2020, 11, 23), V.DUE_SOON, date(2020, 11, 25)),
        (utc(2020, 11, 26), V.OVERDUE, date(2020, 11, 25)),
    ],
)
def test_deadline_change_holds_only_from_its_agreed_at(at, status, due):
    a = E.assess(KALBAJAR, at)
    assert (a.status, a.due_date) == (status, due)


def test_completion_on_the_amended_deadline_is_on_time():
    facts = deadline(
        date(2020, 11, 15),
        changes=KALBAJAR.changes,
        reports=[E.ReportFact(V.CLAIM_COMPLETED, utc(2020, 11, 24, 20), id=7)],  # 25 Nov local
    )
    a = E.assess(facts, utc(2021, 1, 1))
    assert a.status == V.COMPLETED
    assert a.status_since == utc(2020, 11, 24, 20)
    assert a.report.id == 7
    assert a.days_overdue is None and a.days_remaining is None


def test_completion_after_the_deadline_is_late_and_overdue_before_it():
    facts = deadline(
        date(2022, 8, 25), reports=[E.ReportFact(V.CLAIM_COMPLETED, utc(2022, 8, 26, 6))]
    )
    assert E.assess(facts, utc(2022, 8, 25, 19, 59)).status == V.DUE_SOON
    assert E.assess(facts, utc(2022, 8, 25, 20, 30)).status == V.OVERDUE  # 26 Aug local
    assert E.assess(facts, utc(2022, 8, 26, 6)).status == V.COMPLETED_LATE


def test_a_change_agreed_after_completion_does_not_excuse_lateness():
    facts = deadline(
        date(2021, 1, 10),
        changes=[E.DeadlineChangeFact(date(2021, 2, 1), utc(2021, 1, 20), id=1)],
        reports=[E.ReportFact(V.CLAIM_COMPLETED, utc(2021, 1, 15))],
    )
    assert E.assess(facts, utc(2021, 3, 1)).status == V.COMPLETED_LATE


def test_report_counts_only_from_when_it_occurred():
    facts = deadline(
        date(2020, 11, 20), reports=[E.ReportFact(V.CLAIM_COMPLETED, utc(2020, 11, 19, 20))]
    )
    assert E.assess(facts, utc(2020, 11, 19, 19)).status == V.DUE_SOON
    assert E.assess(facts, utc(2020, 11, 19, 20)).status == V.COMPLETED


def test_days_remaining_and_overdue_count_local_days():
    assert E.assess(AGHDAM, utc(2020, 11, 17, 21)).days_remaining == 2  # 18 Nov local
    assert E.assess(AGHDAM, utc(2020, 11, 20, 20)).days_overdue == 1  # 21 Nov local
    assert E.assess(AGHDAM, utc(2020, 11, 30, 12)).days_overdue == 10


def test_zero_warning_days_means_no_due_soon():
    facts = deadline(date(2020, 11, 20), warning_days=0)
    statuses = {t.to_status for t in E.timeline(facts, utc(2021, 1, 1))}
    assert statuses == {V.PENDING, V.OVERDUE}


# --- ongoing ------------------------------------------------------------------------

PEACEKEEPERS = E.Facts(
    kind=V.ONGOING,
    zone=BAKU,
    effective_at=EFFECTIVE,
    starts_at=EFFECTIVE,
    term=E.Term(years=5, renews_years=5, notice_months=6),
)


def test_renewable_term_exposes_end_and_notice_deadline():
    a = E.assess(PEACEKEEPERS, utc(2021, 6, 1))
    assert a.status == V.IN_FORCE
    assert a.term_ends_at.astimezone(BAKU).date() == date(2025, 11, 10)
    assert a.notice_deadline.astimezone(BAKU).date() == date(2025, 5, 10)


def test_renewable_term_renews_automatically():
    a = E.assess(PEACEKEEPERS, utc(2026, 1, 1))
    assert a.status == V.IN_FORCE
    assert a.term_ends_at.astimezone(BAKU).date() == date(2030, 11, 10)
    assert a.notice_deadline.astimezone(BAKU).date() == date(2030, 5, 10)


def test_non_renewable_term_terminates_at_its_end():
    facts = E.Facts(
        kind=V.ONGOING, zone=BAKU, effective_at=EFFECTIVE, starts_at=EFFECTIVE, term=E.Term(3)
    )
    end = datetime.fromisoformat("2023-11-10T01:00:00+04:00")
    assert E.assess(facts, end - timedelta(seconds=1)).status == V.IN_FORCE
    assert E.assess(facts, end).status == V.TERMINATED


def test_ongoing_pending_before_start_and_termination_report_wins():
    facts = E.Facts(
        kind=V.ONGOING,
        zone=BAKU,
        effective_at=EFFECTIVE,
        starts_at=utc(2021, 1, 30),
        reports=(E.ReportFact(V.CLAIM_TERMINATED, utc(2024, 4, 26), id=3),),
    )
    assert E.assess(facts, utc(2021, 1, 1)).status == V.PENDING
    assert E.assess(facts, utc(2022, 1, 1)).status == V.IN_FORCE
    a = E.assess(facts, utc(2024, 5, 1))
    assert (a.status, a.status_since, a.report.id) == (V.TERMINATED, utc(2024, 4, 26), 3)


def test_violation_spans_and_status_since_after_it_ends():
    facts = E.Facts(
        kind=V.ONGOING,
        zone=BAKU,
        effective_at=EFFECTIVE,
        reports=(
            E.ReportFact(V.CLAIM_VIOLATION, utc(2022, 12, 12), id=1),
            E.ReportFact(V.CLAIM_VIOLATION, utc(2023, 4, 23), id=2),  # still the same span
            E.ReportFact(V.CLAIM_VIOLATION_ENDED, utc(2023, 9, 30), id=3),
        ),
    )
    assert E.assess(facts, utc(2022, 12, 11)).status == V.IN_FORCE
    a = E.assess(facts, utc(2023, 5, 1))
    assert (a.status, a.status_since, a.report.id) == (V.VIOLATED, utc(2022, 12, 12), 1)
    b = E.assess(facts, utc(2024, 1, 1))
    assert (b.status, b.status_since) == (V.IN_FORCE, utc(2023, 9, 30))
    assert [t.to_status for t in E.timeline(facts, utc(2024, 1, 1))] == [
        V.IN_FORCE, V.VIOLATED, V.IN_FORCE,
    ]


def test_every_transition_a_report_caused_names_it():
    facts = E.Facts(
        kind=V.ONGOING,
        zone=BAKU,
        effective_at=EFFECTIVE,
        reports=(
            E.ReportFact(V.CLAIM_VIOLATION, utc(2022, 12, 12), id=1),
            E.ReportFact(V.CLAIM_VIOLATION_ENDED, utc(2023, 9, 30), id=3),
        ),
    )
    start, violated, ended = E.timeline(facts, utc(2024, 1, 1))
    assert start.report is None  # entry into force: no report caused it
    assert (violated.to_status, violated.report.id) == (V.VIOLATED, 1)
    # Back in force rests on no report, but the ending report caused the change.
    assert (ended.to_status, ended.report.id) == (V.IN_FORCE, 3)


# --- open ---------------------------------------------------------------------------


def test_open_kind_moves_through_progress_to_completion():
    facts = E.Facts(
        kind=V.OPEN,
        zone=BAKU,
        effective_at=EFFECTIVE,
        reports=(
            E.ReportFact(V.CLAIM_PROGRESS, utc(2020, 12, 14)),
            E.ReportFact(V.CLAIM_COMPLETED, utc(2024, 1, 1)),
        ),
    )
    assert E.assess(facts, utc(2020, 12, 1)).status == V.PENDING
    assert E.assess(facts, utc(2021, 1, 1)).status == V.IN_PROGRESS
    assert E.assess(facts, utc(2024, 1, 2)).status == V.COMPLETED


# --- invariants ---------------------------------------------------------------------


def test_assess_agrees_with_timeline_at_every_hour():
    facts = deadline(
        date(2020, 11, 15),
        changes=KALBAJAR.changes,
        reports=[E.ReportFact(V.CLAIM_COMPLETED, utc(2020, 11, 24, 20))],
    )
    history = E.timeline(facts, utc(2020, 12, 1))
    at = EFFECTIVE
    while at < utc(2020, 12, 1):
        expected = [t for t in history if t.at <= at][-1]
        a = E.assess(facts, at)
        assert (a.status, a.status_since) == (expected.to_status, expected.at), at
        at += timedelta(hours=1)


def test_next_change_is_the_next_threshold():
    a = E.assess(AGHDAM, utc(2020, 11, 10))
    assert a.next_change_at == utc(2020, 11, 17, 20)
    assert E.assess(AGHDAM, a.next_change_at).next_change_at == utc(2020, 11, 20, 20)
    assert E.assess(AGHDAM, utc(2020, 11, 21)).next_change_at is None


def test_before_entry_into_force_is_pending_with_no_history():
    a = E.assess(AGHDAM, utc(2020, 11, 1))
    assert (a.status, a.status_since) == (V.PENDING, None)
