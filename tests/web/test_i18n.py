"""Every dashboard and staff page in every interface language, with no English left.

The check reads the English catalogue (the msgids of locale/ru) and looks for each
interface phrase in a page's visible text after the data (titles, clause texts,
summaries, names, sources: the agreement's own words, English in the file) has been
taken out. A phrase found there is an interface string the page did not translate.
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
from django.contrib.auth.models import Group, User
from django.urls import reverse

from deadlines import sweep
from tests.catalogue import entries
from tests.shared import shared_rows
from tracker import editorial
from tracker import vocabulary as V
from tracker.models import (
    Agreement,
    AgreementRelation,
    Claimant,
    ClauseText,
    ClauseVariant,
    DeadlineChange,
    Location,
    Obligation,
    Party,
    Report,
    Source,
)

LANGUAGES = ("az", "hy", "ru")
NOV = "nov-2020-trilateral"
LATER = "i18n-later"  # a made-up follow-on agreement, for the chain's sentences
PLACEHOLDER = re.compile(r"%\(\w+\)[sdr]|<[^>]+>")


def english_phrases(language: str = "ru") -> list[str]:
    """Interface phrases to look for: each msgid's longest literal part, when it is a
    phrase long enough not to be a word any language shares, and `language` does not
    write it the same way (Azerbaijani "Status", "Region")."""
    phrases = set()
    for entry in entries(language):
        msgid, translated = entry.msgid, entry.translations[0]
        if translated == msgid:
            continue
        parts = [p.strip(" :.,;()[]–—→") for p in PLACEHOLDER.split(msgid)]
        longest = max(parts, key=len, default="")
        if (len(longest) >= 4 and re.search(r"[A-Za-z]{3}", longest)
                and longest not in translated):
            phrases.add(longest)
    return sorted(phrases, key=len, reverse=True)


def data_strings() -> list[str]:
    """Everything on a page that comes from the agreement file or an editor."""
    texts: list[str] = []
    for a in Agreement.objects.all():
        texts += [a.title, a.description, a.slug, a.timezone]
        texts += [clause.text for clause in a.clauses.all()]
    for o in Obligation.objects.all():
        texts += [o.title, o.description, o.slug, o.text_dispute]
    for c in ClauseVariant.objects.all():
        texts += [c.version, c.text]
    for t in ClauseText.objects.all():
        texts += [t.text, t.note]
    for agreement in Agreement.objects.all():
        texts += [clause.text for clause in agreement.clauses.all()]
    for rel in AgreementRelation.objects.all():
        texts += [rel.note]
    for c in Claimant.objects.all():
        texts += [c.name]
    for r in Report.objects.all():
        texts += [r.summary, r.note, r.correction_reason]
    for d in DeadlineChange.objects.all():
        texts += [d.reason, d.note]
    for s in Source.objects.all():
        texts += [s.title, s.publisher, str(s)]
    for p in Party.objects.all():
        texts += [p.name]
    for loc in Location.objects.all():
        texts += [*loc.all_names(), loc.coordinates_note]
    for u in User.objects.all():
        texts += [u.username]
    texts += ["Natural Earth", "English"]
    return sorted({t for t in texts if t}, key=len, reverse=True)


def visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S)
    # Text people read without seeing it as text: labels for screen readers, tooltips.
    attributes = " ".join(re.findall(r'(?:aria-label|title|placeholder)="([^"]*)"', html))
    return unescape(re.sub(r"<[^>]+>", " ", html) + " " + attributes)


@functools.cache
def whole_phrase(phrase: str) -> re.Pattern[str]:
    """`phrase` as a word of its own. Compiled once: the catalogue has more phrases than
    `re`'s own cache holds, so `re.search` would compile each again on every page."""
    return re.compile(rf"(?<![\w-]){re.escape(phrase)}(?![\w-])")


def english_left(html: str, data: list[str], phrases: list[str]) -> list[str]:
    text = visible_text(html)
    for d in data:
        text = text.replace(d, " ")
    # The plain substring test only skips the regex where it could not match anyway.
    return [p for p in phrases if p in text and whole_phrase(p).search(text)]


def build_world() -> dict[str, User]:
    """The November 2020 file, swept, with a staff member per role, a draft, a proposed
    deadline change and what `add_claims_and_chain` adds."""
    from tests.conftest import load_nov2020
    from tests.editorial.conftest import ensure_roles

    nov2020 = load_nov2020()
    sweep.run()

    ensure_roles()
    editor = User.objects.create_user("edith", "e@example.org", "pw-edith-1234567", is_staff=True)
    editor.groups.set(Group.objects.filter(name__in=["editor"]))
    reviewer = User.objects.create_user("rita", "r@example.org", "pw-rita-1234567", is_staff=True)
    reviewer.groups.set(Group.objects.filter(name__in=["editor", "reviewer"]))
    deadline = Obligation.objects.filter(kind=V.DEADLINE).order_by("pk").first()
    source = deadline.sources.first()
    editorial.create_report(
        author=editor, obligation=deadline, claim=V.CLAIM_PROGRESS,
        occurred_at=datetime(2020, 11, 18, 12, tzinfo=UTC), summary="Columns seen leaving.",
        sources=[source],
    )
    editorial.propose_deadline_change(
        author=editor, obligation=deadline, due_date=datetime(2020, 12, 1).date(),
        agreed_at=datetime(2020, 11, 17, tzinfo=UTC), reason="A later date was agreed.",
        sources=[source],
    )
    add_claims_and_chain(nov2020)
    return {"editor": editor, "reviewer": reviewer}


# Built once for the module's tests; each test's writes roll back (tests/shared.py).
_world_rows = shared_rows(build_world)


@pytest.fixture
def world(_world_rows, db) -> dict[str, User]:
    return _world_rows.copy() if _world_rows.is_open else build_world()


def _fact(o: Obligation, claim: str, at: datetime, summary: str, source: Source,
          claimant: Claimant | None = None, actors=(), contests: Report | None = None):
    r = Report.objects.create(
        obligation=o, claim=claim, occurred_at=at, summary=summary, review_state=V.PUBLISHED,
        published_at=at, origin="file", claimant=claimant, contests=contests,
    )
    r.sources.set([source])
    r.actors.set(actors)
    return r


def add_claims_and_chain(agreement: Agreement) -> None:
    """What the file does not (yet) carry, so that every new sentence is on a page: two
    ministries' conflicting accounts and a finding, an act by a party the term does not
    bind, contested text, a clause's text in another language, and a later agreement
    that implements, supersedes and terminates."""
    az, am = Party.objects.get(slug="azerbaijan"), Party.objects.get(slug="armenia")
    source = agreement.sources.order_by("pk").first()
    # The agreement file may already name these (the tracker's own claimant is built in).
    am_mod, _ = Claimant.objects.get_or_create(
        slug="am-mod", defaults={"name": "MoD of Armenia", "kind": V.CLAIMANT_GOVERNMENT,
                                 "party": am})
    az_mod, _ = Claimant.objects.get_or_create(
        slug="az-mod", defaults={"name": "MoD of Azerbaijan", "kind": V.CLAIMANT_GOVERNMENT,
                                 "party": az})
    finder, _ = Claimant.objects.get_or_create(
        slug="tracker", defaults={"name": "The tracker", "kind": V.CLAIMANT_TRACKER})
    ceasefire = agreement.obligations.get(slug="ceasefire")
    claim = _fact(ceasefire, V.CLAIM_VIOLATION, datetime(2021, 5, 12, tzinfo=UTC),
                  "Shelling reported.", source, am_mod, [az])
    _fact(ceasefire, V.CLAIM_DENIAL, datetime(2021, 5, 13, tzinfo=UTC), "No shelling.",
          source, az_mod, contests=claim)
    _fact(ceasefire, V.CLAIM_VIOLATION_ENDED, datetime(2021, 5, 20, tzinfo=UTC),
          "Found: over by the 20th.", source, finder, [az], contests=claim)
    corridor = agreement.obligations.get(slug="lachin-corridor-control")
    _fact(corridor, V.CLAIM_VIOLATION, datetime(2023, 4, 23, 8, tzinfo=UTC),
          "A checkpoint on the road.", source, am_mod, [az])
    gazakh = agreement.obligations.get(slug="gazakh-return")
    gazakh.text_dispute = "In some published texts only."
    gazakh.save()
    text = ClauseText.objects.create(clause=ceasefire.clause, language="ru",
                                     text="Объявляется полное прекращение огня.")
    text.sources.set([source])
    later = Agreement.objects.create(
        slug=LATER, title="A later declaration", timezone="Asia/Baku",
        signed_at=datetime(2025, 8, 8, 12, tzinfo=UTC),
        effective_at=datetime(2025, 8, 8, 12, tzinfo=UTC),
    )
    later.parties.set([az, am])
    later_source = Source.objects.create(
        agreement=later, key="later-text", url="https://example.org/later-text",
        publisher="A publisher", title="The later text", published_at=date(2025, 8, 8),
    )
    route = Obligation.objects.create(agreement=later, slug="route", title="A new route",
                                      kind=V.OPEN, category="transport")
    route.responsible.set([am])
    fsb = agreement.obligations.get(slug="nakhchivan-link-fsb-control")
    for kind, target, replacement in (
        (V.IMPLEMENTS, None, None), (V.SUPERSEDES, fsb, route),
        (V.TERMINATES, agreement.obligations.get(slug="refugee-return"), None),
    ):
        rel = AgreementRelation.objects.create(
            agreement=later, kind=kind, target_agreement=agreement, target=target,
            replacement=replacement, at=later.signed_at, note="A relation's note.",
        )
        rel.sources.set([later_source])
    Obligation.objects.update(needs_assessment=True)
    sweep.run()


def public_pages() -> list[str]:
    agreement = Agreement.objects.get(slug=NOV)
    pages = [
        reverse("web:overview"), reverse("web:overview") + "?as_of=2020-11-16",
        reverse("web:map"), reverse("web:places"), reverse("web:places") + "?q=Lachin",
        reverse("web:places") + "?q=nowhere-at-all",
        reverse("web:agreement", args=[agreement.slug]),
        reverse("web:agreement", args=[agreement.slug]) + "?status=overdue",
        reverse("web:agreement", args=[agreement.slug]) + "?as_of=2020-11-14&window=all",
        reverse("web:overview") + "?as_of=not-a-date",  # the error page
    ]
    for o in agreement.obligations.all():
        pages.append(reverse("web:obligation", args=[agreement.slug, o.slug]))
    for kind in (V.DEADLINE, V.ONGOING, V.OPEN):  # in the past: other sentences
        o = agreement.obligations.filter(kind=kind).first()
        pages.append(reverse("web:obligation", args=[agreement.slug, o.slug])
                     + "?as_of=2020-11-16")
    pages += [
        reverse("web:scores"), reverse("web:scores") + "?as_of=2023-04-24",
        reverse("web:scores") + f"?agreement={NOV}&as_of=2021-05-14",
        reverse("web:agreement", args=[LATER]),
        reverse("web:agreement", args=[LATER]) + "?as_of=2025-08-01",
        reverse("web:obligation", args=[LATER, "route"]),
        # A dispute with both accounts; an act by a party the term does not bind.
        reverse("web:obligation", args=[NOV, "ceasefire"]) + "?as_of=2021-05-14",
        reverse("web:obligation", args=[NOV, "lachin-corridor-control"]) + "?as_of=2023-04-24",
        reverse("web:obligation", args=[NOV, "nakhchivan-link-fsb-control"])
        + "?as_of=2026-01-01",
        reverse("web:obligation", args=[NOV, "refugee-return"]) + "?as_of=2026-01-01",
        reverse("web:overview") + "?as_of=2026-01-01",
    ]
    return pages


def staff_pages() -> list[str]:
    report = Report.objects.filter(review_state=V.PUBLISHED).first()
    return [
        reverse("staff:home"), reverse("staff:report_new"), reverse("staff:change_new"),
        reverse("staff:review"), reverse("staff:correct", args=[report.pk]),
    ]


def test_the_catalogue_check_finds_english(world, client):
    """The check itself: the English page is full of the phrases it looks for."""
    phrases, data = english_phrases(), data_strings()
    page = client.get(reverse("web:overview"))
    found = english_left(page.content.decode(), data, phrases)
    assert "Where the agreements stand" in found and "Next deadlines" in found


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_page_speaks_the_language(world, client, language):
    phrases, data = english_phrases(language), data_strings()
    assert len(phrases) > 150
    checked = 0
    for path in public_pages():
        sep = "&" if "?" in path else "?"
        page = client.get(f"{path}{sep}lang={language}")
        assert page.status_code in (200, 400), path
        html = page.content.decode()
        assert f'<html lang="{language}">' in html, path
        assert english_left(html, data, phrases) == [], path
        checked += 1
    for user, paths in ((world["reviewer"], staff_pages()),):
        client.force_login(user)
        for path in paths:
            page = client.get(f"{path}?lang={language}")
            assert page.status_code == 200, path
            html = page.content.decode()
            assert f'<html lang="{language}">' in html, path
            assert english_left(html, data, phrases) == [], path
            checked += 1
    assert checked >= 25


def test_staff_form_errors_are_translated(world, client):
    client.force_login(world["editor"])
    page = client.post(reverse("staff:report_new") + "?lang=ru",
                       {"occurred_at": "soon", "preview": "1"})
    html = page.content.decode()
    assert "использовать нельзя. Укажите дату (ГГГГ-ММ-ДД)" in html
    assert "Выберите источник или добавьте новый." in html


def test_the_language_is_kept_in_a_cookie_and_shown_on_every_page(world, client):
    first = client.get(reverse("web:overview") + "?lang=hy")
    assert '<html lang="hy">' in first.content.decode()
    # The next page, without ?lang=, keeps the language.
    nxt = client.get(reverse("web:map"))
    html = nxt.content.decode()
    assert '<html lang="hy">' in html and "Պարտավորություններ ունեցող վայրերի քարտեզ" in html
    # Every language is offered as a plain link to this page; the current one is marked.
    for code in ("en", "az", "ru"):
        assert f'href="/map/?lang={code}"' in html
    assert '<strong aria-current="true" lang="hy">Հայերեն</strong>' in html
    # Untranslated-by-a-speaker notice, and a way back to English.
    assert 'id="translation-note"' in html
    back = client.get(reverse("web:map") + "?lang=en").content.decode()
    assert '<html lang="en">' in back and 'id="translation-note"' not in back


def test_accept_language_picks_the_language_without_a_cookie(world, client):
    page = client.get(reverse("web:overview"), HTTP_ACCEPT_LANGUAGE="ru-RU,ru;q=0.9")
    assert '<html lang="ru">' in page.content.decode()
    assert "Положение дел по соглашениям" in page.content.decode()


def test_an_unknown_language_is_a_400_naming_the_parameter(world, client):
    page = client.get(reverse("web:overview") + "?lang=xx")
    assert page.status_code == 400
    assert "lang='xx'" in page.content.decode() and "en, az, hy, ru" in page.content.decode()


def test_dates_and_numbers_follow_the_language(world, client):
    agreement = Agreement.objects.get(slug=NOV)
    url = reverse("web:agreement", args=[agreement.slug])
    en = client.get(url + "?lang=en").content.decode()
    ru = client.get(url + "?lang=ru").content.decode()
    az = client.get(url + "?lang=az").content.decode()
    assert "Signed 10 November 2020" in en
    assert "Подписано 10 ноября 2020 г." in ru
    assert "İmzalanıb: 10 Noyabr 2020" in az
    places_ru = client.get(reverse("web:places") + "?q=Lachin&lang=ru").content.decode()
    assert re.search(r"\d+,\d\d° с\. ш\.", places_ru)  # a decimal comma


def test_place_names_show_both_sides_in_every_language(world, client):
    lachin = Location.objects.get(slug="lachin")
    for language in ("en", *LANGUAGES):
        page = client.get(reverse("web:places") + f"?q=Lachin&lang={language}")
        text = visible_text(page.content.decode())
        assert "Lachin / Berdzor" in text, language
    ru = client.get(reverse("web:places") + "?q=Lachin&lang=ru").content.decode()
    assert f"{lachin.names['ru']} (Lachin / Berdzor)" in ru
