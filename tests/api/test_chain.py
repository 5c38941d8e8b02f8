"""The chain of agreements and how terms end, through the API: /relations/ and its
filters, agreements' builds_on/followed_by, obligations' replaced_by/replaces, standings
per party, the accounts of a dispute, contested text, and the ending of a term (by a
later agreement, by a reported fact), now and at past instants."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deadlines import sweep
from tests.api.conftest import EFFECTIVE, PUBLISHED
from tests.api.test_formats import read_csv
from tracker import services
from tracker import vocabulary as V
from tracker.models import Agreement, AgreementRelation, Claimant, Obligation, Report, Source

pytestmark = pytest.mark.django_db

OBL = "/api/v1/obligations/"
LATER = datetime(2025, 8, 8, 8, tzinfo=UTC)


@pytest.fixture
def chain(world):
    """A later agreement that supersedes the peacekeepers' term with a term of its own,
    and an implementing statement for the whole 2020 agreement."""
    later = Agreement.objects.create(
        slug="washington-2025", title="Washington joint declaration", signed_at=LATER,
        effective_at=LATER, timezone="Asia/Baku", titles={"ru": "Вашингтонская декларация"},
    )
    later.parties.set([world.azerbaijan, world.armenia])
    text = Source.objects.create(agreement=later, key="declaration",
                                 url="https://example.org/declaration", publisher="White House")
    route = Obligation.objects.create(
        agreement=later, slug="route", title="The new route", kind=V.OPEN, category="transport",
        titles={"ru": "Маршрут"},
    )
    route.responsible.set([world.armenia])
    route.sources.set([text])
    moscow = Agreement.objects.create(
        slug="moscow-2021", title="Moscow statement", signed_at=datetime(2021, 1, 11, tzinfo=UTC),
        effective_at=datetime(2021, 1, 11, tzinfo=UTC), timezone="Europe/Moscow",
    )
    supersedes = AgreementRelation.objects.create(
        agreement=later, kind=V.SUPERSEDES, target_agreement=world.agreement,
        target=world.peacekeeping_term, replacement=route, at=LATER, note="Replaced by the route.",
        published_at=LATER,
    )
    supersedes.sources.set([text])
    implements = AgreementRelation.objects.create(
        agreement=moscow, kind=V.IMPLEMENTS, target_agreement=world.agreement,
        at=datetime(2021, 1, 11, tzinfo=UTC),
    )
    services.facts_changed([world.peacekeeping_term.pk, route.pk])
    sweep.run()
    return {"later": later, "route": route, "moscow": moscow, "supersedes": supersedes,
            "implements": implements}


def test_relations_list_and_filters(client, world, chain):
    r = client.get("/api/v1/relations/")
    assert r.status_code == 200
    rows = r.json()["results"]
    assert [x["id"] for x in rows] == [chain["implements"].pk, chain["supersedes"].pk]
    sup = rows[1]
    assert (sup["agreement"], sup["kind"], sup["ends"], sup["target_agreement"]) == (
        "washington-2025", "supersedes", "superseded", "nov-2020")
    assert sup["target"]["slug"] == "peacekeeping-term"
    assert sup["replacement"]["slug"] == "route"
    assert sup["replacement"]["url"].endswith(f"{OBL}{chain['route'].pk}/")
    assert sup["kind_label"] == "Supersedes" and sup["sources"][0]["key"] == "declaration"
    assert rows[0]["target"] is None and rows[0]["ends"] is None

    def ids(**params):
        got = client.get("/api/v1/relations/", params)
        assert got.status_code == 200, got.content
        return [x["id"] for x in got.json()["results"]]

    assert ids(agreement="moscow-2021") == [chain["implements"].pk]
    assert ids(target_agreement="nov-2020", kind="supersedes") == [chain["supersedes"].pk]
    assert ids(target_agreement="washington-2025") == []
    assert client.get("/api/v1/relations/", {"agreement": "nowhere"}).status_code == 400
    assert client.get("/api/v1/relations/", {"kind": "annexes"}).status_code == 400
    assert "relations" in client.get("/api/v1/").json()["resources"]
    rows = read_csv(client.get("/api/v1/relations/", {"format": "csv"}))
    assert rows[1]["target"] == "peacekeeping-term" and rows[1]["replacement"] == "route"


def test_agreements_say_what_they_build_on_and_what_followed(client, world, chain):
    old = client.get("/api/v1/agreements/nov-2020/").json()
    assert [r["agreement"] for r in old["followed_by"]] == ["moscow-2021", "washington-2025"]
    assert old["builds_on"] == []
    new = client.get("/api/v1/agreements/washington-2025/").json()
    assert [r["kind"] for r in new["builds_on"]] == ["supersedes"]
    assert new["titles"] == {"ru": "Вашингтонская декларация"}


def test_a_page_of_agreements_costs_the_same_queries_however_many_relations(client, world,
                                                                            chain):
    def queries() -> int:
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            assert client.get("/api/v1/agreements/").status_code == 200
        return len(ctx.captured_queries)

    few = queries()
    for i in range(5):
        AgreementRelation.objects.create(
            agreement=chain["later"], kind=V.AMENDS, target_agreement=chain["moscow"],
            at=LATER, note=f"amendment {i}")
    assert queries() == few


def test_the_superseded_term_links_its_replacement_both_ways(client, world, chain):
    old = client.get(f"{OBL}{world.peacekeeping_term.pk}/").json()
    assert old["status"] == V.SUPERSEDED
    [link] = old["replaced_by"]
    assert (link["agreement"], link["slug"], link["relation"]) == (
        "washington-2025", "route", chain["supersedes"].pk)
    assert link["at"] == "2025-08-08T08:00:00Z"
    assert link["page_url"].endswith("/agreements/washington-2025/route/") or "route" in \
        link["page_url"]
    new = client.get(f"{OBL}{chain['route'].pk}/").json()
    assert [x["slug"] for x in new["replaces"]] == ["peacekeeping-term"]
    rows = {r["slug"]: r for r in read_csv(client.get(OBL, {"format": "csv"}))}
    assert rows["peacekeeping-term"]["replaced_by"] == "route"
    assert rows["route"]["replaces"] == "peacekeeping-term"
    assert new["titles"] == {"ru": "Маршрут"} and new["text_dispute"] == ""


def test_the_ending_by_a_later_agreement_now_and_before_it(client, world, chain):
    now = client.get(f"{OBL}{world.peacekeeping_term.pk}/").json()
    ending = now["ending"]
    assert (ending["status"], ending["by"], ending["relation"]) == (
        V.SUPERSEDED, "relation", chain["supersedes"].pk)
    assert ending["at"] == "2025-08-08T08:00:00Z" and ending["cause"] == "Replaced by the route."
    assert ending["replacement"]["slug"] == "route"
    assert ending["relation_url"].endswith(f"/api/v1/relations/{chain['supersedes'].pk}/")
    assert ending["status_label"] == "Superseded"
    before = client.get(f"{OBL}{world.peacekeeping_term.pk}/", {"as_of": "2024-01-01"}).json()
    assert before["status"] == V.IN_FORCE and before["ending"] is None
    listed = client.get(OBL, {"status": "superseded"}).json()["results"]
    assert [x["slug"] for x in listed] == ["peacekeeping-term"]
    assert listed[0]["ending"] == ending


def test_a_term_overtaken_by_a_reported_fact_says_why(client, world):
    unhcr = Claimant.objects.create(slug="unhcr", name="UNHCR", kind=V.CLAIMANT_MONITOR)
    report = Report.objects.create(
        obligation=world.prisoners, claim=V.CLAIM_OVERTAKEN,
        occurred_at=datetime(2023, 9, 30, tzinfo=UTC), summary="Nobody left to exchange.",
        review_state=V.PUBLISHED, published_at=PUBLISHED, origin="file", claimant=unhcr,
    )
    report.sources.set([world.source])
    services.facts_changed([world.prisoners.pk])
    sweep.run()
    data = client.get(f"{OBL}{world.prisoners.pk}/").json()
    assert data["status"] == V.OVERTAKEN
    ending = data["ending"]
    assert (ending["by"], ending["report"], ending["cause"]) == (
        "report", report.pk, "Nobody left to exchange.")
    assert ending["report_url"].endswith(f"/api/v1/reports/{report.pk}/")
    assert ending["relation"] is None and ending["replacement"] is None


@pytest.fixture
def dispute(world):
    am_mod = Claimant.objects.create(slug="armenia-mod", name="Armenian MoD",
                                     kind=V.CLAIMANT_GOVERNMENT, party=world.armenia)
    az_mod = Claimant.objects.create(slug="azerbaijan-mod", name="Azerbaijani MoD",
                                     kind=V.CLAIMANT_GOVERNMENT, party=world.azerbaijan)
    claim = _published(world, V.CLAIM_VIOLATION, datetime(2021, 5, 12, tzinfo=UTC),
                       "Shelling.", claimant=am_mod)
    claim.actors.set([world.azerbaijan])
    denial = _published(world, V.CLAIM_DENIAL, datetime(2021, 5, 12, 6, tzinfo=UTC),
                        "No shelling.", claimant=az_mod, contests=claim)
    services.facts_changed([world.ceasefire.pk])
    sweep.run()
    return {"claim": claim, "denial": denial, "am_mod": am_mod}


def _published(world, claim, occurred, summary, **kw):
    report = Report.objects.create(
        obligation=world.ceasefire, claim=claim, occurred_at=occurred, summary=summary,
        review_state=V.PUBLISHED, published_at=PUBLISHED, origin="file", **kw)
    report.sources.set([world.source])
    return report


def test_a_dispute_shows_every_account_with_its_claimant_and_sources(client, world, dispute):
    data = client.get(f"{OBL}{world.ceasefire.pk}/", {"as_of": "2021-06-01"}).json()
    assert data["status"] == V.DISPUTED
    d = data["dispute"]
    assert d["reason"] == "claims" and d["since"] == "2021-05-12T06:00:00Z"
    accounts = {a["id"]: a for a in d["accounts"]}
    assert set(accounts) == {dispute["claim"].pk, dispute["denial"].pk}
    claim = accounts[dispute["claim"].pk]
    assert claim["claimant"]["slug"] == "armenia-mod" and claim["actors"] == ["azerbaijan"]
    assert claim["sources"][0]["key"] == "kremlin-text"
    assert accounts[dispute["denial"].pk]["contests"] == dispute["claim"].pk
    assert claim["url"].endswith(f"/api/v1/reports/{dispute['claim'].pk}/")
    # Nobody is charged while the claims conflict.
    assert {s["party"]: s["charged"] for s in data["standings"]} == {
        "armenia": False, "azerbaijan": False}
    assert data["ending"] is None


def test_a_finding_settles_the_dispute_and_charges_the_actor_only(client, world, dispute):
    tracker = Claimant.objects.create(slug="tracker", name="Tracker", kind=V.CLAIMANT_TRACKER)
    finding = _published(world, V.CLAIM_VIOLATION, datetime(2021, 6, 1, tzinfo=UTC),
                         "The tracker finds it happened.", claimant=tracker,
                         contests=dispute["claim"])
    finding.actors.set([world.azerbaijan])
    services.facts_changed([world.ceasefire.pk])
    sweep.run()
    data = client.get(f"{OBL}{world.ceasefire.pk}/", {"as_of": "2021-06-02"}).json()
    assert data["status"] == V.VIOLATED and data["dispute"] is None
    standings = {s["party"]: s for s in data["standings"]}
    assert standings["azerbaijan"]["charged"] and standings["azerbaijan"]["status"] == V.VIOLATED
    assert standings["armenia"]["status"] == V.IN_FORCE and not standings["armenia"]["charged"]
    assert all(s["responsible"] for s in standings.values())
    # Before the finding the dispute stood; the history keeps it.
    then = client.get(f"{OBL}{world.ceasefire.pk}/", {"as_of": "2021-05-20"}).json()
    assert then["status"] == V.DISPUTED
    transitions = client.get(
        f"{OBL}{world.ceasefire.pk}/history/", {"as_of": "2021-06-02"}).json()["transitions"]
    statuses = [t["to_status"] for t in transitions]
    assert V.DISPUTED in statuses and statuses[-1] == V.VIOLATED
    # Each step names the report behind it, with its claimant and what it contests.
    disputed = transitions[statuses.index(V.DISPUTED)]["report"]
    assert disputed["claimant"]["slug"] == "azerbaijan-mod"
    assert disputed["contests"] == dispute["claim"].pk
    settled = transitions[-1]["report"]
    assert settled["claimant"]["kind"] == "tracker" or settled["actors"] == ["azerbaijan"]


def test_an_act_by_a_party_the_term_does_not_bind_is_charged_to_it_as_such(client, world):
    act = Report.objects.create(
        obligation=world.peacekeeping_term, claim=V.CLAIM_VIOLATION,
        occurred_at=datetime(2023, 4, 23, tzinfo=UTC), summary="Checkpoint.",
        review_state=V.PUBLISHED, published_at=PUBLISHED, origin="file")
    act.sources.set([world.source])
    act.actors.set([world.azerbaijan])
    services.facts_changed([world.peacekeeping_term.pk])
    sweep.run()
    data = client.get(f"{OBL}{world.peacekeeping_term.pk}/", {"as_of": "2023-04-24"}).json()
    standings = {s["party"]: s for s in data["standings"]}
    assert standings["azerbaijan"] == {
        "party": "azerbaijan", "status": V.VIOLATED, "status_label": "Violated",
        "responsible": False, "charged": True, "report": act.pk}
    assert standings["russia"]["charged"] is False


def test_contested_text_is_disputed_and_says_which_versions(client, world):
    from datetime import date

    from deadlines.engine import due_instant

    gazakh = Obligation.objects.create(
        agreement=world.agreement, slug="gazakh", title="Return of the Gazakh territories",
        kind=V.DEADLINE, category="withdrawal", due_date=date(2020, 12, 1),
        original_due_date=date(2020, 12, 1), due_at=due_instant(date(2020, 12, 1),
                                                                world.agreement.zone),
        text_dispute="Only in the circulated version.")
    gazakh.responsible.set([world.armenia])
    sweep.run()
    data = client.get(f"{OBL}{gazakh.pk}/", {"as_of": "2020-12-31"}).json()
    assert data["status"] == V.DISPUTED and data["text_dispute"]
    assert data["days_overdue"] is None
    dispute = data["dispute"]
    assert (dispute["reason"], dispute["text"], dispute["accounts"]) == (
        "text", "Only in the circulated version.", [])
    assert dispute["since"] == EFFECTIVE.isoformat().replace("+00:00", "Z")
    assert [(s["party"], s["charged"]) for s in data["standings"]] == [("armenia", False)]
    now = client.get(f"{OBL}{gazakh.pk}/").json()
    assert now["status"] == V.DISPUTED and now["dispute"] == dispute


@pytest.mark.parametrize("params", [{}, {"as_of": "2021-06-01"}])
def test_a_page_of_obligations_costs_the_same_queries_with_disputes(client, world, dispute,
                                                                   params):
    def queries(extra: int) -> int:
        bulk = Obligation.objects.filter(slug__startswith="bulk-")
        Report.objects.filter(obligation__in=bulk).exclude(contests=None).delete()
        Report.objects.filter(obligation__in=bulk).delete()
        bulk.delete()
        for i in range(extra):
            o = Obligation.objects.create(
                agreement=world.agreement, slug=f"bulk-{i}", title=f"bulk {i}", kind=V.ONGOING,
                category="ceasefire", starts_at=EFFECTIVE, text_dispute="Only in one text.")
            o.responsible.set([world.armenia, world.azerbaijan])
            for claim, contests in ((V.CLAIM_VIOLATION, None), (V.CLAIM_DENIAL, True)):
                r = Report.objects.create(
                    obligation=o, claim=claim, occurred_at=datetime(2021, 5, 12, tzinfo=UTC),
                    summary="x", review_state=V.PUBLISHED, published_at=PUBLISHED,
                    origin="file", claimant=dispute["am_mod"],
                    contests=Report.objects.filter(obligation=o).first() if contests else None)
                r.sources.set([world.source])
                r.actors.set([world.azerbaijan])
        sweep.run()
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(OBL, {**params, "page_size": 500})
        assert r.status_code == 200
        return len(ctx.captured_queries)

    assert queries(3) == queries(30)


def test_scores_per_party_with_breakdown_and_links(client, world, dispute):
    tracker = Claimant.objects.create(slug="tracker", name="Tracker", kind=V.CLAIMANT_TRACKER)
    finding = _published(world, V.CLAIM_VIOLATION, datetime(2021, 6, 1, tzinfo=UTC),
                         "The tracker finds it happened.", claimant=tracker,
                         contests=dispute["claim"])
    finding.actors.set([world.azerbaijan])
    services.facts_changed([world.ceasefire.pk])
    sweep.run()
    r = client.get("/api/v1/scores/", {"as_of": "2021-06-02", "agreement": "nov-2020"})
    assert r.status_code == 200, r.content
    body = r.json()
    assert body["as_of"] == "2021-06-02" and body["agreement"] == "nov-2020"
    parties = {p["party"]: p for p in body["results"]}
    az = {t["slug"]: t for t in parties["azerbaijan"]["terms"]}
    assert az["ceasefire"]["points"] == 0 and az["ceasefire"]["status"] == V.VIOLATED
    assert az["ceasefire"]["report"] is not None
    assert az["ceasefire"]["report_url"].endswith(f"/api/v1/reports/{az['ceasefire']['report']}/")
    assert az["ceasefire"]["url"].endswith(f"{OBL}{world.ceasefire.pk}/")
    am = {t["slug"]: t for t in parties["armenia"]["terms"]}
    assert am["ceasefire"]["points"] == 3 and am["aghdam-return"]["points"] == 3
    assert parties["armenia"]["score"] > parties["azerbaijan"]["score"]
    # While the claims about Azerbaijan's act conflicted, it was not scored on the
    # ceasefire; Armenia, whose act nobody reported, kept its standing.
    then = client.get("/api/v1/scores/", {"as_of": "2021-05-20"}).json()
    ceasefire = {p["party"]: t for p in then["results"] for t in p["terms"]
                 if t["slug"] == "ceasefire"}
    assert (ceasefire["azerbaijan"]["points"], ceasefire["azerbaijan"]["reason"]) == (
        None, "disputed_claims")
    assert ceasefire["armenia"]["points"] == 3
    assert client.get("/api/v1/scores/", {"agreement": "nowhere"}).status_code == 400
    assert client.get("/api/v1/scores/", {"as_of": "someday"}).status_code == 400
    assert client.get("/api/v1/").json()["scores"].endswith("/api/v1/scores/")
