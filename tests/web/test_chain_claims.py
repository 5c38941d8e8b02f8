"""The dashboard's side of claims and chains: who says what on each report, competing
accounts, contested text, the agreements that followed, how terms ended.

A made-up chain on the November 2020 world of `conftest.build_world`: a statement
that implements it (January 2021) and a declaration (August 2025) that supersedes
one of its terms with a term of its own and terminates another; two ministries that
contradict each other on a ceasefire incident, and a finding that settles a second.
"""

from __future__ import annotations

import re
from html import escape
from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from django.urls import reverse

from deadlines import sweep
from tests.web.conftest import World, build_world, local_day
from tests.web.test_views import text
from tracker import vocabulary as V
from tracker.models import (
    Agreement,
    AgreementRelation,
    Claimant,
    Obligation,
    Party,
    Report,
    Source,
)

pytestmark = pytest.mark.django_db
NOV = "/agreements/nov-2020/"


@dataclass
class Chain:
    world: World
    moscow: Agreement
    washington: Agreement
    link: Obligation  # the 2020 transport link, superseded in 2025
    route: Obligation  # the 2025 route that replaces it
    claim: Report  # Armenia's MoD: Azerbaijan violated the ceasefire
    denial: Report  # Azerbaijan's MoD denies it
    finding: Report  # the tracker's finding on a second incident


def _source(agreement: Agreement, key: str, publisher: str, day: date) -> Source:
    return Source.objects.create(
        agreement=agreement, key=key, url=f"https://example.org/{key}", publisher=publisher,
        title=f"{publisher} on {day:%d %B %Y}", published_at=day,
    )


def _report(o: Obligation, claim: str, at: datetime, summary: str, source: Source,
            claimant: Claimant | None = None, actors=(), contests: Report | None = None):
    r = Report.objects.create(
        obligation=o, claim=claim, occurred_at=at, summary=summary, review_state=V.PUBLISHED,
        published_at=at, origin="file", claimant=claimant, contests=contests,
    )
    r.sources.set([source])
    r.actors.set(actors)
    Obligation.objects.filter(pk=o.pk).update(needs_assessment=True)
    return r


def build_chain() -> Chain:
    w = build_world(do_sweep=False)
    az, am = Party.objects.get(slug="azerbaijan"), Party.objects.get(slug="armenia")
    ru = Party.objects.get(slug="russia")
    link = Obligation.objects.create(
        agreement=w.agreement, clause=w.ceasefire.clause, slug="transport-link",
        title="Transport link under FSB control", kind=V.OPEN, category="transport",
        position=5,
    )
    link.responsible.set([am, ru])
    moscow = Agreement.objects.create(
        slug="jan-2021", title="Moscow statement of 11 January 2021",
        signed_at=datetime(2021, 1, 11, 12, tzinfo=UTC),
        effective_at=datetime(2021, 1, 11, 12, tzinfo=UTC), timezone="Asia/Baku",
    )
    moscow.parties.set([az, am, ru])
    washington = Agreement.objects.create(
        slug="aug-2025", title="Washington declaration of 8 August 2025",
        signed_at=datetime(2025, 8, 8, 16, tzinfo=UTC),
        effective_at=datetime(2025, 8, 8, 16, tzinfo=UTC), timezone="Asia/Baku",
    )
    washington.parties.set([az, am])
    route = Obligation.objects.create(
        agreement=washington, slug="route", title="Route through Syunik", kind=V.OPEN,
        category="transport", position=1,
    )
    route.responsible.set([am])
    implements = AgreementRelation.objects.create(
        agreement=moscow, kind=V.IMPLEMENTS, target_agreement=w.agreement,
        at=moscow.signed_at, note="Working group on point 9.",
    )
    implements.sources.set([_source(moscow, "kremlin-2021", "Kremlin", date(2021, 1, 11))])
    supersedes = AgreementRelation.objects.create(
        agreement=washington, kind=V.SUPERSEDES, target_agreement=w.agreement, target=link,
        replacement=route, at=washington.signed_at,
    )
    white_house = _source(washington, "white-house", "White House", date(2025, 8, 8))
    supersedes.sources.set([white_house])
    ends = AgreementRelation.objects.create(
        agreement=washington, kind=V.TERMINATES, target_agreement=w.agreement,
        target=w.prisoners, at=washington.signed_at,
    )
    ends.sources.set([white_house])
    am_mod = Claimant.objects.create(slug="am-mod", name="Ministry of Defence of Armenia",
                                     kind=V.CLAIMANT_GOVERNMENT, party=am)
    az_mod = Claimant.objects.create(slug="az-mod", name="Ministry of Defence of Azerbaijan",
                                     kind=V.CLAIMANT_GOVERNMENT, party=az)
    tracker = Claimant.objects.create(slug="tracker", name="Ceasefire-terms tracker",
                                      kind=V.CLAIMANT_TRACKER)
    press = _source(w.agreement, "incident-press", "Press agency", date(2021, 5, 13))
    claim = _report(w.ceasefire, V.CLAIM_VIOLATION, local_day(2021, 5, 12),
                    "Shelling near Verin Shorzha reported.", press, am_mod, [az])
    denial = _report(w.ceasefire, V.CLAIM_DENIAL, local_day(2021, 5, 13),
                     "Reports of shelling are untrue.", press, az_mod, contests=claim)
    second = _report(w.ceasefire, V.CLAIM_VIOLATION, local_day(2021, 7, 1),
                     "Fire at the border near Yeraskh.", press, az_mod, [am])
    _report(w.ceasefire, V.CLAIM_DENIAL, local_day(2021, 7, 2),
            "Armenian positions did not fire.", press, am_mod, contests=second)
    finding = _report(w.ceasefire, V.CLAIM_VIOLATION_ENDED, local_day(2021, 7, 3),
                      "Both accounts read; fire exchanged on 1 July, over on the 3rd.", press,
                      tracker, [am], contests=second)
    w.gazakh.text_dispute = "Only in the Kremlin's published text; not in the Armenian text."
    w.gazakh.save()
    sweep.run()
    return Chain(w, moscow, washington, link, route, claim, denial, finding)


@pytest.fixture
def chain(db) -> Chain:
    return build_chain()


def obligation_url(o: Obligation, **query) -> str:
    url = reverse("web:obligation", args=[o.agreement.slug, o.slug])
    return url + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


# ---------------------------------------------------------------- the chain


def test_agreement_page_names_what_came_after_it(client, chain):
    r = client.get(NOV)
    html, body = r.content.decode(), text(r)
    assert "Place in the chain of agreements" in body
    assert "This agreement refers to no earlier agreement in the tracker." in body
    followed = html.split('id="h-followed-by"')[1].split("</section>")[0]
    assert '<a href="/agreements/jan-2021/">Moscow statement of 11 January 2021</a>' in followed
    assert '<a href="/agreements/aug-2025/">Washington declaration of 8 August 2025</a>' in followed
    assert re.search(r"<strong>Supersedes</strong> the term <a href=\"/agreements/nov-2020/"
                     r"transport-link/\">", followed)
    assert 'replaced by <a href="/agreements/aug-2025/route/">Route through Syunik</a>' in followed
    assert "<strong>Terminates</strong>" in followed and "Working group on point 9." in followed
    assert "White House on 08 August 2025" in followed  # the relation's sources


def test_agreement_page_names_what_it_builds_on_and_keeps_the_date(client, chain):
    r = client.get("/agreements/aug-2025/?as_of=2025-08-01")
    html = r.content.decode()
    builds = html.split('id="h-builds-on"')[1].split('id="h-followed-by"')[0]
    assert '<a href="/agreements/nov-2020/transport-link/?as_of=2025-08-01">' in builds
    assert '<a href="/agreements/nov-2020/?as_of=2025-08-01">Trilateral statement' in builds
    # Signed on 8 August: on 1 August the relation has not taken hold yet.
    assert "(after the date shown)" in text(r)
    assert "No later agreement in the tracker refers to this one." in text(r)


def test_overview_lists_the_chain_in_signing_order(client, chain):
    r = client.get("/?as_of=2026-01-01")
    html = r.content.decode()
    section = html.split('id="h-chain"')[1].split("</section>")[0]
    titles = re.findall(r'<li><a href="/agreements/([\w-]+)/\?as_of=2026-01-01">', section)
    assert titles == ["nov-2020", "jan-2021", "aug-2025"]
    assert "<strong>Implements</strong>" in section and "<strong>Supersedes</strong>" in section


def test_a_replacement_term_links_back_to_the_term_it_replaces(client, chain):
    body = text(client.get(obligation_url(chain.route)))
    assert "Takes the place of Transport link under FSB control" in body
    html = client.get(obligation_url(chain.link)).content.decode()
    later = html.split("Later agreements")[1].split("</dd>")[0]
    assert '<a href="/agreements/aug-2025/route/">Route through Syunik</a>' in later


# ---------------------------------------------------------------- claims


def test_every_report_shows_who_says_so_and_whose_act_it_was(client, chain):
    r = client.get(obligation_url(chain.world.ceasefire))
    html = r.content.decode()
    claim = html.split(f'id="report-{chain.claim.pk}"')[1].split("</li>")[0]
    assert "Ministry of Defence of Armenia" in claim and "Government or ministry" in claim
    assert re.search(r"Act of:\s*Azerbaijan", claim)
    assert f'Contested by <a href="#report-{chain.denial.pk}">the report of 13 May 2021</a>' \
        in re.sub(r"\s+", " ", claim)
    denial = html.split(f'id="report-{chain.denial.pk}"')[1].split("</li>")[0]
    assert f'Contests <a href="#report-{chain.claim.pk}">the report of 12 May 2021</a>' \
        in re.sub(r"\s+", " ", denial)
    finding = html.split(f'id="report-{chain.finding.pk}"')[1].split("</li>")[0]
    assert "Editorial finding" in finding
    # A report with no actors is the act of the term's responsible parties, said so.
    old = Report.objects.filter(obligation=chain.world.ceasefire, claimant=None).first()
    unnamed = html.split(f'id="report-{old.pk}"')[1].split("</li>")[0]
    assert "not recorded" in unnamed and "the term's responsible parties" in unnamed


# ---------------------------------------------------------------- contested text


def test_contested_text_is_marked_wherever_the_term_is_listed(client, chain):
    gazakh = chain.world.gazakh
    listing = client.get(NOV).content.decode()
    item = listing.split(f'{NOV}gazakh-return/')[1].split("</li>")[0]
    assert 'class="contested-text"' in item and "contested text" in item
    aghdam = listing.split(f'{NOV}aghdam-return/')[1].split("</li>")[0]
    assert "contested-text" not in aghdam
    page = client.get(obligation_url(gazakh)).content.decode()
    assert 'class="contested-note"' in page and escape(gazakh.text_dispute) in page
    # The versions side by side, each with its source.
    variants = page.split('id="h-variants"')[1].split("</section>")[0]
    assert 'class="versions contested"' in variants
    assert "Some versions" in variants and "Kremlin: Statement" in variants
    places = client.get("/places/?q=Gazakh").content.decode()
    assert "contested-text" in places.split("Return of territories in the Gazakh")[1][:400]
