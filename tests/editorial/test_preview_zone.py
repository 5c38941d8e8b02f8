"""The staff preview shows a time typed without an offset in the zone it was typed in
(the agreement's), labelled, not converted to UTC."""

from __future__ import annotations

from datetime import UTC, datetime

from django.urls import reverse

from deadlines import sweep
from tests.editorial.test_staff_pages import form, logged_in


def test_preview_shows_the_local_input_in_its_zone(world, users):
    sweep.run(at=datetime(2020, 12, 31, tzinfo=UTC))
    client = logged_in(users.editor)
    response = client.post(reverse("staff:report_new"),
                           form(world, occurred_at="2020-11-20 14:30", preview="1"))
    text = response.content.decode()
    assert "Since: 20 Nov 2020, 14:30 Baku (UTC+4)" in text
    assert "10:30 UTC" not in text
