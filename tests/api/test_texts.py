"""The agreement's own words through the API: `title`, `description` and `clause_text`
in the requested language (Accept-Language or ?lang=), English where that language has
none, and `language` saying which language each was actually given in."""

from __future__ import annotations

from datetime import date

import pytest
from django.utils import translation

from tracker.models import ClauseText, Source

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _interface_language_reset():
    # ?lang= activates a language in this thread; later tests expect the default.
    yield
    translation.deactivate()

OBL = "/api/v1/obligations/"
RU_POINT_2 = "Агдамский район возвращается (текст для проверки)."
HY_POINT_2 = "Աղդամի շրջանը վերադարձվում է (փորձնական տեքստ)."


@pytest.fixture
def texts(world):
    clause = world.aghdam_return.clause
    source = Source.objects.create(
        agreement=world.agreement, key="ru-text", url="https://example.org/ru-text",
        publisher="Example Publisher", title="Russian text", published_at=date(2020, 11, 10),
        language="ru",
    )
    ClauseText.objects.create(clause=clause, language="ru", text=RU_POINT_2).sources.set(
        [source])
    ClauseText.objects.create(clause=clause, language="hy", text=HY_POINT_2,
                              translation=True, note="Translated from the Russian text.")
    world.aghdam_return.titles = {"ru": "Возвращение Агдамского района"}
    world.aghdam_return.descriptions = {"ru": "Описание по-русски."}
    world.aghdam_return.save()
    world.agreement.titles = {"hy": "Եռակողմ հայտարարություն (փորձնական)"}
    world.agreement.save()
    return world


def detail(client, world, obligation, **headers):
    response = client.get(f"{OBL}{obligation.pk}/", **headers)
    assert response.status_code == 200, response.content
    return response.json()


def test_the_russian_text_title_and_description_by_accept_language(client, texts):
    body = detail(client, texts, texts.aghdam_return, HTTP_ACCEPT_LANGUAGE="ru")
    assert body["title"] == "Возвращение Агдамского района"
    assert body["description"] == "Описание по-русски."
    assert body["clause_text"]["text"] == RU_POINT_2
    assert body["clause_text"]["number"] == "2"
    assert body["clause_text"]["translation"] is False
    assert [s["url"] for s in body["clause_text"]["sources"]] == ["https://example.org/ru-text"]
    assert body["language"] == {"title": "ru", "description": "ru", "clause_text": "ru"}
    assert body["clause"] == "2"  # the identifier is unchanged


def test_a_translation_says_it_is_one_and_the_title_falls_back(client, texts):
    body = detail(client, texts, texts.aghdam_return, QUERY_STRING="lang=hy")
    assert body["clause_text"]["text"] == HY_POINT_2
    assert body["clause_text"]["translation"] is True
    assert body["clause_text"]["note"] == "Translated from the Russian text."
    # No Armenian title or description: English, and `language` says so.
    assert body["title"] == texts.aghdam_return.title
    assert body["language"] == {"title": "en", "description": "en", "clause_text": "hy"}


def test_english_where_the_language_has_no_text(client, texts):
    body = detail(client, texts, texts.ceasefire, HTTP_ACCEPT_LANGUAGE="az")
    assert body["clause_text"]["text"] == texts.ceasefire.clause.text
    assert body["clause_text"]["sources"] == []
    assert body["language"]["clause_text"] == "en"


def test_the_list_gives_each_row_in_the_language_and_keeps_field_names(client, texts):
    en = client.get(OBL, {"ordering": "id"}).json()["results"]
    ru = client.get(OBL, {"ordering": "id", "lang": "ru"}).json()["results"]
    assert [list(r) for r in ru] == [list(r) for r in en]
    by_slug = {r["slug"]: r for r in ru}
    assert by_slug["aghdam-return"]["clause_text"]["text"] == RU_POINT_2
    assert by_slug["aghdam-return"]["language"]["title"] == "ru"
    others = [r for r in ru if r["slug"] != "aghdam-return"]
    assert others and all(r["language"]["title"] == "en" for r in others)
    assert {r["slug"]: r["title"] for r in others} == {
        r["slug"]: r["title"] for r in en if r["slug"] != "aghdam-return"}


def test_as_of_answers_carry_the_same_texts(client, texts):
    body = client.get(f"{OBL}{texts.aghdam_return.pk}/",
                      {"as_of": "2020-11-16", "lang": "ru"}).json()
    assert body["clause_text"]["text"] == RU_POINT_2
    assert body["title"] == "Возвращение Агдамского района"


def test_agreements_give_title_and_description_in_the_language(client, texts):
    url = f"/api/v1/agreements/{texts.agreement.slug}/"
    hy = client.get(url, {"lang": "hy"}).json()
    assert hy["title"] == "Եռակողմ հայտարարություն (փորձնական)"
    assert hy["language"] == {"title": "hy", "description": "en"}
    assert hy["description"] == texts.agreement.description
    en = client.get(url).json()
    assert en["title"] == texts.agreement.title
    assert en["language"] == {"title": "en", "description": "en"}


def test_a_new_clause_text_is_served_at_once(client, world):
    """Bodies are cached under the data version: a clause text added moves it."""
    first = detail(client, world, world.aghdam_return, HTTP_ACCEPT_LANGUAGE="ru")
    assert first["language"]["clause_text"] == "en"
    ClauseText.objects.create(clause=world.aghdam_return.clause, language="ru",
                              text=RU_POINT_2)
    again = detail(client, world, world.aghdam_return, HTTP_ACCEPT_LANGUAGE="ru")
    assert again["clause_text"]["text"] == RU_POINT_2
