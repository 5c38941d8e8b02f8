"""Redis away: anonymous reads still answer from PostgreSQL, without caching or
throttling, the log says so once, and /healthz names the degraded part; when Redis
is back, caching and throttling resume."""

from __future__ import annotations

import logging

import pytest

from tests.own_redis import own_redis  # noqa: F401 - fixture
from tracker import outage
from tracker.api import fastcache

URL = "/api/v1/obligations/"


@pytest.fixture
def api_on_own_redis(settings, own_redis, monkeypatch):  # noqa: F811
    settings.CACHES = {"default": {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": own_redis.url(),
        "OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
    }}
    settings.REDIS_URL = own_redis.url()
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {**settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"],
                                   "anon": "8/minute"},
    }
    monkeypatch.setattr(outage, "RETRY_SECONDS", 0.2)
    outage.reset()
    fastcache.forget_local()
    yield own_redis
    outage.reset()
    fastcache.forget_local()


def test_reads_answer_while_redis_is_down_and_caching_and_throttling_resume(
    world, client, api_on_own_redis, caplog
):
    redis_server = api_on_own_redis
    assert client.get(URL).status_code == 200
    assert redis_server.keys("*api:body:*"), "a public body is cached in Redis"

    redis_server.stop()
    fastcache.forget_local()  # nothing left in this process's memory either
    with caplog.at_level(logging.WARNING, logger="tracker.outage"):
        codes = [client.get(URL).status_code for _ in range(20)]
        health = client.get("/healthz")
    assert codes == [200] * 20, "more than the anon rate, none throttled, none failed"
    outage_warnings = [r for r in caplog.records if r.name == "tracker.outage"]
    assert len(outage_warnings) == 1, [r.getMessage() for r in outage_warnings]
    assert "cache unavailable" in outage_warnings[0].getMessage()
    assert health.status_code == 200
    assert health.json()["parts"]["database"] == "ok"
    assert health.json()["parts"]["cache"] == "down"
    assert "cache" in health.json()["degraded"]
    assert health.json()["status"] == "degraded"

    redis_server.start()
    import time

    time.sleep(outage.RETRY_SECONDS + 0.1)
    fastcache.forget_local()
    with caplog.at_level(logging.WARNING, logger="tracker.outage"):
        assert client.get(URL).status_code == 200
    assert any("available again" in r.getMessage() for r in caplog.records)
    assert redis_server.keys("*api:body:*"), "caching resumed"
    assert outage.down() == {}
    codes = [client.get(URL).status_code for _ in range(8)]
    assert codes[-1] == 429, f"throttling resumed: {codes}"  # 8/minute, 9 in the window
    assert client.get("/healthz").json()["parts"]["cache"] == "ok"


def test_health_says_503_only_when_the_database_is_down(db, client, monkeypatch):
    from tracker import health

    body = client.get("/healthz")
    assert body.status_code == 200
    assert body["Cache-Control"].startswith("max-age=0")
    assert body.json()["parts"]["database"] == "ok"

    monkeypatch.setattr(health, "_database", lambda: False)
    down = client.get("/healthz")
    assert down.status_code == 503
    assert down.json()["status"] == "down"
    assert "database" in down.json()["degraded"]
