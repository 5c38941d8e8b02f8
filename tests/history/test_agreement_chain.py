"""The agreements that followed the 2020 statement, each loaded from its own file in
`make run`'s order, read back through the public API at past instants (`?as_of=`):
each file's key dated facts, as the reference and its sources give them."""

from __future__ import annotations

import pytest
from django.utils import timezone

from tracker import vocabulary as V

pytestmark = pytest.mark.django_db

OBL = "/api/v1/obligations/"


@pytest.fixture
def chain(all_agreements_swept):
    return all_agreements_swept


def _terms(client, agreement: str, **params) -> dict[str, dict]:
    r = client.get(OBL, {"agreement": agreement, "page_size": 500, **params})
    assert r.status_code == 200, r.content
    return {o["slug"]: o for o in r.json()["results"]}


def _status(client, agreement: str, as_of: str) -> dict[str, str]:
    return {slug: o["status"] for slug, o in _terms(client, agreement, as_of=as_of).items()}


def test_moscow_statement_terms_exist_with_their_deadlines_on_1_february_2021(client, chain):
    feb = _terms(client, "jan-2021-moscow-statement", as_of="2021-02-01")
    assert {s: (o["due_date"], o["status"]) for s, o in feb.items()} == {
        "working-group-first-meeting": ("2021-01-30", V.COMPLETED),  # met on 30 January
        "works-list-and-timetable": ("2021-03-01", V.PENDING),
    }
    assert _status(client, "jan-2021-moscow-statement", "2021-02-27") == {
        "working-group-first-meeting": V.COMPLETED,
        "works-list-and-timetable": V.DUE_SOON,
    }
    # No source says the list reached the leaders by 1 March: it reads overdue after.
    assert _status(client, "jan-2021-moscow-statement", "2021-03-02")[
        "works-list-and-timetable"] == V.OVERDUE


def test_moscow_statement_is_not_yet_signed_on_1_december_2020(client, chain):
    moscow = chain["jan-2021-moscow-statement"]
    r = client.get(f"/api/v1/agreements/{moscow.slug}/")
    assert r.status_code == 200 and r.json()["signed_at"] > "2020-12-01"
    # Nothing that happened later shows through at an earlier instant.
    assert set(_status(client, "jan-2021-moscow-statement", "2020-12-01").values()) <= {
        V.PENDING
    }
    assert _status(client, "nov-2020-trilateral", "2020-12-01")["transport-links-unblocking"] \
        == V.PENDING


def test_sochi_2021_commission_set_up_in_may_2022(client, chain):
    assert _status(client, "nov-2021-sochi-statement", "2022-05-23") == {
        "border-delimitation-commission": V.PENDING,
    }
    assert _status(client, "nov-2021-sochi-statement", "2022-05-25") == {
        "border-delimitation-commission": V.COMPLETED,
    }


def test_prague_terms_through_october_and_november_2022(client, chain):
    assert _status(client, "oct-2022-prague-statement", "2022-10-21") == {
        "mutual-recognition-territorial-integrity": V.IN_FORCE,
        "border-commissions-brussels-meeting": V.PENDING,
        "eu-civilian-mission-start": V.COMPLETED,  # deployed 20 October
    }
    # The Brussels meeting "by the end of October" came on 3 November (unconfirmed date).
    assert _status(client, "oct-2022-prague-statement", "2022-11-02")[
        "border-commissions-brussels-meeting"] == V.OVERDUE
    late = _terms(client, "oct-2022-prague-statement", as_of="2022-11-04")[
        "border-commissions-brussels-meeting"]
    assert late["status"] == V.COMPLETED_LATE and late["unconfirmed"] is True


def test_sochi_2022_no_force_term_and_the_peace_treaty_work(client, chain):
    assert _status(client, "oct-2022-sochi-statement", "2025-08-07") == {
        "no-use-or-threat-of-force": V.IN_FORCE,
        "peace-treaty-work": V.PENDING,
    }
    assert _status(client, "oct-2022-sochi-statement", "2025-08-09")[
        "peace-treaty-work"] == V.IN_PROGRESS  # initialled in Washington on 8 August 2025


def test_karabakh_ceasefire_of_20_september_2023(client, chain):
    before = _status(client, "sep-2023-karabakh-ceasefire", "2023-09-20T12:59:00+04:00")
    assert before["hostilities-cease"] == V.PENDING  # from 13:00 local time
    assert _status(client, "sep-2023-karabakh-ceasefire", "2023-09-20T13:00:00+04:00")[
        "hostilities-cease"] == V.IN_FORCE
    # The 2020 ceasefire term's violation ends at the same instant: the term is in force
    # again (the disputes over Baku's denials ended with their incidents).
    assert _status(client, "nov-2020-trilateral", "2023-09-20T13:00:00+04:00")[
        "ceasefire"] == V.IN_FORCE
    assert _status(client, "sep-2023-karabakh-ceasefire", "2023-09-22") == {
        "hostilities-cease": V.IN_FORCE,
        "karabakh-forces-disband-disarm": V.PENDING,
        "yevlakh-talks": V.COMPLETED,
    }
    after_decree = _status(client, "sep-2023-karabakh-ceasefire", "2023-09-29")
    assert after_decree["karabakh-forces-disband-disarm"] == V.IN_PROGRESS  # decree, 28 Sep
    # One side of the ceasefire decreed its own dissolution: overtaken, not breached.
    assert after_decree["hostilities-cease"] == V.OVERTAKEN


def test_washington_declaration_and_the_minsk_process_closure(client, chain):
    assert _status(client, "aug-2025-washington-declaration", "2025-09-02") == {
        "peace-agreement-signature": V.IN_PROGRESS,  # initialled, not signed
        "minsk-process-closure": V.IN_PROGRESS,  # MC.DEC/1/25 of 1 September
        "open-communications": V.PENDING,
        "tripp-route": V.PENDING,
        "tripp-framework": V.PENDING,
    }
    assert _status(client, "aug-2025-washington-declaration", "2025-12-01") == {
        "peace-agreement-signature": V.IN_PROGRESS,
        "minsk-process-closure": V.COMPLETED,  # closure completed 30 November
        "open-communications": V.IN_PROGRESS,  # transit restrictions lifted 21 October
        "tripp-route": V.PENDING,  # whether the route operates is unconfirmed
        "tripp-framework": V.PENDING,
    }
    today = _terms(client, "aug-2025-washington-declaration")
    assert today["peace-agreement-signature"]["status"] == V.IN_PROGRESS
    assert today["tripp-framework"]["status"] == V.IN_PROGRESS


def test_the_2020_file_new_facts_read_through_the_api(client, chain):
    route = _terms(client, "nov-2020-trilateral", as_of="2022-08-31")["new-corridor-route"]
    assert route["status"] == V.COMPLETED
    assert route["status_since"].startswith("2022-08-30T16:00")  # 20:00 in Baku
    # Height 2054.0: the Russian MoD's claim and Azerbaijan's denial, both of 25 March.
    assert _status(client, "nov-2020-trilateral", "2023-03-25")["ceasefire"] == V.DISPUTED
    assert _status(client, "nov-2020-trilateral", "2023-03-27")["ceasefire"] == V.IN_FORCE
    assert _status(client, "nov-2020-trilateral", "2020-11-15")["prisoner-exchange"] \
        == V.IN_PROGRESS  # bodies exchanged on 14 November 2020
    now = _terms(client, "nov-2020-trilateral", as_of=timezone.now().isoformat())
    assert now["armenian-forces-withdrawal"]["status"] == V.OVERTAKEN
    assert now["refugee-return"]["status"] == V.OVERTAKEN
    assert now["nakhchivan-link-fsb-control"]["status"] == V.SUPERSEDED
