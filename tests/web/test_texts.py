"""The agreement's own words in the reader's language: a clause's text as published in
that language, with its source; a translation marked as one; English standing in for
a language with no text, said so in words on the page."""

from __future__ import annotations

import re
from datetime import date
from html import unescape

import pytest
from django.urls import reverse
from django.utils import translation

from tracker.models import ClauseText, Source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _interface_language_reset():
    # ?lang= activates a language in this thread; later tests expect the default.
    yield
    translation.deactivate()

RU_POINT_2 = "Агдамский район возвращается (текст для проверки)."
HY_POINT_2 = "Աղդամի շրջանը վերադարձվում է (փորձնական տեքստ)."


def visible(html: str) -> str:
    return unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)))


@pytest.fixture
def texts(world):
    clause = world.aghdam.clause
    source = Source.objects.create(
        agreement=world.agreement, key="ru-text", url="https://example.org/ru-text",
        publisher="Example Publisher", title="Russian text of the statement",
        published_at=date(2020, 11, 10), language="ru",
    )
    ru = ClauseText.objects.create(clause=clause, language="ru", text=RU_POINT_2)
    ru.sources.set([source])
    ClauseText.objects.create(clause=clause, language="hy", text=HY_POINT_2,
                              translation=True, note="Translated from the Russian text.")
    world.aghdam.titles = {"ru": "Возвращение Агдамского района"}
    world.aghdam.save()
    return world


def page(client, world, lang: str, obligation=None) -> str:
    if obligation is None:
        url = reverse("web:agreement", args=[world.agreement.slug])
    else:
        url = reverse("web:obligation", args=[world.agreement.slug, obligation.slug])
    response = client.get(url, {"lang": lang})
    assert response.status_code == 200
    return response.content.decode()


def test_the_russian_text_with_its_source_and_no_notice(client, texts):
    html = page(client, texts, "ru", texts.aghdam)
    assert f'<blockquote class="clause-text" lang="ru">{RU_POINT_2}</blockquote>' in html
    assert 'href="https://example.org/ru-text"' in html
    assert "Example Publisher: Russian text of the statement" in html
    text = visible(html)
    assert "Текст этого пункта на русском языке не записан" not in text
    assert 'class="text-translation"' not in html  # a published text, not a translation
    # The Russian title is shown, in its language, with no fallback notice for it.
    assert '<h1 lang="ru">Возвращение Агдамского района</h1>' in html
    assert "Название на русском языке не записано" not in text


def test_a_translation_is_marked_as_one(client, texts):
    html = page(client, texts, "hy", texts.aghdam)
    assert f'lang="hy">{HY_POINT_2}</blockquote>' in html
    text = visible(html)
    after = text.split(HY_POINT_2)[1]
    assert after.lstrip().startswith("Թարգմանություն")
    assert "Translated from the Russian text." in after


def test_english_stands_in_visibly_where_a_language_has_no_text(client, texts):
    # Azerbaijani: no text of point 2 recorded, no title either.
    html = page(client, texts, "az", texts.aghdam)
    clause = texts.aghdam.clause
    assert f'<blockquote class="clause-text" lang="en">{clause.text}</blockquote>' in html
    text = visible(html)
    assert "Bu bəndin azərbaycanca mətni qeydə alınmayıb; ingiliscə göstərilir." in text
    assert "Azərbaycanca başlıq qeydə alınmayıb; ingiliscə göstərilir." in text
    assert f'<h1 lang="en">{texts.aghdam.title}</h1>' in html


def test_the_notice_names_the_language_asked_for(client, texts):
    # Armenian on a point with no Armenian text (point 1): the notice in Armenian.
    text = visible(page(client, texts, "hy", texts.ceasefire))
    assert "Այս կետի հայերեն տեքստը գրանցված չէ. ցուցադրվում է անգլերենը։" in text


def test_english_readers_get_english_and_no_notice(client, texts):
    html = page(client, texts, "en", texts.aghdam)
    assert f'lang="en">{texts.aghdam.clause.text}</blockquote>' in html
    assert "showing English" not in html
    # The Russian text stands only among the clause's texts in each language, side by
    # side, not in the English reader's place.
    assert html.index(RU_POINT_2) > html.index('id="h-texts"')


def test_the_agreement_page_shows_each_clause_in_the_language(client, texts):
    html = page(client, texts, "ru")
    assert f'lang="ru">{RU_POINT_2}</blockquote>' in html
    text = visible(html)
    # Point 1 has no Russian text: English, said so.
    assert "Текст этого пункта на русском языке не записан; показан английский." in text
    # Obligation titles without a Russian version: one notice over the list.
    assert "Названия, у которых нет русской версии, показаны на английском." in text
    assert re.search(r'<h4><a href="[^"]+" lang="ru">', html)
    assert re.search(r'<h4><a href="[^"]+" lang="en">', html)
    # The agreement's title has no Russian version either.
    assert "Название на русском языке не записано; показано английское." in text


def test_the_overview_names_agreements_in_the_readers_language_or_says_it_cannot(
    client, world
):
    world.agreement.titles = {"ru": "Заявление (проверочное название)"}
    world.agreement.save()
    russian = visible(client.get(reverse("web:overview"), {"lang": "ru"}).content.decode())
    assert "Заявление (проверочное название)" in russian
    armenian = client.get(reverse("web:overview"), {"lang": "hy"}).content.decode()
    assert world.agreement.title in unescape(armenian)
    # English stands in, and the page says so.
    assert 'class="text-fallback"' in armenian
