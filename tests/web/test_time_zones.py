"""Every time shown says its zone: "14:30 Baku (UTC+4)", or "UTC"."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from tests.web.test_views import AGREEMENT, text
from tracker.templatetags.zones import zoned

pytestmark = pytest.mark.django_db

TIME = re.compile(r"\b\d{1,2} \w{3} \d{4}, \d{2}:\d{2}\b(?! (?:UTC|\w[\w ]* \(UTC[+-]\d))")


def test_zoned_names_the_place_and_offset():
    at = datetime(2026, 12, 3, 10, 30, tzinfo=UTC)
    assert zoned(at, "Asia/Baku") == "3 Dec 2026, 14:30 Baku (UTC+4)"
    assert zoned(at) == "3 Dec 2026, 10:30 UTC"
    assert zoned(at.astimezone(ZoneInfo("Asia/Kolkata"))) == "3 Dec 2026, 16:00 Kolkata (UTC+5:30)"
    assert zoned(at, "America/New_York") == "3 Dec 2026, 05:30 New York (UTC-5)"
    assert zoned(at.astimezone(timezone(timedelta(hours=3)))).endswith("13:30 UTC+3")
    assert zoned(None) == ""


@pytest.mark.parametrize("params", [{}, {"as_of": "2020-11-16"}, {"as_of": "2024-05-01T12:00Z"}])
def test_no_time_without_its_zone_on_any_page(client, world, params):
    pages = ["/", AGREEMENT, AGREEMENT + "kalbajar-return/", AGREEMENT + "ceasefire/", "/map/"]
    for path in pages:
        page = text(client.get(path, params))
        assert not TIME.findall(page), (path, TIME.findall(page))
    overview = text(client.get("/", params))
    assert re.search(r"\d{2}:\d{2} Baku \(UTC\+4\)", overview)
