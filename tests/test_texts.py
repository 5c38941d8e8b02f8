"""tracker/texts.py on its own: which language's words a reader gets, and what they are
told when English stands in."""

from __future__ import annotations

from django.utils import translation

from tracker import texts


def test_the_requested_language_is_one_of_the_trackers():
    assert texts.requested_language("ru-RU") == "ru"
    assert texts.requested_language("HY") == "hy"
    assert texts.requested_language("de") == "en"  # not a language of the tracker
    with translation.override("az"):
        assert texts.requested_language() == "az"


def test_pick_gives_the_language_or_english_and_says_which():
    ru = texts.pick("Ceasefire", {"ru": "Прекращение огня"}, "ru")
    assert (ru.text, ru.language, ru.fallback, ru.notice) == ("Прекращение огня", "ru",
                                                              False, "")
    blank = texts.pick("Ceasefire", {"hy": "  "}, "hy")  # an empty text is no text
    assert (blank.text, blank.language, blank.fallback) == ("Ceasefire", "en", True)
    with translation.override("en"):
        assert blank.notice == "No Armenian title is recorded; showing English."
    english = texts.pick("Ceasefire", {"ru": "Прекращение огня"}, "en")
    assert (english.text, english.fallback, english.notice) == ("Ceasefire", False, "")


def test_no_notice_for_a_text_that_is_empty_in_english_too():
    shown = texts.pick("", None, "ru", kind="description")
    assert shown.fallback and shown.notice == ""


def test_the_notice_is_in_the_interface_language():
    shown = texts.pick("Ceasefire", {}, "ru", kind="description")
    with translation.override("ru"):
        assert shown.notice == "Описание на русском языке не записано; показано английское."
    with translation.override("ru"):
        notice = texts.fallback_notice("titles", [texts.pick("A", {"ru": "Б"}, "ru"), shown])
    assert notice == "Названия, у которых нет русской версии, показаны на английском."
    assert texts.fallback_notice("titles", [texts.pick("A", {"az": "B"}, "az")]) == ""
