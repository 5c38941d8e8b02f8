"""The dashboard's side of claims and chains: who says what on each report, competing
accounts, contested text, the agreements that followed, how terms ended.

A made-up chain on the November 2020 world of `conftest.build_world`: a statement
that implements it (January 2021) and a declaration (August 2025) that supersedes
one of its terms with a term of its own and terminates another; two ministries that
contradict each other on a ceasefire incident, and a finding that settles a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime
from html import escape

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
    checkpoint: Report  # an act by Azerbaijan on the peacekeepers' term (Russia's)


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
    checkpoint = _report(w.term, V.CLAIM_VIOLATION, local_day(2023, 4, 23),
                         "Checkpoint set up at the Hakari bridge.", press, am_mod, [az])
    w.gazakh.text_dispute = "Only in the Kremlin's published text; not in the Armenian text."
    w.gazakh.save()
    sweep.run()
    return Chain(w, moscow, washington, link, route, claim, denial, finding, checkpoint)


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
    assert re.search(r"<strong>Supersedes:</strong> <a href=\"/agreements/nov-2020/"
                     r"transport-link/\">", followed)
    assert 'replacement: <a href="/agreements/aug-2025/route/">Route through Syunik</a>' \
        in followed
    assert "<strong>Terminates:</strong>" in followed and "Working group on point 9." in followed
    assert "White House on 08 August 2025" in followed  # the relation's sources


def test_before_a_relation_takes_hold_no_page_shows_it(client, chain):
    # Signed on 8 August 2025: on 1 August its page says so, and the earlier
    # agreement's page shows nothing of what came after (no hindsight).
    r = client.get("/agreements/aug-2025/?as_of=2025-08-01")
    assert "Not yet signed." in text(r)
    earlier = client.get("/agreements/nov-2020/?as_of=2025-08-01")
    followed = earlier.content.decode().split('id="h-followed-by"')[1].split("</section>")[0]
    assert "/agreements/aug-2025/" not in followed
    after = client.get("/agreements/aug-2025/?as_of=2025-08-09")
    builds = after.content.decode().split('id="h-builds-on"')[1].split('id="h-followed-by"')[0]
    assert '<a href="/agreements/nov-2020/transport-link/?as_of=2025-08-09">' in builds


def test_overview_lists_the_chain_in_signing_order(client, chain):
    r = client.get("/?as_of=2026-01-01")
    html = r.content.decode()
    section = html.split('id="h-chain"')[1].split("</section>")[0]
    titles = re.findall(r'<li><a href="/agreements/([\w-]+)/\?as_of=2026-01-01"[^>]*>', section)
    assert titles == ["nov-2020", "jan-2021", "aug-2025"]
    assert "<strong>Implements:</strong>" in section and "<strong>Supersedes:</strong>" in section


def test_the_agreement_list_links_a_superseded_term_to_its_replacement(client, chain):
    def item(html: str) -> str:
        listed = html.split('id="h-obligations"')[1]
        return listed.split(f'<h4><a href="{NOV}transport-link/')[1].split("</li>")[0]

    now = item(client.get(NOV).content.decode())
    assert "status-superseded" in now
    assert 'replacement: <a href="/agreements/aug-2025/route/">Route through Syunik</a>' in now
    before = item(client.get(NOV + "?as_of=2025-08-01").content.decode())
    assert "replacement:" not in before and "status-superseded" not in before


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
    assert f'Contested by: <a href="#report-{chain.denial.pk}">report of 13 May 2021</a>' \
        in re.sub(r"\s+", " ", claim)
    denial = html.split(f'id="report-{chain.denial.pk}"')[1].split("</li>")[0]
    assert f'Contests: <a href="#report-{chain.claim.pk}">report of 12 May 2021</a>' \
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


# ---------------------------------------------------------------- disputes and endings


def test_a_dispute_shows_every_account_side_by_side(client, chain):
    r = client.get(obligation_url(chain.world.ceasefire, as_of="2021-05-14"))
    html = r.content.decode()
    assert re.search(r'<p class="status-line"><span class="badge status-disputed">', html)
    section = html.split('id="h-dispute"')[1].split("</section>")[0]
    accounts = re.findall(r'<li class="account" id="account-(\d+)">', section)
    assert accounts == [str(chain.claim.pk), str(chain.denial.pk)]
    assert "Ministry of Defence of Armenia" in section
    assert "Ministry of Defence of Azerbaijan" in section
    assert "Shelling near Verin Shorzha reported." in section
    assert "Reports of shelling are untrue." in section
    assert section.count("Press agency on 13 May 2021") == 2  # each account's source
    # Never a breach: neither party stands violated while the accounts conflict.
    standings = html.split('id="h-standings"')[1].split("</section>")[0]
    assert "status-violated" not in standings and "charged to it" not in standings


def test_a_finding_settles_and_the_history_keeps_the_dispute(client, chain):
    html = client.get(obligation_url(chain.world.ceasefire, as_of="2021-07-10")).content.decode()
    # The July incident is settled by the finding: only May's accounts are still open.
    section = html.split('id="h-dispute"')[1].split("</section>")[0]
    accounts = re.findall(r'<li class="account" id="account-(\d+)">', section)
    assert accounts == [str(chain.claim.pk), str(chain.denial.pk)]
    history = html.split('id="h-history"')[1]
    items = re.findall(r"<li><time[^>]*>[^<]*</time>:(.*?)</li>", history, re.S)
    shown = [re.findall(r'status-(\w+)"', i) for i in items]
    # Newest first: the July denial's dispute, the July violation, May's dispute, May's
    # claim, entry into force: both disputes stay in the history.
    assert shown == [[V.VIOLATED, V.DISPUTED], [V.DISPUTED, V.VIOLATED],
                     [V.VIOLATED, V.DISPUTED], [V.IN_FORCE, V.VIOLATED], [V.IN_FORCE]]
    assert "tl-span-disputed" in html  # drawn on the timeline, apart from breaches
    finding = html.split(f'id="report-{chain.finding.pk}"')[1].split("</li>")[0]
    assert "Editorial finding" in finding


def test_an_act_by_a_party_the_term_does_not_bind_is_charged_to_it_as_such(client, chain):
    html = client.get(obligation_url(chain.world.term, as_of="2023-04-24")).content.decode()
    standings = html.split('id="h-standings"')[1].split("</section>")[0]
    az = re.search(r"<li>Azerbaijan:(.*?)</li>", standings, re.S).group(1)
    assert "status-violated" in az and "an act by a party the term does not bind" in az
    assert "charged to it as a breach" in az
    ru = re.search(r"<li>Russia:(.*?)</li>", standings, re.S).group(1)
    assert "status-in_force" in ru and "charged" not in ru


def test_a_superseded_term_names_the_agreement_and_its_replacement(client, chain):
    r = client.get(obligation_url(chain.link, as_of="2026-01-01"))
    html = r.content.decode()
    assert re.search(r'<p class="status-line"><span class="badge status-superseded">', html)
    ending = html.split('id="h-ending"')[1].split("</section>")[0]
    assert '<a href="/agreements/aug-2025/?as_of=2026-01-01">Washington declaration' in ending
    assert ('replacement: <a href="/agreements/aug-2025/route/?as_of=2026-01-01">'
            'Route through Syunik</a>') in ending
    assert "White House on 08 August 2025" in ending
    # Before the declaration the term is not ended.
    assert 'id="h-ending"' not in client.get(
        obligation_url(chain.link, as_of="2025-08-01")).content.decode()


def test_a_term_ended_by_a_report_gives_the_reports_cause(client, chain):
    html = client.get(obligation_url(chain.world.term, as_of="2025-01-01")).content.decode()
    ending = html.split('id="h-ending"')[1].split("</section>")[0]
    assert "status-terminated" in ending
    assert "Peacekeepers complete their withdrawal." in ending and "#report-" in ending
    terminated = client.get(obligation_url(chain.world.prisoners, as_of="2026-01-01"))
    ending = terminated.content.decode().split('id="h-ending"')[1].split("</section>")[0]
    assert "<strong>Terminates:</strong>" in ending and "White House" in ending


def test_contested_text_is_disputed_never_overdue_anywhere(client, chain):
    html = client.get(obligation_url(chain.world.gazakh)).content.decode()
    assert re.search(r'<p class="status-line"><span class="badge status-disputed">', html)
    assert "tl-span-overdue" not in html and "days overdue" not in html
    assert "contested text from" in html  # the timeline says why, in words
    dispute = html.split('id="h-dispute"')[1].split("</section>")[0]
    assert "exists only in some versions of the text" in dispute
    overview = client.get("/").content.decode()
    overdue = overview.split('id="h-overdue"')[1].split("</section>")[0]
    assert "Gazakh" not in overdue


# ---------------------------------------------------------------- scores


def test_scores_page_gives_each_party_its_score_and_breakdown(client, chain):
    r = client.get("/scores/?as_of=2023-04-24")
    assert r.status_code == 200
    html = r.content.decode()
    summary = html.split('id="h-scores"')[1].split("</table>")[0]
    assert re.findall(r'<th scope="row"><a href="#party-(\w+)">', summary) == [
        "armenia", "azerbaijan", "russia"]
    azerbaijan = html.split('id="party-azerbaijan"')[1].split("</section>")[0]
    # The checkpoint: 0 points for Azerbaijan on Russia's term, marked as such, linked to
    # the term and the report.
    row = re.search(r"<tr><th scope=\"row\"><a href=\"/agreements/nov-2020/peacekeeping-term/"
                    r"\?as_of=2023-04-24\">(.*?)</tr>", azerbaijan, re.S).group(1)
    assert ">0</a>" in row and "Breach by a party the term does not bind" in row
    assert f"peacekeeping-term/?as_of=2023-04-24#report-{chain.checkpoint.pk}" in row
    russia = html.split('id="party-russia"')[1].split("</section>")[0]
    assert "Breach by a party" not in russia
    # Gazakh is not scored for Armenia: contested text.
    armenia = html.split('id="party-armenia"')[1].split("</section>")[0]
    assert re.search(r"gazakh-return/\?as_of=2023-04-24\">[^<]+</a> \(disputed: "
                     r"only some versions of the text carry it\)", armenia)


def test_scores_chart_is_accessible_with_a_table_and_marks(client, chain):
    html = client.get("/scores/").content.decode()
    svg = re.search(r'<svg class="scores-chart".*?</svg>', html, re.S).group(0)
    assert 'role="img"' in svg and 'aria-labelledby="sc-title sc-desc"' in svg
    desc = re.search(r'<desc id="sc-desc">(.*?)</desc>', svg).group(1)
    assert "Azerbaijan:" in desc and "breaches marked:" in desc
    assert svg.count('class="sc-mark sc-mark-disputed"') >= 2  # the two ceasefire disputes
    assert 'class="sc-mark sc-mark-violated"' in svg
    table = html.split("The chart&#x27;s figures as a table")[1] if "&#x27;" in html.split(
        "figures as a table")[0][-20:] else html.split("figures as a table")[1]
    months = re.findall(r'<th scope="row"><time datetime="(\d{4}-\d\d)-01">', table)
    assert months[0] == "2020-12" and len(months) >= 72
    moves = html.split('id="h-moves"')[1].split("</ol>")[0]
    assert "Complete ceasefire</a>" in moves and "status-disputed" in moves


def test_scores_page_refuses_an_unknown_agreement(client, chain):
    r = client.get("/scores/?agreement=nowhere")
    assert r.status_code == 400 and "agreement=&#x27;nowhere&#x27;" in r.content.decode()
    r = client.get("/scores/?agreement=aug-2025&as_of=2026-01-01")
    assert r.status_code == 200
    assert re.findall(r'<th scope="row"><a href="#party-(\w+)">', r.content.decode()) == [
        "armenia"]


def test_overview_charges_each_breach_to_its_actor(client, chain):
    html = client.get("/?as_of=2023-04-24").content.decode()
    table = html.split('id="h-parties"')[1].split("</table>")[0]
    groups = re.findall(r'<th scope="col" class="num group-(\w+)">', table)

    def row(name: str) -> dict[str, int]:
        cells = re.search(rf'<th scope="row">{name}(.*?)</tr>', table, re.S).group(1)
        return dict(zip(groups, map(int, re.findall(r'class="num group-\w+">(\d+)<', cells)),
                        strict=True))

    # The checkpoint is Azerbaijan's act on Russia's term: Russia has no breach.
    assert row("Russia")["breached"] == 0
    assert row("Azerbaijan")["breached"] == 1
    assert "incl. 1 breach of a term that does not bind it" in table
    # Gazakh's contested text is nobody's breach, and the conflicting accounts of
    # Azerbaijan's act on the ceasefire leave Armenia's standing in force.
    assert row("Armenia")["breached"] == 0 and row("Armenia")["disputed"] == 1
    # May 2021's disputed incident ended with the end of violations reported in March
    # 2022 (naming no actor, it ends every open one): by 2023 nobody stands disputed on
    # the ceasefire.
    assert row("Azerbaijan")["disputed"] == 0
