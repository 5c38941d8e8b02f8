"""View tests for every dashboard page, filter and `as_of`, on the November 2020 history."""

from __future__ import annotations

import html as htmllib
import re
from datetime import date

import pytest
from django.urls import reverse

from tracker import vocabulary as V
from tracker.models import Report

AGREEMENT = "/agreements/nov-2020/"
pytestmark = pytest.mark.django_db


def text(response) -> str:
    """The page's visible text, with the SVGs left in (they carry labels too)."""
    html = response.content.decode()
    return htmllib.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


def listed(response) -> list[str]:
    """Obligation slugs listed on an agreement page, in order."""
    return re.findall(r'<h4><a href="/agreements/nov-2020/([\w-]+)/', response.content.decode())


def badges(response) -> list[str]:
    return re.findall(r'<li class="obligation" data-status="(\w+)"', response.content.decode())


# ---------------------------------------------------------------- overview


def test_overview_now_counts_overdue_parties_and_events(client, world):
    r = client.get("/")
    assert r.status_code == 200
    html = r.content.decode()
    body = text(r)
    assert "Trilateral statement of 10 November 2020" in body
    counts = dict(
        re.findall(r'data-status="(\w+)">.*?<span class="count">(\d+)</span>', html, re.S)
    )
    assert counts == {
        V.OVERDUE: "1", V.VIOLATED: "1", V.PENDING: "1", V.IN_PROGRESS: "1",
        V.COMPLETED: "3", V.TERMINATED: "1",
    }
    # Overdue: the Gazakh territories, with days overdue and a "see all" link.
    assert "Return of territories in the Gazakh district" in body
    assert re.search(r"\d+ days overdue", body)
    assert f"{AGREEMENT}?status=overdue" in html
    # Compliance by party: Armenia has three met (Aghdam, Kalbajar, Lachin).
    row = re.search(r"<th scope=\"row\">Armenia</th>(.*?)</tr>", html).group(1)
    assert re.findall(r">(\d+)<", row) == ["3", "0", "2", "0", "1", "0", "6"]
    assert "Latest status changes" in body and "Terminated" in body
    assert "Showing now" in body and "Not now" not in body
    assert r.context["time"]["is_now"]


def test_overview_as_of_14_november_shows_kalbajar_due_soon(client, world):
    r = client.get("/", {"as_of": "2020-11-14"})
    assert r.status_code == 200
    body = text(r)
    assert "Not now" in body and "14 Nov 2020, 23:59" in body
    upcoming = [d["obligation"].slug for d in r.context["upcoming"]]
    assert upcoming[0] == "kalbajar-return"  # due by 15 November, before the move
    assert r.context["upcoming"][0]["status"]["key"] == V.DUE_SOON
    # The four handovers, and the renewable term's notice deadline and end (2025).
    assert set(upcoming) == {"kalbajar-return", "aghdam-return", "gazakh-return", "lachin-return",
                             "peacekeeping-term"}
    assert r.context["overdue_total"] == 0
    # Links carry the instant on to the other pages.
    assert "/agreements/nov-2020/kalbajar-return/?as_of=2020-11-14" in r.content.decode()


def test_overview_as_of_after_move_and_after_deadline(client, world):
    r = client.get("/", {"as_of": "2020-11-16"})
    kalbajar = next(d for d in r.context["upcoming"] if d["obligation"].slug == "kalbajar-return")
    assert kalbajar["due_date"].day == 25 and kalbajar["status"]["key"] == V.PENDING
    r = client.get("/", {"as_of": "2020-11-21"})
    assert [d["obligation"].slug for d in r.context["overdue"]] == ["gazakh-return"]
    assert r.context["overdue"][0]["days"] == 1


def test_overview_as_of_instant_and_prev_next_links(client, world):
    r = client.get("/", {"as_of": "2020-11-15T12:00:00Z"})
    assert r.status_code == 200
    time = r.context["time"]
    assert time["prev_url"] and time["next_url"]
    # Following "next event" lands exactly on the next status change.
    nxt = client.get(time["next_url"])
    assert nxt.status_code == 200
    assert nxt.context["time"]["at"] > r.context["time"]["at"]


@pytest.mark.parametrize(
    "value",
    ["yesterday", "2020-13-45", "2020-02-30", "99999-01-01", "1066-10-14", "2020-11-16T25:00"],
)
def test_bad_as_of_is_a_clear_400_on_every_page(client, world, value):
    for url in ["/", AGREEMENT, f"{AGREEMENT}kalbajar-return/", "/map/", "/places/"]:
        r = client.get(url, {"as_of": value})
        assert r.status_code == 400, url
        assert "as_of=" in text(r)


# ---------------------------------------------------------------- agreement page


def test_agreement_lists_obligations_clause_by_clause(client, world):
    r = client.get(AGREEMENT)
    assert r.status_code == 200
    assert listed(r) == [
        "ceasefire", "aghdam-return", "gazakh-return", "peacekeeping-term",
        "kalbajar-return", "lachin-return", "idp-return", "prisoner-exchange",
    ]
    assert [c["clause"].number for c in r.context["clauses"]] == ["1", "2", "4", "6", "7", "8"]
    assert badges(r)[:3] == [V.VIOLATED, V.COMPLETED, V.OVERDUE]
    assert "Kalbajar / Karvachar" in text(r)


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "overdue"}, ["gazakh-return"]),
        ({"status": "completed"}, ["aghdam-return", "kalbajar-return", "lachin-return"]),
        ({"party": "russia"}, ["peacekeeping-term"]),
        ({"party": "azerbaijan"}, ["ceasefire", "prisoner-exchange"]),
        ({"category": "ceasefire"}, ["ceasefire"]),
        ({"category": "humanitarian"}, ["idp-return", "prisoner-exchange"]),
        ({"place": "lachin"}, ["peacekeeping-term", "lachin-return"]),
        ({"place": "lachin", "party": "armenia"}, ["lachin-return"]),
        ({"party": "armenia", "status": "completed", "category": "withdrawal"},
         ["aghdam-return", "kalbajar-return", "lachin-return"]),
        ({"status": "due_soon"}, []),
    ],
)
def test_agreement_filters_narrow_the_list(client, world, params, expected):
    r = client.get(AGREEMENT, params)
    assert r.status_code == 200
    assert listed(r) == expected
    assert r.context["total"] == len(expected)
    if not expected:
        assert "No obligation matches" in text(r)


def test_agreement_status_filter_follows_as_of(client, world):
    r = client.get(AGREEMENT, {"as_of": "2020-11-14", "status": "due_soon"})
    assert listed(r) == ["kalbajar-return"]
    r = client.get(AGREEMENT, {"as_of": "2020-11-16", "status": "due_soon"})
    assert listed(r) == []
    r = client.get(AGREEMENT, {"as_of": "2020-11-21", "status": "overdue"})
    assert listed(r) == ["gazakh-return"]
    r = client.get(AGREEMENT, {"as_of": "2022-03-25", "status": "violated"})
    assert listed(r) == ["ceasefire"]
    r = client.get(AGREEMENT, {"as_of": "2022-04-01", "status": "violated"})
    assert listed(r) == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"status": "late"}, "status='late' is not a status"),
        ({"party": "narnia"}, "party='narnia'"),
        ({"category": "sports"}, "category='sports'"),
        ({"place": "atlantis"}, "place='atlantis'"),
        ({"window": "decade"}, "window='decade'"),
    ],
)
def test_agreement_bad_filter_is_a_clear_400(client, world, params, message):
    r = client.get(AGREEMENT, params)
    assert r.status_code == 400
    assert message in r.content.decode().replace("&#x27;", "'")


def test_unknown_agreement_or_obligation_is_404(client, world):
    assert client.get("/agreements/nope/").status_code == 404
    assert client.get(f"{AGREEMENT}nope/").status_code == 404


def test_timeline_draws_the_kalbajar_move_only_once_agreed(client, world):
    before = client.get(AGREEMENT, {"as_of": "2020-11-14"}).content.decode()
    after = client.get(AGREEMENT, {"as_of": "2020-11-16"}).content.decode()
    assert 'class="tl-move"' not in before
    assert 'class="tl-move"' in after
    assert "moved 15 Nov → 25 Nov" in after
    assert "<title" in after and '<desc id="tl-desc">' in after
    assert "moved to 25 Nov 2020 (agreed 15 Nov 2020)" in after
    now = client.get(AGREEMENT).content.decode()
    assert "done 25 Nov" in now  # the completion mark, in words


def test_timeline_whole_period_shows_violation_spans(client, world):
    html = client.get(AGREEMENT, {"window": "all"}).content.decode()
    assert html.count('class="tl-violation"') == 2
    assert "violated 24 Mar 2022 to 28 Mar 2022" in html  # the ended span, in the desc
    assert "violated since 19 Sep 2023" in html  # still open
    assert "ended 12 Jun" in html  # the peacekeepers' early end
    # Before the first violation, no span.
    html = client.get(AGREEMENT, {"window": "all", "as_of": "2021-06-01"}).content.decode()
    assert 'class="tl-violation"' not in html


def test_agreement_map_panel_follows_filters(client, world):
    r = client.get(AGREEMENT, {"place": "gazakh"})
    labels = [e["m"].label for e in r.context["legend"]]
    assert labels == ["Gazakh"]


# ---------------------------------------------------------------- obligation page


def test_obligation_page_kalbajar_now(client, world):
    r = client.get(f"{AGREEMENT}kalbajar-return/")
    assert r.status_code == 200
    body = text(r)
    assert "Completed" in body
    assert "Original deadline: by 15 November 2020" in body
    assert "Moved to 25 November 2020" in body and "Postponed at Armenia's request" in body
    assert "JAM News: Kelbajar handover postponed" in body
    assert "https://example.org/jam-kelbajar" in r.content.decode()
    assert "Responsible Armenia" in body and "Monitored by Russia" in body
    assert "Kalbajar / Karvachar" in body
    assert "Point 6 of the text" in body
    history = [
        (h["from"]["key"] if h["from"] else "", h["to"]["key"]) for h in r.context["history"]
    ]
    assert history == [
        (V.DUE_SOON, V.COMPLETED), (V.PENDING, V.DUE_SOON), (V.DUE_SOON, V.PENDING),
        (V.PENDING, V.DUE_SOON), ("", V.PENDING),
    ]


def test_obligation_page_as_of_before_the_move(client, world):
    r = client.get(f"{AGREEMENT}kalbajar-return/", {"as_of": "2020-11-14"})
    body = text(r)
    assert r.context["status"]["key"] == V.DUE_SOON
    assert "by 15 November 2020" in body
    assert "Moved to" not in body
    assert "1 later change agreed after the date shown" in body
    assert "No published report by the date shown" in body
    assert "1 report about events after the date shown is not listed" in body


def test_obligation_page_shows_corrected_report_and_variants(client, world):
    r = client.get(f"{AGREEMENT}lachin-return/")
    html = r.content.decode()
    assert html.count('<li id="report-') == 2
    assert "corrected" in html and "not 29 November" in html
    assert "decides the status shown" in html
    drafts = Report.objects.filter(review_state=V.DRAFT).values_list("summary", flat=True)
    r = client.get(f"{AGREEMENT}aghdam-return/")
    assert "Some versions" in text(r) and "Gazakh district" in text(r)
    prisoners = client.get(f"{AGREEMENT}prisoner-exchange/").content.decode()
    for summary in drafts:
        assert summary not in prisoners  # drafts are never public


def test_obligation_page_ongoing_term(client, world):
    r = client.get(f"{AGREEMENT}peacekeeping-term/", {"as_of": "2024-01-01"})
    body = text(r)
    assert r.context["status"]["key"] == V.IN_FORCE
    assert "Current term ends 10 Nov 2025" in body and "notice by 10 May 2025" in body


# ---------------------------------------------------------------- places and map


@pytest.mark.parametrize(
    ("q", "slug"),
    [
        ("Berdzor", "lachin"), ("laçın", "lachin"), ("LACHIN", "lachin"),
        ("Kəlbəcər", "kalbajar"), ("kelbajar", "kalbajar"), ("Karvachar", "kalbajar"),
        ("Stepanakert", "khankendi"), ("Xankəndi", "khankendi"), ("qazax", "gazakh"),
        ("Kazakh", "gazakh"), ("agdam", "aghdam"),
    ],
)
def test_place_search_by_any_form(client, world, q, slug):
    r = client.get(reverse("web:places"), {"q": q})
    assert r.status_code == 200
    assert [p["loc"].slug for p in r.context["results"]] == [slug]


def test_place_search_lists_obligations_and_both_names(client, world):
    r = client.get("/places/", {"q": "berdzor"})
    body = text(r)
    assert "Lachin / Berdzor" in body
    assert "Return of the Lachin district" in body and "Peacekeepers' renewable term" in body
    assert client.get("/places/", {"q": "atlantis"}).context["results"] == []
    assert client.get("/places/", {"q": "x" * 101}).status_code == 400
    assert len(client.get("/places/").context["results"]) == 6


def test_map_markers_follow_as_of(client, world):
    r = client.get("/map/")
    assert r.status_code == 200
    html = r.content.decode()
    marks = dict(re.findall(r'<li value="\d+" data-status="(\w+)"><a [^>]*>([^<]+)</a>', html))
    by_place = {label: status for status, label in marks.items()}
    assert html.count('class="map-place"') == 5  # Giyamaddinli has no coordinates
    assert "Giyamaddinli" in text(r)  # listed as not drawn
    statuses = {e["m"].label: e["status"]["key"] for e in r.context["legend"]}
    assert statuses["Gazakh"] == V.OVERDUE
    assert statuses["Kalbajar / Karvachar"] == V.COMPLETED
    assert statuses["Khankendi / Stepanakert"] == V.TERMINATED
    assert "Gazakh: Overdue" in html  # the marker's label, in words
    assert by_place or marks
    then = client.get("/map/", {"as_of": "2020-11-14"})
    statuses = {e["m"].label: e["status"]["key"] for e in then.context["legend"]}
    assert statuses["Gazakh"] == V.PENDING
    assert statuses["Kalbajar / Karvachar"] == V.DUE_SOON
    assert statuses["Khankendi / Stepanakert"] == V.IN_FORCE
    assert 'role="img"' in then.content.decode() and "<desc" in then.content.decode()


def test_map_agreement_choice(client, world):
    assert client.get("/map/", {"agreement": "nov-2020"}).status_code == 200
    r = client.get("/map/", {"agreement": "versailles"})
    assert r.status_code == 400 and "versailles" in text(r)


def test_pages_use_only_local_assets(client, world):
    for url in ["/", AGREEMENT, f"{AGREEMENT}kalbajar-return/", "/map/", "/places/"]:
        html = client.get(url).content.decode()
        for ref in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert not ref.startswith(("http:", "https:", "//")) or "example.org" in ref, ref


@pytest.mark.parametrize(
    "as_of", ["2020-11-12", "2020-11-14", "2020-11-16", "2020-11-21", "2022-03-25", "2025-01-01"]
)
def test_overview_and_map_agree_with_the_engine(client, world, as_of):
    """The overview's SQL/engine split gives, at every instant, what the engine says."""
    from collections import Counter

    from tracker import statuses
    from tracker.instants import AsOf

    day = AsOf(date.fromisoformat(as_of))
    # Each obligation assessed on its own by the engine: the reference.
    expected = Counter(
        s.status for _, s in statuses.obligations_at(world.agreement.obligations.all(), day)
    )
    r = client.get("/", {"as_of": as_of})
    shown = {c["status"]["key"]: c["n"] for c in r.context["agreements"][0]["counts"]}
    assert shown == expected
    legend = client.get("/map/", {"as_of": as_of}).context["legend"]
    states = statuses.obligations_at(
        world.agreement.obligations.filter(locations__slug="gazakh"),
        day,
    )
    gazakh = next(e for e in legend if e["m"].label == "Gazakh")
    assert gazakh["status"]["key"] == states[0][1].status
