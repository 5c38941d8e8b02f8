"""Actors, claimant and contests on the staff report form and in the admin: saved when
right, form errors naming the field and nothing stored when wrong, and the preview
counting them as the engine will."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from django.test import Client
from django.urls import reverse

from deadlines import sweep
from tracker import services
from tracker import vocabulary as V
from tracker.models import Claimant, Party, Report


def logged_in(user) -> Client:
    client = Client(enforce_csrf_checks=False)
    client.force_login(user)
    return client


@pytest.fixture
def parties(world):
    az = Party.objects.create(slug="azerbaijan", name="Azerbaijan")
    am = Party.objects.create(slug="armenia", name="Armenia")
    outsider = Party.objects.create(slug="unhcr", name="UNHCR", kind="monitor")
    world.agreement.parties.set([az, am])
    world.ceasefire.responsible.set([az, am])
    mod = Claimant.objects.create(slug="armenia-mod", name="Armenian MoD",
                                  kind=V.CLAIMANT_GOVERNMENT, party=am)
    claim = Report.objects.create(
        obligation=world.ceasefire, claim=V.CLAIM_VIOLATION,
        occurred_at=datetime(2021, 5, 12, tzinfo=UTC), summary="Shelling.",
        review_state=V.PUBLISHED, published_at=datetime(2021, 5, 13, tzinfo=UTC),
        origin="file", claimant=mod)
    claim.sources.set([world.source])
    claim.actors.set([az])
    other_term = Report.objects.create(
        obligation=world.aghdam, claim=V.CLAIM_COMPLETED,
        occurred_at=datetime(2020, 11, 19, tzinfo=UTC), summary="Entered Aghdam.",
        review_state=V.PUBLISHED, published_at=datetime(2020, 11, 20, tzinfo=UTC),
        origin="file")
    other_term.sources.set([world.source])
    services.facts_changed([world.ceasefire.pk, world.aghdam.pk])
    sweep.run()
    return {"az": az, "am": am, "outsider": outsider, "mod": mod, "claim": claim,
            "other_term": other_term}


def form(world, **extra):
    return {
        "obligation": world.ceasefire.pk, "claim": V.CLAIM_DENIAL,
        "occurred_at": "2021-05-12 12:00", "summary": "Denied by the other side.",
        "sources": [world.source.pk], **extra,
    }


def test_the_form_saves_actors_claimant_and_the_contested_report(world, users, parties):
    client = logged_in(users.editor)
    page = client.get(reverse("staff:report_new") + f"?obligation={world.ceasefire.pk}")
    text = page.content.decode()
    assert "Armenian MoD" in text and "editorial finding" in text
    assert f"#{parties['claim'].pk} " in text  # the term's reports, to contest
    response = client.post(reverse("staff:report_new"), form(
        world, claimant="armenia-mod", contests=str(parties["claim"].pk),
        actors=[parties["az"].pk], save="1"))
    assert response.status_code == 302, response.context["form"].errors
    made = Report.objects.get(summary="Denied by the other side.")
    assert made.contests == parties["claim"] and made.claimant == parties["mod"]
    assert list(made.actors.all()) == [parties["az"]]


@pytest.mark.parametrize(("extra", "field"), [
    ({}, "contests"),  # a denial must name what it denies
    ({"contests": "OTHER"}, "contests"),  # a report on another term
    ({"claim": V.CLAIM_VIOLATION, "actors": ["OUTSIDER"]}, "actors"),
    ({"claim": V.CLAIM_VIOLATION, "claimant": "tracker", "sources": []}, "sources"),
])
def test_bad_claims_are_form_errors_and_store_nothing(world, users, parties, extra, field):
    extra = {k: ([parties["outsider"].pk] if v == ["OUTSIDER"] else
                 str(parties["other_term"].pk) if v == "OTHER" else v)
             for k, v in extra.items()}
    before = Report.objects.count()
    response = logged_in(users.editor).post(reverse("staff:report_new"),
                                            form(world, save="1", **extra))
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert Report.objects.count() == before


def test_the_preview_counts_a_denial_as_a_dispute(world, users, parties):
    response = logged_in(users.editor).post(reverse("staff:report_new"), form(
        world, claimant="armenia-mod", contests=str(parties["claim"].pk), preview="1"))
    assert response.status_code == 200
    assert response.context["before"].status == V.VIOLATED
    assert response.context["after"].status == V.DISPUTED
    assert "Disputed" in response.content.decode()
    assert Report.objects.count() == 2


def test_the_admin_refuses_an_actor_outside_the_agreement(world, users, parties):
    client = logged_in(users.admin)
    response = client.post(reverse("admin:tracker_report_add"), {
        "obligation": world.ceasefire.pk, "claim": V.CLAIM_VIOLATION,
        "occurred_at_0": "2021-05-12", "occurred_at_1": "10:00:00",
        "summary": "Act.", "sources": [world.source.pk], "actors": [parties["outsider"].pk],
    })
    assert response.status_code == 200
    assert "actors" in response.context["adminform"].form.errors
    assert Report.objects.count() == 2


def test_the_admin_saves_a_relation_and_reassesses_the_term_it_ends(world, users, parties):
    from tracker.models import AgreementRelation, Obligation

    later = type(world.agreement).objects.get(slug="other")
    client = logged_in(users.admin)  # the admin role, not a superuser (0015's grant)
    fields = {
        "agreement": later.pk, "kind": V.TERMINATES, "target_agreement": world.agreement.pk,
        "target": world.ceasefire.pk, "at_0": "2019-01-01", "at_1": "00:00:00", "note": "x",
    }
    refused = client.post(reverse("admin:tracker_agreementrelation_add"), fields)
    assert refused.status_code == 200 and "at" in refused.context["adminform"].form.errors
    assert not AgreementRelation.objects.exists()
    Obligation.objects.filter(pk=world.ceasefire.pk).update(needs_assessment=False)
    saved = client.post(reverse("admin:tracker_agreementrelation_add"),
                        {**fields, "at_0": "2024-04-17"})
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert Obligation.objects.get(pk=world.ceasefire.pk).needs_assessment
    sweep.run()
    assert Obligation.objects.get(pk=world.ceasefire.pk).status == V.TERMINATED
