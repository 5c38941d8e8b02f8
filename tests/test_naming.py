"""`tracker.naming`: which name holds at an instant, and the guard on the column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from tracker import naming
from tracker.instants import AsOf
from tracker.models import Location, Party

RENAMED_AT = datetime(2021, 6, 14, 20, tzinfo=UTC)


def _place() -> Location:
    return Location(
        slug="harbour", names={"en": "New Harbour", "ru": "Новая Гавань"}, alt_name="Bay Town",
        former_names=[
            # Stored out of order on purpose: the earliest `until` after the instant wins.
            {"names": {"en": "Fishport", "ru": "Рыбпорт"}, "alt_name": "Bay Town",
             "until": RENAMED_AT.isoformat(), "sources": ["https://example.org/a"]},
            {"names": {"en": "Old Fishport"}, "until": "2021-05-01T08:00:00+00:00",
             "sources": ["https://example.org/b"]},
        ],
    )


def test_the_name_in_force_at_each_instant():
    place = _place()
    assert naming.name_at(place, datetime(2021, 4, 1, tzinfo=UTC)) == "Old Fishport"
    assert naming.name_at(place, RENAMED_AT - timedelta(microseconds=1)) == (
        "Fishport / Bay Town")
    # From `until` on, the next name holds (here: today's).
    assert naming.name_at(place, RENAMED_AT) == "New Harbour / Bay Town"
    assert naming.name_at(place, None) == "New Harbour / Bay Town"


def test_a_copy_is_shown_and_the_object_is_left_as_it_is():
    place = _place()
    shown = naming.named_at(place, datetime(2021, 6, 1, tzinfo=UTC))
    assert shown is not place and shown.pk == place.pk
    assert (shown.name, shown.alt_name) == ("Fishport", "Bay Town")
    assert place.name == "New Harbour"
    assert naming.named_at(place, RENAMED_AT) is place


def test_a_label_follows_the_interface_language_with_the_forms_of_the_time():
    with translation.override("ru"):
        assert naming.name_at(_place(), datetime(2021, 6, 1, tzinfo=UTC)) == (
            "Рыбпорт (Fishport / Bay Town)")
        # Old Fishport had no Russian form recorded: the English one is shown.
        assert naming.name_at(_place(), datetime(2021, 4, 1, tzinfo=UTC)) == "Old Fishport"


def test_a_party_is_named_by_its_name_of_the_time():
    party = Party(slug="north", name="North Republic", former_names=[
        {"name": "North Province", "until": RENAMED_AT.isoformat(), "sources": ["https://x.org"]}
    ])
    assert naming.name_at(party, RENAMED_AT - timedelta(seconds=1)) == "North Province"
    assert naming.name_at(party, RENAMED_AT) == "North Republic"


def test_unreadable_entries_are_passed_over_not_failed_on():
    party = Party(slug="p", name="Today", former_names=[
        "nonsense", {"name": "No until"}, {"name": "No zone", "until": "2021-01-01T00:00:00"},
        {"name": "Bad", "until": "yesterday"},
    ])
    assert naming.name_at(party, datetime(2000, 1, 1, tzinfo=UTC)) == "Today"
    assert naming.history(party) == []
    assert len(naming.stored([*party.former_names[1:], {"until": "2020-01-01T00:00:00Z"}])) == 4


def test_history_and_forms_show_no_renaming_still_to_come():
    place = _place()
    at = datetime(2021, 6, 1, tzinfo=UTC)
    assert naming.history(place, at) == [("Old Fishport", datetime(2021, 5, 1, 8, tzinfo=UTC))]
    assert [name for name, _ in naming.history(place)] == ["Old Fishport",
                                                           "Fishport / Bay Town"]
    assert naming.forms_at(place, at) == ["Fishport", "Рыбпорт", "Bay Town", "Old Fishport"]
    assert "New Harbour" in naming.forms_at(place, None)


def test_the_instant_of_a_read():
    zone = ZoneInfo("Asia/Tbilisi")
    assert naming.instant(AsOf(), zone) is None
    # `known_at` alone asks what the tracker knew, not another instant of the world.
    assert naming.instant(AsOf(known=datetime(2022, 1, 1, tzinfo=UTC)), zone) is None
    at = naming.instant(AsOf(datetime(2021, 6, 14).date()), zone)
    assert at == datetime(2021, 6, 14, 19, 59, 59, 999999, tzinfo=UTC)


@pytest.mark.django_db
def test_former_names_are_searchable_and_saved_with_the_party():
    party = Party.objects.create(slug="north", name="North Republic", former_names=[
        {"name": "North Province", "until": RENAMED_AT.isoformat(), "sources": ["https://x.org"]}
    ])
    assert party.all_names() == ["North Republic", "North Province"]
    assert Party.objects.filter(search_text__contains="north province").get() == party
    party.former_names = []
    party.save(update_fields=["former_names"])
    assert not Party.objects.filter(search_text__contains="north province").exists()


@pytest.mark.parametrize(("value", "fragment"), [
    ({"name": "x"}, "a list"),
    ([{"until": "2021-01-01T00:00:00+00:00", "sources": ["https://x.org"]}], ".name"),
    ([{"name": "x", "until": "2021-01-01", "sources": ["https://x.org"]}], ".until"),
    ([{"name": "x", "until": "2021-01-01T00:00:00+00:00", "sources": ["key-not-url"]}],
     ".sources"),
    ([{"name": "x", "until": "2021-01-01T00:00:00+00:00", "sources": []}], ".sources"),
    ([{"name": "x", "until": "2021-01-01T00:00:00Z", "sources": ["https://x.org"]},
      {"name": "y", "until": "2021-01-01T04:00:00+04:00", "sources": ["https://x.org"]}],
     "same instant"),
    ([{"name": "x", "nmae": "y", "until": "2021-01-01T00:00:00Z", "sources": ["https://x"]}],
     "unknown keys nmae"),
])
@pytest.mark.django_db  # full_clean checks the slug's uniqueness too
def test_the_party_column_refuses_what_no_read_could_use(value, fragment):
    party = Party(slug="p", name="P", kind="signatory", former_names=value)
    with pytest.raises(ValidationError) as caught:
        party.full_clean()
    assert any(fragment in m for m in caught.value.message_dict["former_names"])


@pytest.mark.django_db
def test_the_place_column_needs_the_names_of_the_time_with_english():
    place = Location(slug="p", kind="town", names={"en": "P"}, former_names=[
        {"names": {"ru": "П"}, "until": "2021-01-01T00:00:00Z", "sources": ["https://x.org"]}])
    with pytest.raises(ValidationError) as caught:
        place.full_clean()
    assert any(".names" in m for m in caught.value.message_dict["former_names"])
    place.former_names[0]["names"]["en"] = "P-old"
    place.full_clean()  # now valid
