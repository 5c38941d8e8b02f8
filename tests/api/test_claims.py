"""Who did what and who says so, through the API: reports' actors, claimant and the
report they contest (read, filters, writes and their refusals), the claimants list, and
the same in CSV, the Atom feed and webhook payloads."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext

from deadlines import notify
from tests.api.conftest import PUBLISHED, token_client
from tests.api.test_formats import read_csv
from tracker import vocabulary as V
from tracker.models import Claimant, Report, StatusEvent

pytestmark = pytest.mark.django_db

REPORTS = "/api/v1/reports/"


@pytest.fixture
def claims(world):
    """The Hakari bridge pattern on the ceasefire: an act by Azerbaijan claimed by
    Armenia's ministry, denied by Azerbaijan's, and an editorial finding."""
    am_mod = Claimant.objects.create(slug="armenia-mod", name="Ministry of Defence of Armenia",
                                     kind=V.CLAIMANT_GOVERNMENT, party=world.armenia)
    az_mod = Claimant.objects.create(slug="azerbaijan-mod",
                                     name="Ministry of Defence of Azerbaijan",
                                     kind=V.CLAIMANT_GOVERNMENT, party=world.azerbaijan)
    tracker = Claimant.objects.create(slug="tracker", name="Ceasefire-terms tracker",
                                      kind=V.CLAIMANT_TRACKER)
    claim = _report(world, V.CLAIM_VIOLATION, datetime(2021, 5, 12, tzinfo=UTC),
                    "Shelling near Verin Shorzha.", claimant=am_mod)
    claim.actors.set([world.azerbaijan])
    denial = _report(world, V.CLAIM_DENIAL, datetime(2021, 5, 12, 6, tzinfo=UTC),
                     "Denies any shelling.", claimant=az_mod, contests=claim)
    finding = _report(world, V.CLAIM_VIOLATION, datetime(2021, 6, 1, tzinfo=UTC),
                      "The tracker finds the shelling took place.", claimant=tracker,
                      contests=claim)
    finding.actors.set([world.azerbaijan])
    draft = _report(world, V.CLAIM_DENIAL, datetime(2021, 5, 13, tzinfo=UTC),
                    "A draft denial.", claimant=az_mod, contests=claim,
                    review_state=V.DRAFT, published_at=None)
    return {"am_mod": am_mod, "az_mod": az_mod, "tracker": tracker, "claim": claim,
            "denial": denial, "finding": finding, "draft": draft}


def _report(world, claim, occurred, summary, **kw):
    report = Report.objects.create(
        obligation=kw.pop("obligation", world.ceasefire), claim=claim, occurred_at=occurred,
        summary=summary, review_state=kw.pop("review_state", V.PUBLISHED),
        published_at=kw.pop("published_at", PUBLISHED), origin="file", **kw,
    )
    report.sources.set([world.source])
    return report


def test_reports_say_whose_act_who_says_so_and_what_they_contest(client, world, claims):
    claim = client.get(f"{REPORTS}{claims['claim'].pk}/").json()
    assert claim["actors"] == ["azerbaijan"]
    assert claim["claimant"] == {"slug": "armenia-mod", "name": "Ministry of Defence of Armenia",
                                 "kind": "government"}
    assert claim["finding"] is False and claim["contests"] is None
    # The draft denial is no one's business but the editors'.
    assert claim["contested_by"] == sorted([claims["denial"].pk, claims["finding"].pk])
    assert claim["claim_label"] == "Violation"

    denial = client.get(f"{REPORTS}{claims['denial'].pk}/").json()
    assert denial["contests"] == claims["claim"].pk and denial["actors"] == []
    assert denial["claim"] == "denial" and denial["claim_label"] == "Denial"
    finding = client.get(f"{REPORTS}{claims['finding'].pk}/").json()
    assert finding["finding"] is True and finding["claimant"]["kind"] == "tracker"


def test_editors_see_the_draft_contest_too(world, claims, editor):
    data = token_client(editor).get(f"{REPORTS}{claims['claim'].pk}/").json()
    assert claims["draft"].pk in data["contested_by"]


@pytest.mark.parametrize(("params", "expected"), [
    # Named, or implied on the joint terms it is responsible for (a denial names no act).
    ({"actor": "azerbaijan"}, {"claim", "finding", "prisoner", "ceasefire"}),
    ({"actor": "russia"}, set()),
    # No actors on Armenia's terms: their reports are Armenia's acts (the term's parties).
    ({"actor": "armenia", "claim": "completed"}, {"aghdam", "kalbajar", "lachin"}),
    ({"claimant": "azerbaijan-mod"}, {"denial"}),
    ({"claimant_kind": "tracker"}, {"finding"}),
    ({"claimant_kind": "government", "obligation": "CEASEFIRE"}, {"claim", "denial"}),
])
def test_report_filters(client, world, claims, params, expected):
    params = {k: (world.ceasefire.pk if v == "CEASEFIRE" else v) for k, v in params.items()}
    names = {claims[k].pk: k for k in ("claim", "denial", "finding")}
    names.update({r.pk: r.obligation.slug.split("-")[0]
                  for r in Report.objects.exclude(pk__in=names)})
    r = client.get(REPORTS, params)
    assert r.status_code == 200, r.content
    assert {names.get(x["id"], x["id"]) for x in r.json()["results"]} == expected


@pytest.mark.parametrize(("params", "field"), [
    ({"actor": "narnia"}, "actor"),
    ({"claimant": "nobody"}, "claimant"),
    ({"claimant_kind": "oracle"}, "claimant_kind"),
])
def test_unknown_filter_values_are_400(client, world, claims, params, field):
    r = client.get(REPORTS, params)
    assert r.status_code == 400 and field in r.json()["errors"]


def test_claimants_list_and_detail(client, world, claims):
    r = client.get("/api/v1/claimants/")
    assert r.status_code == 200
    slugs = [c["slug"] for c in r.json()["results"]]
    assert set(slugs) == {"armenia-mod", "azerbaijan-mod", "tracker"}
    one = client.get("/api/v1/claimants/armenia-mod/").json()
    assert one["party"] == "armenia" and one["kind_label"] == "Government or ministry"
    assert [c["slug"] for c in client.get("/api/v1/claimants/",
                                          {"kind": "tracker"}).json()["results"]] == ["tracker"]
    assert client.get("/api/v1/claimants/", {"party": "narnia"}).status_code == 400
    assert "claimants" in client.get("/api/v1/").json()["resources"]


def test_reports_csv_carries_actors_and_claimant(client, world, claims):
    rows = read_csv(client.get(REPORTS, {"format": "csv", "obligation": world.ceasefire.pk}))
    by_id = {int(row["id"]): row for row in rows}
    claim = by_id[claims["claim"].pk]
    assert claim["actors"] == "azerbaijan" and claim["claimant"] == "armenia-mod"
    denial = by_id[claims["denial"].pk]
    assert denial["contests"] == str(claims["claim"].pk) and denial["finding"] == "false"
    assert by_id[claims["finding"].pk]["finding"] == "true"


def test_a_page_of_reports_costs_the_same_queries_at_any_length(client, world, claims):
    def queries(extra: int) -> int:
        Report.objects.filter(summary__startswith="bulk").delete()
        for i in range(extra):
            r = _report(world, V.CLAIM_VIOLATION, datetime(2021, 7, 1, tzinfo=UTC),
                        f"bulk {i}", claimant=claims["am_mod"], contests=claims["claim"])
            r.actors.set([world.azerbaijan, world.armenia])
        cache.clear()
        with CaptureQueriesContext(connection) as ctx:
            r = client.get(REPORTS, {"page_size": 200})
        assert r.status_code == 200
        return len(ctx.captured_queries)

    assert queries(3) == queries(40)


# ---------------------------------------------------------------- writes


def body(world, **over) -> dict:
    data = {
        "obligation": world.ceasefire.pk, "claim": "violation",
        "occurred_at": "2022-09-13T10:00:00+04:00", "summary": "Shelling of Jermuk.",
        "sources": [world.source.pk],
    }
    data.update(over)
    return data


def test_an_editor_drafts_a_report_with_actors_claimant_and_a_contest(world, claims, editor):
    c = token_client(editor)
    r = c.post(REPORTS, body(world, actors=["azerbaijan"], claimant="armenia-mod"),
               format="json")
    assert r.status_code == 201, r.content
    made = Report.objects.get(pk=r.json()["id"])
    assert [p.slug for p in made.actors.all()] == ["azerbaijan"]
    assert made.claimant == claims["am_mod"]
    assert r.json()["actors"] == ["azerbaijan"] and r.json()["claimant"]["slug"] == "armenia-mod"

    r = c.post(REPORTS, body(world, claim="denial", claimant="azerbaijan-mod",
                             contests=made.pk, summary="Denied."), format="json")
    assert r.status_code == 201, r.content
    assert r.json()["contests"] == made.pk


def test_a_finding_by_the_tracker_claimant_is_created_on_first_use(world, editor):
    r = token_client(editor).post(REPORTS, body(world, claimant="tracker"), format="json")
    assert r.status_code == 201, r.content
    assert r.json()["finding"] is True
    assert Claimant.objects.get(slug="tracker").kind == V.CLAIMANT_TRACKER


@pytest.mark.parametrize(("over", "field", "words"), [
    ({"actors": ["narnia"]}, "actors", "not a party"),
    ({"claimant": "nobody"}, "claimant", "No claimant"),
    ({"claim": "denial"}, "contests", "denial"),
    ({"contests": "OTHER_TERM"}, "contests", "another term"),
    ({"contests": 999999}, "contests", "No report"),
    ({"claimant": "tracker", "sources": []}, "sources", ""),
])
def test_bad_claims_are_400_naming_the_field_and_store_nothing(world, claims, editor, over,
                                                               field, words):
    if over.get("contests") == "OTHER_TERM":
        other = Report.objects.filter(obligation=world.aghdam_return).first()
        over = {"contests": other.pk}
    before = (Report.objects.count(), Claimant.objects.count())
    r = token_client(editor).post(REPORTS, body(world, **over), format="json")
    assert r.status_code == 400, r.content
    errors = r.json()["errors"]
    assert field in errors and words in " ".join(errors[field])
    assert (Report.objects.count(), Claimant.objects.count()) == before


def test_an_actor_outside_the_agreement_is_refused(world, claims, editor):
    from tracker.models import Party

    Party.objects.create(slug="unhcr", name="UNHCR", kind="monitor")
    r = token_client(editor).post(REPORTS, body(world, actors=["unhcr", "azerbaijan"]),
                                  format="json")
    assert r.status_code == 400
    assert "unhcr" in r.json()["errors"]["actors"][0]
    assert not Report.objects.filter(summary="Shelling of Jermuk.").exists()


def test_a_finding_without_sources_is_refused_by_the_editorial_rules(world, claims, editor):
    from django.core.exceptions import ValidationError

    from tracker import editorial

    with pytest.raises(ValidationError) as refused:
        editorial.create_report(
            author=editor, obligation=world.ceasefire, claim=V.CLAIM_VIOLATION,
            occurred_at=datetime(2022, 9, 13, tzinfo=UTC), summary="Finding.", sources=[],
            claimant="tracker", actors=["azerbaijan"],
        )
    assert any("finding" in m for m in refused.value.message_dict["sources"])
    assert not Report.objects.filter(summary="Finding.").exists()


def test_a_draft_edit_keeps_and_checks_the_claims(world, claims, editor):
    from tracker import editorial

    draft = editorial.create_report(
        author=editor, obligation=world.ceasefire, claim=V.CLAIM_VIOLATION,
        occurred_at=datetime(2022, 9, 13, tzinfo=UTC), summary="Draft.",
        sources=[world.source], claimant=claims["am_mod"], actors=[world.azerbaijan],
    )
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        editorial.update_draft(draft, user=editor, version=draft.version, contests=draft.pk)
    assert "contests" in refused.value.message_dict
    saved = editorial.update_draft(draft, user=editor, version=draft.version,
                                   actors=["armenia", "azerbaijan"])
    assert {p.slug for p in saved.actors.all()} == {"armenia", "azerbaijan"}
    assert saved.claimant == claims["am_mod"]


# ---------------------------------------------------------------- feeds and webhooks


def test_atom_entries_tell_the_actor_the_claimant_and_the_contested_account(client, world,
                                                                            claims):
    StatusEvent.objects.create(
        obligation=world.ceasefire, from_status=V.IN_FORCE, to_status=V.DISPUTED,
        effective_at=claims["denial"].occurred_at, detected_at=PUBLISHED, cause=V.CAUSE_FACTS,
        report=claims["denial"],
    )
    text = client.get("/feeds/events.atom").content.decode()
    assert "Complete ceasefire: Disputed" in text
    assert "Denies any shelling. Claimed by Ministry of Defence of Azerbaijan." in text
    assert ("It contests: Shelling near Verin Shorzha. Actors: Azerbaijan. Claimed by "
            "Ministry of Defence of Armenia.") in text


def test_webhook_payload_carries_actors_claimant_and_both_accounts(world, claims):
    event = StatusEvent.objects.create(
        obligation=world.ceasefire, from_status=V.IN_FORCE, to_status=V.DISPUTED,
        effective_at=claims["denial"].occurred_at, detected_at=PUBLISHED, cause=V.CAUSE_FACTS,
        report=claims["denial"],
    )
    data = notify.payload(StatusEvent.objects.select_related(
        "obligation__agreement", "report").get(pk=event.pk))
    assert data["to_status"] == "disputed" and data["to_status_label"] == "Disputed"
    assert data["from_status_label"] == "In force"
    assert data["report"]["claimant"]["slug"] == "azerbaijan-mod"
    assert data["report"]["contests"] == claims["claim"].pk
    assert data["contested_report"]["actors"] == ["azerbaijan"]
    assert data["contested_report"]["claimant"]["slug"] == "armenia-mod"
    assert data["contested_report"]["finding"] is False
