"""Dashboard query parameters: unknown ones are a 400 naming them and the accepted
ones; the API's names (`responsible`, `location`) work as aliases; a place is found by
any of its spellings."""

from __future__ import annotations

import pytest

from tests.web.test_views import AGREEMENT, text

pytestmark = pytest.mark.django_db
PAGES = ["/", AGREEMENT, f"{AGREEMENT}kalbajar-return/", "/map/", "/places/"]


@pytest.mark.parametrize("url", PAGES)
def test_unknown_parameter_is_a_400_naming_it(client, world, url):
    r = client.get(url, {"foo": "bar"})
    assert r.status_code == 400
    shown = text(r)
    assert "'foo'" in shown and "Accepted here:" in shown and "as_of" in shown


def test_case_typo_is_refused_with_a_hint(client, world):
    r = client.get(AGREEMENT, {"Status": "overdue"})
    assert r.status_code == 400
    assert "did you mean 'status'" in text(r)


def _listed(response) -> str:
    return text(response).split("Timeline")[0]


def test_api_names_are_aliases_on_the_agreement_page(client, world):
    by_party = client.get(AGREEMENT, {"party": "armenia"})
    by_alias = client.get(AGREEMENT, {"responsible": "armenia"})
    assert by_alias.status_code == 200
    assert by_alias.context["total"] == by_party.context["total"]
    assert by_alias.context["chosen"]["party"] == "armenia"


@pytest.mark.parametrize("spelling", ["kalbajar", "Kelbajar", "KƏLBƏCƏR", "karvachar"])
@pytest.mark.parametrize("name", ["place", "location"])
def test_any_spelling_of_a_place_filters_the_agreement_page(client, world, spelling, name):
    r = client.get(AGREEMENT, {name: spelling})
    assert r.status_code == 200
    assert r.context["chosen"]["place"] == "kalbajar"
    listed = {i["o"].slug for c in r.context["clauses"] for i in c["items"]}
    assert listed and all("kalbajar" in s for s in listed)


def test_a_name_no_place_has_is_a_400(client, world):
    r = client.get(AGREEMENT, {"place": "Kelbajr"})
    assert r.status_code == 400
    assert "place='Kelbajr'" in text(r)
