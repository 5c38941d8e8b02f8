"""Every agreement file at the top of fixtures/, through the real loader: each checks
clean, all load in `make run`'s order, reloading them changes nothing, each exports and
reloads unchanged, and every source names an article rather than a site."""

from __future__ import annotations

import re
import subprocess
from collections import defaultdict
from datetime import date
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

import pytest

from tests.conftest import AGREEMENT_FILES, FIXTURES, FOLLOW_ON, NOV_2020
from tests.loader.conftest import dump_database, history_rows
from tests.loader.test_roundtrip import round_trip
from tracker.loader import check_file, load, read_yaml
from tracker.loader.check import parse_when
from tracker.models import Agreement, Obligation

ROOT = FIXTURES.parent
IDS = [path.name for path in AGREEMENT_FILES]


def _data(path) -> dict:
    return read_yaml(path)[0]


def test_the_load_order_is_every_file_2020_first_then_by_signing_date():
    assert sorted(AGREEMENT_FILES) == sorted(FIXTURES.glob("*.yaml"))
    assert AGREEMENT_FILES[0] == NOV_2020 and len(FOLLOW_ON) >= 6
    signed = []
    for path in AGREEMENT_FILES:
        data = _data(path)
        signed.append(parse_when(data["signed_at"], "instant"))
        if path in FOLLOW_ON:
            local_day = signed[-1].astimezone(ZoneInfo(data["timezone"])).date()
            assert path.name[:10] == local_day.isoformat(), path.name
    assert signed == sorted(signed)


def test_make_run_and_compose_load_the_files_in_that_order():
    dry = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True,
                         timeout=60)
    assert dry.returncode == 0, dry.stderr
    [line] = [ln for ln in dry.stdout.splitlines() if "load_agreement" in ln]
    assert line.split("load_agreement", 1)[1].split() == [
        str(path.relative_to(ROOT)) for path in AGREEMENT_FILES
    ]
    compose = (ROOT / "docker-compose.yml").read_text(encoding="utf-8")
    command = re.search(r"load_agreement ([^\"\n]+)", compose).group(1).split()
    assert command[0] == str(NOV_2020.relative_to(ROOT))
    assert sorted(ROOT.glob(command[1])) == FOLLOW_ON  # sh expands it sorted, as here


@pytest.mark.parametrize("path", AGREEMENT_FILES, ids=IDS)
def test_each_file_checks_clean(path):
    spec = check_file(path)
    assert spec.slug == _data(path)["slug"]


@pytest.mark.parametrize("path", AGREEMENT_FILES, ids=IDS)
def test_every_source_names_an_article_not_a_site(path):
    for source in _data(path)["sources"]:
        url = urlsplit(source["url"])
        where = f"{path.name}: {source['key']} ({source['url']})"
        assert url.path.strip("/") or url.query, f"a site's home page: {where}"
        assert not re.fullmatch(r"/\d{4}(/\d{2}){0,2}/?", url.path), f"an archive: {where}"
        assert "exact address not recorded" not in source["title"], where


def test_shared_parties_and_places_are_described_alike_in_every_file():
    """The file loaded last sets a shared party's or place's details: if two files
    differed, loading them all again would rewrite them back and forth."""
    seen: dict[tuple[str, str], dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for path in AGREEMENT_FILES:
        data = _data(path)
        for kind in ("parties", "locations"):
            for item in data[kind]:
                seen[kind, item["slug"]][repr(sorted(item.items()))].append(path.name)
    differing = {key: list(versions.values()) for key, versions in seen.items()
                 if len(versions) > 1}
    assert differing == {}
    assert len([key for key, v in seen.items() if sum(map(len, v.values())) > 1]) >= 4


def test_all_files_load_and_reloading_them_changes_nothing(all_agreements):
    assert list(all_agreements) == [_data(path)["slug"] for path in AGREEMENT_FILES]
    assert Agreement.objects.count() == len(AGREEMENT_FILES)
    for path in AGREEMENT_FILES:
        slug = _data(path)["slug"]
        assert Obligation.objects.filter(agreement__slug=slug).count() == len(
            _data(path)["obligations"]
        ), slug
    Obligation.objects.update(needs_assessment=False)
    before, histories = dump_database(), history_rows()
    for path in AGREEMENT_FILES:
        result = load(path)
        assert not result.changed, (path.name, result.created, result.updated, result.retired)
    assert dump_database() == before
    assert history_rows() == histories


@pytest.mark.parametrize("path", FOLLOW_ON, ids=[p.name for p in FOLLOW_ON])
def test_each_follow_on_file_exports_and_reloads_unchanged(all_agreements, path, tmp_path):
    round_trip(all_agreements[_data(path)["slug"]], tmp_path)


def test_the_2020_terms_keep_their_slugs():
    """The API's stable links name the 2020 terms by slug: new terms may be added, none
    renamed or dropped."""
    slugs = {o["slug"] for o in _data(NOV_2020)["obligations"]}
    assert slugs >= {
        "ceasefire", "aghdam-return", "gazakh-return", "peacekeepers-deployment",
        "peacekeepers-term", "monitoring-centre", "monitoring-centre-operation",
        "kalbajar-return", "lachin-district-return", "lachin-corridor-control",
        "lachin-corridor-safe-passage", "new-corridor-route", "refugee-return",
        "prisoner-exchange", "transport-links-unblocking", "nakhchivan-link-guarantee",
        "nakhchivan-link-fsb-control",
    }
    assert "armenian-forces-withdrawal" in slugs
    assert date.fromisoformat(_data(NOV_2020)["signed_at"][:10]) == date(2020, 11, 9)
