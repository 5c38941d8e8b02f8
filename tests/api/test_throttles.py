"""Signed-in clients are throttled by API_USER_RATE, and whole-list exports are
bounded per client (the `export` rate) and per process (API_EXPORTS_AT_ONCE)."""

from __future__ import annotations

import pytest

from tests.api.conftest import _user, token_client

LIST = "/api/v1/obligations/"


def _rates(settings, **rates):
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                   **rates},
    }


def test_signed_in_clients_are_throttled_per_account(world, settings):
    _rates(settings, user="3/minute")
    alice, bob = _user("alice"), _user("bob")
    first, second = token_client(alice), token_client(alice)  # two clients, one account
    codes = [c.get(LIST).status_code for c in (first, second, first)]
    assert codes == [200, 200, 200]
    refused = second.get(LIST)
    assert refused.status_code == 429
    assert 0 < int(refused["Retry-After"]) <= 60
    assert refused.json()["detail"]
    assert token_client(bob).get(LIST).status_code == 200, "another account has its own"


def test_the_user_rate_does_not_touch_anonymous_reads(world, client, settings):
    _rates(settings, user="1/minute")
    assert [client.get(LIST).status_code for _ in range(3)] == [200, 200, 200]


def test_exports_have_a_rate_of_their_own(world, settings):
    _rates(settings, export="2/minute")
    c = token_client(_user("journalist"))
    for _ in range(2):
        response = c.get(LIST, {"format": "csv"})
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"id,slug,")
    refused = c.get(LIST, {"format": "csv"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert c.get(LIST).status_code == 200, "other reads are not counted as exports"


def test_a_prepared_public_export_costs_no_export_slot(world, client, settings):
    _rates(settings, export="1/minute")
    first = client.get(LIST, {"format": "csv"})
    body = b"".join(first.streaming_content)
    again = [client.get(LIST, {"format": "csv"}) for _ in range(3)]
    assert [r.status_code for r in again] == [200, 200, 200]
    assert all(r.content == body for r in again), "served from the prepared copy"


@pytest.mark.parametrize("who", ["anonymous", "signed-in"])
def test_exports_beyond_the_process_bound_are_told_to_retry(world, client, settings, who):
    settings.API_EXPORTS_AT_ONCE = 1
    c = client if who == "anonymous" else token_client(_user("reader"))
    streaming = c.get(LIST, {"format": "csv"})  # holds the one slot until closed
    assert streaming.status_code == 200
    refused = c.get("/api/v1/events/", {"format": "csv"})
    assert refused.status_code == 429
    assert int(refused["Retry-After"]) > 0
    assert "export" in refused.json()["detail"]
    assert c.get("/api/v1/events/").status_code == 200, "JSON reads are not bounded"
    b"".join(streaming.streaming_content)  # read to the end: the client closes it
    after = c.get("/api/v1/events/", {"format": "csv"})
    assert after.status_code == 200
    b"".join(after.streaming_content)
