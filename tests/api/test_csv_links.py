"""Every address in every CSV export resolves, and each row names the dashboard page a
reader can cite."""

from __future__ import annotations

import csv
import io
from urllib.parse import urlsplit

import pytest

pytestmark = pytest.mark.django_db

EXPORTS = ["obligations", "agreements", "events", "reports", "locations", "parties", "sources"]
WITH_PAGES = ["obligations", "agreements", "events", "reports", "locations"]


def _rows(client, resource) -> list[dict]:
    r = client.get(f"/api/v1/{resource}/", {"format": "csv"})
    assert r.status_code == 200
    body = b"".join(r.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def _internal_links(rows: list[dict]) -> set[str]:
    return {
        part for row in rows for cell in row.values() for part in (cell or "").split("; ")
        if part.startswith("http://testserver/")
    }


@pytest.mark.parametrize("resource", EXPORTS)
def test_every_address_in_the_export_answers_200(client, world, resource):
    rows = _rows(client, resource)
    assert rows
    links = _internal_links(rows)
    if resource != "sources":  # a source's url is the publisher's, outside the tracker
        assert links
    for link in sorted(links):
        parts = urlsplit(link)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        answer = client.get(target)
        assert answer.status_code == 200, (link, answer.status_code)


@pytest.mark.parametrize("resource", WITH_PAGES)
def test_each_row_carries_its_dashboard_page(client, world, resource):
    rows = _rows(client, resource)
    pages = [row["page_url"] for row in rows]
    assert all(p.startswith("http://testserver/") and "/api/" not in p for p in pages)


def test_a_report_row_points_at_the_report_on_its_obligation_page(client, world):
    [row] = [r for r in _rows(client, "reports") if r["id"] == str(world.kalbajar_done.pk)]
    assert row["page_url"] == (
        f"http://testserver/agreements/nov-2020/{world.kalbajar_return.slug}/"
        f"#report-{world.kalbajar_done.pk}"
    )
    page = client.get(urlsplit(row["page_url"]).path)
    assert f'id="report-{world.kalbajar_done.pk}"' in page.content.decode()
