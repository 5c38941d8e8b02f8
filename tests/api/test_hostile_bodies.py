"""Bodies a hostile client sends: odd digits, deep nesting, too many bytes. Each is a
4xx in the API's JSON error shape that names what is wrong, and stores nothing."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from tests.api.conftest import token_client
from tests.api.test_writes import REPORTS, body
from tracker.models import Report, Source

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int]:
    return Report.objects.count(), Source.objects.count()


@pytest.mark.parametrize(
    "source",
    ["²", "٣", "1²", "-1", "", " 1", str(2**63), 2**63, -1, 1.0, None, []],
)
def test_source_id_that_is_not_a_whole_number_is_400(world, editor, source):
    # "٣" (Arabic-Indic three) passes str.isdigit and int() takes it as 3; "²" passes
    # isdigit and int() refuses it. Neither is an id a client meant to send.
    before = _counts()
    r = token_client(editor).post(REPORTS, body(world, sources=[source]), format="json")
    assert r.status_code == 400, r.content
    assert "sources" in r.json()["errors"], r.json()
    assert _counts() == before


def test_source_id_as_ascii_digits_is_taken(world, editor):
    r = token_client(editor).post(REPORTS, body(world, sources=[str(world.source.pk)]),
                                  format="json")
    assert r.status_code == 201, r.content
    assert [s["id"] for s in r.json()["sources"]] == [world.source.pk]


@pytest.mark.parametrize("depth", [40, 2_000, 100_000])
def test_deeply_nested_json_is_400(world, editor, depth):
    before = _counts()
    payload = '{"sources": ' + "[" * depth + "]" * depth + "}"
    r = token_client(editor).post(REPORTS, data=payload, content_type="application/json")
    assert r.status_code == 400, r.content
    assert r.json()["code"] == "parse_error" and "nested" in r.json()["detail"]
    assert _counts() == before


def test_deep_nesting_under_the_limit_is_a_field_error(world, editor):
    nested = json.loads("[" * 10 + "]" * 10)
    r = token_client(editor).post(REPORTS, body(world, sources=nested), format="json")
    assert r.status_code == 400 and "sources" in r.json()["errors"]


def test_ten_megabyte_body_is_413(world, editor):
    before = _counts()
    big = body(world, summary="x" * (10 * 1024 * 1024))
    r = token_client(editor).post(REPORTS, big, format="json")
    assert r.status_code == 413, r.content[:300]
    data = r.json()
    assert data["code"] == "too_large"
    assert "bytes" in data["detail"]
    assert _counts() == before


def test_body_limit_follows_the_setting(world, editor):
    with override_settings(DATA_UPLOAD_MAX_MEMORY_SIZE=100):
        r = token_client(editor).post(REPORTS, body(world), format="json")
    assert r.status_code == 413 and "100 bytes" in r.json()["detail"]
    # A body under the limit is taken as usual.
    assert token_client(editor).post(REPORTS, body(world), format="json").status_code == 201
