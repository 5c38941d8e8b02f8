"""A small November 2020 world built with the ORM, for the API tests.

It follows the reference timeline (Kalbajar moved from 15 to 25 November, Aghdam
on the 20th, Lachin on 1 December, the peacekeepers' renewable term, the prisoner
exchange) so the time-travel tests read like the history they check.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache
from rest_framework.test import APIClient

from deadlines import sweep
from deadlines.engine import due_instant
from tests.factories import as_loaded
from tests.shared import shared_rows
from tracker import vocabulary as V
from tracker.models import (
    Agreement,
    Clause,
    DeadlineChange,
    Location,
    Obligation,
    Party,
    Report,
    Source,
)

EFFECTIVE = datetime(2020, 11, 9, 21, tzinfo=UTC)  # 00:00 Moscow, 10 Nov 2020
PUBLISHED = datetime(2020, 12, 31, tzinfo=UTC)


@dataclass
class World:
    agreement: Agreement
    azerbaijan: Party
    armenia: Party
    russia: Party
    lachin: Location
    kalbajar: Location
    aghdam: Location
    stepanakert: Location
    source: Source
    aghdam_return: Obligation
    kalbajar_return: Obligation
    lachin_return: Obligation
    ceasefire: Obligation
    peacekeeping_term: Obligation
    prisoners: Obligation
    kalbajar_change: DeadlineChange
    kalbajar_done: Report


def _deadline(agreement, clause, slug, title, due, parties, places, source, position, **kw):
    o = Obligation.objects.create(
        agreement=agreement,
        clause=clause,
        slug=slug,
        title=title,
        kind=V.DEADLINE,
        category=kw.pop("category", "withdrawal"),
        due_date=due,
        original_due_date=kw.pop("original_due_date", due),
        due_at=due_instant(due, agreement.zone),
        position=position,
        **kw,
    )
    o.responsible.set(parties)
    o.locations.set(places)
    o.sources.set([source])
    return o


def _report(obligation, claim, occurred, summary, source, **kw):
    r = Report.objects.create(
        obligation=obligation,
        claim=claim,
        occurred_at=occurred,
        summary=summary,
        review_state=kw.pop("review_state", V.PUBLISHED),
        published_at=kw.pop("published_at", PUBLISHED),
        origin="file",
        **kw,
    )
    r.sources.set([source])
    return r


def build_world() -> World:
    az = Party.objects.create(slug="azerbaijan", name="Azerbaijan")
    am = Party.objects.create(slug="armenia", name="Armenia")
    ru = Party.objects.create(slug="russia", name="Russia", kind="guarantor")
    lachin = Location.objects.create(
        slug="lachin", names={"en": "Lachin", "az": "Laçın", "hy": "Բերձոր"},
        alt_name="Berdzor", aliases=["Lachin corridor"],
    )
    kalbajar = Location.objects.create(
        slug="kalbajar", names={"en": "Kalbajar", "az": "Kəlbəcər"}, alt_name="Karvachar",
        aliases=["Kelbajar"],
    )
    aghdam = Location.objects.create(slug="aghdam", names={"en": "Aghdam", "az": "Ağdam"})
    stepanakert = Location.objects.create(
        slug="stepanakert", kind="town", names={"en": "Stepanakert", "az": "Xankəndi"},
        alt_name="Khankendi",
    )
    a = Agreement.objects.create(
        slug="nov-2020", title="Trilateral statement of 10 November 2020",
        signed_at=EFFECTIVE, effective_at=EFFECTIVE, timezone="Asia/Baku",
        description="Ceasefire in Nagorno-Karabakh.",
    )
    a.parties.set([az, am, ru])
    a.locations.set([lachin, kalbajar, aghdam, stepanakert])
    src = Source.objects.create(
        agreement=a, key="kremlin-text", url="https://example.org/statement",
        publisher="Kremlin", title="Statement", published_at=date(2020, 11, 10), language="en",
    )
    news = Source.objects.create(
        agreement=a, key="jam-news", url="https://example.org/jam", publisher="JAM News",
        language="en",
    )
    c2 = Clause.objects.create(agreement=a, number="2", text="Aghdam by 20 Nov.", position=2)
    c6 = Clause.objects.create(agreement=a, number="6", text="Kalbajar and Lachin.", position=6)
    c1 = Clause.objects.create(agreement=a, number="1", text="Ceasefire.", position=1)
    c4 = Clause.objects.create(agreement=a, number="4", text="Peacekeepers' term.", position=4)
    c8 = Clause.objects.create(agreement=a, number="8", text="Prisoner exchange.", position=8)

    aghdam_return = _deadline(a, c2, "aghdam-return", "Return of the Aghdam district",
                              date(2020, 11, 20), [am], [aghdam], src, 2)
    kalbajar_return = _deadline(a, c6, "kalbajar-return", "Return of the Kalbajar district",
                                date(2020, 11, 25), [am], [kalbajar], src, 3,
                                description="Postponed from 15 November at Armenia's request.",
                                original_due_date=date(2020, 11, 15))
    lachin_return = _deadline(a, c6, "lachin-return", "Return of the Lachin district",
                              date(2020, 12, 1), [am], [lachin], src, 4)
    ceasefire = Obligation.objects.create(
        agreement=a, clause=c1, slug="ceasefire", title="Complete ceasefire", kind=V.ONGOING,
        category="ceasefire", position=1, starts_at=EFFECTIVE,
    )
    ceasefire.responsible.set([az, am])
    ceasefire.sources.set([src])
    term = Obligation.objects.create(
        agreement=a, clause=c4, slug="peacekeeping-term", title="Peacekeepers' renewable term",
        kind=V.ONGOING, category="deployment", position=5, starts_at=EFFECTIVE,
        term_years=5, renews_years=5, notice_months=6,
    )
    term.responsible.set([ru])
    term.locations.set([stepanakert, lachin])
    term.sources.set([src])
    prisoners = Obligation.objects.create(
        agreement=a, clause=c8, slug="prisoner-exchange", title="Exchange of prisoners",
        kind=V.OPEN, category="humanitarian", position=8,
    )
    prisoners.responsible.set([az, am])
    prisoners.sources.set([src])

    change = DeadlineChange.objects.create(
        obligation=kalbajar_return, due_date=date(2020, 11, 25),
        agreed_at=datetime(2020, 11, 15, 8, tzinfo=UTC),
        reason="Postponed at Armenia's request", review_state=V.PUBLISHED,
        published_at=PUBLISHED, origin="file",
    )
    change.sources.set([news])
    _report(aghdam_return, V.CLAIM_COMPLETED, datetime(2020, 11, 19, 20, tzinfo=UTC),
            "Azerbaijani army enters Aghdam.", news)
    done = _report(kalbajar_return, V.CLAIM_COMPLETED, datetime(2020, 11, 24, 20, tzinfo=UTC),
                   "Azerbaijani army enters Kalbajar.", news)
    _report(lachin_return, V.CLAIM_COMPLETED, datetime(2020, 11, 30, 20, tzinfo=UTC),
            "Azerbaijani army enters Lachin.", news)
    _report(prisoners, V.CLAIM_PROGRESS, datetime(2020, 12, 13, 20, tzinfo=UTC),
            "First all-for-all exchange.", news)
    _report(ceasefire, V.CLAIM_VIOLATION, datetime(2022, 9, 12, 20, tzinfo=UTC),
            "Fighting on the border.", news, unconfirmed=True)
    # A draft: never a fact, never public.
    _report(ceasefire, V.CLAIM_VIOLATION_ENDED, datetime(2022, 9, 14, 20, tzinfo=UTC),
            "Draft: truce.", news, review_state=V.DRAFT, published_at=None)
    # Published from the signing, as loading the agreement's file records it.
    as_loaded(a)
    sweep.run()
    return World(a, az, am, ru, lachin, kalbajar, aghdam, stepanakert, src, aghdam_return,
                 kalbajar_return, lachin_return, ceasefire, term, prisoners, change, done)


# Built once for a module's tests; each test's writes roll back (tests/shared.py).
_world_rows = shared_rows(build_world)


@pytest.fixture
def world(_world_rows, db) -> World:
    return _world_rows.copy() if _world_rows.is_open else build_world()


@pytest.fixture(autouse=True)
def _exact_data_version(monkeypatch):
    # Tests change data with bulk and raw-SQL writes (the sweep) and look at once.
    from tracker.api import conditional

    monkeypatch.setattr(conditional, "VERSION_TTL_SECONDS", 0)
    conditional.forget()


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Throttle counters and bodies live in the cache; a test must not inherit another's.
    from tracker.api import fastcache

    cache.clear()
    fastcache.forget_local()
    yield
    cache.clear()
    fastcache.forget_local()


@pytest.fixture
def client() -> APIClient:
    return APIClient()


def _user(username: str, *groups: str, **kw) -> User:
    user = User.objects.create_user(username, password="x", **kw)
    for name in groups:
        group, _ = Group.objects.get_or_create(name=name)
        user.groups.add(group)
    return user


@pytest.fixture
def editor(db) -> User:
    return _user("editor", "editor")


@pytest.fixture
def other_editor(db) -> User:
    return _user("editor2", "editor")


@pytest.fixture
def reviewer(db) -> User:
    return _user("reviewer", "editor", "reviewer")


def token_client(user: User) -> APIClient:
    from rest_framework.authtoken.models import Token

    token, _ = Token.objects.get_or_create(user=user)
    c = APIClient()
    c.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return c
