"""The obligation detail's reads prepared once per connection (tracker.api.prepared):
the same answers as plain SQL, one PREPARE per statement and connection, and nothing
prepared where connections do not persist or the setting turns it off."""

from __future__ import annotations

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from deadlines import sweep
from tracker.api import fastcache, prepared
from tracker.models import Obligation

pytestmark = pytest.mark.django_db


@pytest.fixture
def persistent(monkeypatch):
    """Connections that outlive a request, as in production (CONN_MAX_AGE)."""
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 600)


def _statements(captured) -> list[str]:
    return [q["sql"].split()[0] for q in captured.captured_queries]


def _prepared_names() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name FROM pg_prepared_statements")
        return {name for (name,) in cursor.fetchall()}


def test_placeholders_are_numbered_in_order():
    assert prepared._numbered("a = %s OR b IN (%s, %s)") == "a = $1 OR b IN ($2, $3)"
    assert prepared._numbered("no placeholder") == "no placeholder"


def test_details_equal_plain_sql_and_prepare_once(client, nov2020, persistent, settings):
    sweep.run()
    ids = list(Obligation.objects.order_by("pk").values_list("pk", flat=True))
    settings.DATABASE_PREPARED_STATEMENTS = False
    plain = {pk: client.get(f"/api/v1/obligations/{pk}/").json() for pk in ids}
    assert not any(n.startswith("tracker_obligation_") for n in _prepared_names())

    settings.DATABASE_PREPARED_STATEMENTS = True
    fastcache.forget_local()  # rendered bodies are kept per process: read again
    with CaptureQueriesContext(connection) as first:
        for pk in ids:
            assert client.get(f"/api/v1/obligations/{pk}/").json() == plain[pk]
    # The row, its relations and (for a moved deadline) the change's sources.
    assert _statements(first).count("PREPARE") == 3
    assert {n.rsplit("_", 1)[0] for n in _prepared_names()} >= {
        "tracker_obligation_detail", "tracker_obligation_links", "tracker_change_sources"}

    fastcache.forget_local()
    with CaptureQueriesContext(connection) as later:
        for pk in ids:
            assert client.get(f"/api/v1/obligations/{pk}/").json() == plain[pk]
    assert "PREPARE" not in _statements(later)
    assert _statements(later).count("EXECUTE") >= 2 * len(ids)


@pytest.mark.django_db(transaction=True)
def test_a_new_connection_prepares_again(client, nov2020, persistent):
    pk = Obligation.objects.order_by("pk").values_list("pk", flat=True)[0]
    body = client.get(f"/api/v1/obligations/{pk}/").json()
    connection.close()
    fastcache.forget_local()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/api/v1/obligations/{pk}/").json() == body
    assert _statements(captured).count("PREPARE") >= 2  # the row and its relations


def test_a_rollback_keeps_what_was_prepared(client, nov2020, persistent):
    pk = Obligation.objects.order_by("pk").values_list("pk", flat=True)[0]
    with pytest.raises(RuntimeError), transaction.atomic():
        body = client.get(f"/api/v1/obligations/{pk}/").json()
        raise RuntimeError
    fastcache.forget_local()
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/api/v1/obligations/{pk}/").json() == body
    assert "PREPARE" not in _statements(captured)


def test_nothing_is_prepared_without_persistent_connections(client, nov2020, monkeypatch):
    monkeypatch.setitem(connection.settings_dict, "CONN_MAX_AGE", 0)
    pk = Obligation.objects.order_by("pk").values_list("pk", flat=True)[0]
    with CaptureQueriesContext(connection) as captured:
        assert client.get(f"/api/v1/obligations/{pk}/").status_code == 200
    assert not {"PREPARE", "EXECUTE"} & set(_statements(captured))


def test_a_missing_obligation_is_404_through_the_prepared_read(client, nov2020, persistent):
    top = Obligation.objects.order_by("-pk").values_list("pk", flat=True)[0]
    r = client.get(f"/api/v1/obligations/{top + 1000}/")
    assert r.status_code == 404 and r.json()["code"] == "not_found"
