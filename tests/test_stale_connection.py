"""A persistent database connection that PostgreSQL closed (pg_terminate_backend, a
restart, a failover) is replaced at the next request instead of failing it.

The request goes through Django's WSGI handler, as under gunicorn: the test client
skips the request_started hook (close_old_connections) where Django checks a kept
connection, so it cannot show this.
"""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import psycopg2
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection


def _get(path: str) -> tuple[str, bytes]:
    environ: dict = {"PATH_INFO": path, "REQUEST_METHOD": "GET", "HTTP_HOST": "127.0.0.1",
                     "wsgi.input": io.BytesIO()}
    setup_testing_defaults(environ)
    status: list[str] = []
    response = WSGIHandler()(environ, lambda s, headers, exc_info=None: status.append(s))
    try:
        body = b"".join(response)
    finally:
        response.close()
    return status[0], body


def _terminate(pid: int) -> None:
    s = connection.settings_dict
    other = psycopg2.connect(dbname=s["NAME"], user=s["USER"] or "postgres",
                             host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432)
    try:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
            assert cursor.fetchone() == (True,)
    finally:
        other.close()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", ["/api/v1/obligations/", "/healthz"])
def test_a_terminated_connection_costs_no_request(path, settings, monkeypatch):
    from tracker.api import conditional

    monkeypatch.setattr(conditional, "VERSION_TTL_SECONDS", 0)  # every request reads it
    settings.CONN_MAX_AGE = 600  # as compose runs it
    connection.settings_dict["CONN_MAX_AGE"] = 600
    connection.close()
    try:
        assert _get(path)[0].startswith("200")
        pid = connection.connection.info.backend_pid  # kept after the request
        _terminate(pid)

        status, body = _get(path)
        assert status.startswith("200"), body[:500]
        assert connection.connection.info.backend_pid != pid
        if path == "/healthz":
            assert json.loads(body)["parts"]["database"] == "ok"
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = 0
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_read_whose_connection_is_closed_halfway_is_answered(settings, monkeypatch):
    """PostgreSQL terminates the backend between two queries of one request (the
    wrapper only picks the moment: the first query of the view proper)."""
    from django.core.cache import cache

    from tracker.api import conditional, fastcache

    monkeypatch.setattr(conditional, "VERSION_TTL_SECONDS", 0)
    cache.clear()  # no body kept from another test: the view must read
    fastcache.forget_local()
    connection.settings_dict["CONN_MAX_AGE"] = 600
    connection.close()
    terminated: list[int] = []

    def terminate_once(execute, sql, params, many, context):
        if not terminated and "tracker_obligation" in sql:
            terminated.append(connection.connection.info.backend_pid)
            _terminate(terminated[0])
        return execute(sql, params, many, context)

    try:
        with connection.execute_wrapper(terminate_once):
            status, body = _get("/api/v1/obligations/")
        assert terminated, "the connection was terminated during the request"
        assert status.startswith("200"), body[:500]
        assert json.loads(body)["count"] == 0
        assert connection.connection.info.backend_pid != terminated[0]
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = 0
        connection.close()
