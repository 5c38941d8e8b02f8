"""A November 2020 world built with the ORM for the dashboard tests.

It follows the reference timeline: Kalbajar moved from 15 to 25 November (agreed
on the 15th), Aghdam on the 20th, Lachin on 1 December (its first report later
corrected), the Gazakh territories never returned (overdue), the ceasefire
violated in March 2022 and from September 2023, the peacekeepers' renewable term
ended early in June 2024, the prisoner exchange under way.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest

from deadlines import sweep
from deadlines.engine import due_instant
from tests.shared import shared_rows
from tracker import vocabulary as V
from tracker.models import (
    Agreement,
    Clause,
    ClauseVariant,
    DeadlineChange,
    Location,
    Obligation,
    Party,
    Report,
    Source,
)

EFFECTIVE = datetime(2020, 11, 9, 21, tzinfo=UTC)  # 00:00 Moscow, 10 Nov 2020
PUBLISHED = datetime(2020, 12, 31, tzinfo=UTC)


def local_day(y: int, m: int, d: int) -> datetime:
    """00:00 in Baku (UTC+4 in 2020-2024) on that day, in UTC."""
    return datetime(y, m, d, tzinfo=UTC) - (datetime(2020, 1, 1, 4, tzinfo=UTC) - datetime(
        2020, 1, 1, tzinfo=UTC))


@dataclass
class World:
    agreement: Agreement
    kalbajar: Obligation
    aghdam: Obligation
    gazakh: Obligation
    lachin: Obligation
    ceasefire: Obligation
    term: Obligation
    prisoners: Obligation


def _place(slug, en, alt="", az="", aliases=(), lat=None, lon=None, kind="district"):
    names = {"en": en}
    if az:
        names["az"] = az
    return Location.objects.create(
        slug=slug, kind=kind, names=names, alt_name=alt, aliases=list(aliases),
        latitude=lat, longitude=lon,
    )


def _report(obligation, claim, occurred, summary, sources, **kw):
    r = Report.objects.create(
        obligation=obligation, claim=claim, occurred_at=occurred, summary=summary,
        review_state=kw.pop("review_state", V.PUBLISHED),
        published_at=kw.pop("published_at", PUBLISHED), origin="file", **kw,
    )
    r.sources.set(sources)
    return r


def build_world(do_sweep: bool = True) -> World:
    az = Party.objects.create(slug="azerbaijan", name="Azerbaijan")
    am = Party.objects.create(slug="armenia", name="Armenia")
    ru = Party.objects.create(slug="russia", name="Russia", kind="guarantor")
    unhcr = Party.objects.create(slug="unhcr", name="UNHCR", kind="monitor")
    aghdam = _place("aghdam", "Aghdam", "Akna", "Ağdam", ["Agdam"], 39.99, 46.93)
    kalbajar = _place("kalbajar", "Kalbajar", "Karvachar", "Kəlbəcər", ["Kelbajar"], 40.11, 46.04)
    lachin = _place("lachin", "Lachin", "Berdzor", "Laçın", ["Lachin corridor"], 39.64, 46.55)
    gazakh = _place("gazakh", "Gazakh", "", "Qazax", ["Kazakh"], 41.09, 45.37)
    khankendi = _place("khankendi", "Khankendi", "Stepanakert", "Xankəndi", [], 39.82, 46.75,
                       kind="town")
    nowhere = _place("giyamaddinli", "Giyamaddinli", kind="village")
    a = Agreement.objects.create(
        slug="nov-2020", title="Trilateral statement of 10 November 2020",
        signed_at=EFFECTIVE, effective_at=EFFECTIVE, timezone="Asia/Baku",
        description="Ceasefire in Nagorno-Karabakh.",
    )
    a.parties.set([az, am, ru])
    kremlin = Source.objects.create(
        agreement=a, key="kremlin", url="https://example.org/statement", publisher="Kremlin",
        title="Statement", published_at=date(2020, 11, 10), language="en",
    )
    jam = Source.objects.create(
        agreement=a, key="jam-news", url="https://example.org/jam-kelbajar",
        publisher="JAM News", title="Kelbajar handover postponed",
        published_at=date(2020, 11, 15), language="en",
    )
    aljazeera = Source.objects.create(
        agreement=a, key="aljazeera", url="https://example.org/aljazeera-aghdam",
        publisher="Al Jazeera", published_at=date(2020, 11, 20),
    )
    c1 = Clause.objects.create(agreement=a, number="1", text="Complete ceasefire.", position=1)
    c2 = Clause.objects.create(agreement=a, number="2", text="Aghdam returned by 20 Nov.",
                               position=2)
    v = ClauseVariant.objects.create(
        clause=c2, version="Some versions",
        text="… and the territories held in the Gazakh district",
    )
    v.sources.set([kremlin])
    c4 = Clause.objects.create(agreement=a, number="4", text="Peacekeepers' term.", position=4)
    c6 = Clause.objects.create(agreement=a, number="6", text="Kalbajar by 15 Nov, Lachin by "
                               "1 Dec.", position=6)
    c7 = Clause.objects.create(agreement=a, number="7", text="Return of displaced persons.",
                               position=7)
    c8 = Clause.objects.create(agreement=a, number="8", text="Exchange of prisoners.",
                               position=8)

    def deadline(clause, slug, title, due, places, position, original=None):
        o = Obligation.objects.create(
            agreement=a, clause=clause, slug=slug, title=title, kind=V.DEADLINE,
            category="withdrawal", due_date=due, original_due_date=original or due,
            due_at=due_instant(due, a.zone), position=position,
        )
        o.responsible.set([am])
        o.monitors.set([ru])
        o.locations.set(places)
        o.sources.set([kremlin])
        return o

    aghdam_o = deadline(c2, "aghdam-return", "Return of the Aghdam district",
                        date(2020, 11, 20), [aghdam], 1)
    gazakh_o = deadline(c2, "gazakh-return", "Return of territories in the Gazakh district",
                        date(2020, 11, 20), [gazakh], 2)
    kalbajar_o = deadline(c6, "kalbajar-return", "Return of the Kalbajar district",
                          date(2020, 11, 25), [kalbajar], 1, original=date(2020, 11, 15))
    lachin_o = deadline(c6, "lachin-return", "Return of the Lachin district",
                        date(2020, 12, 1), [lachin], 2)
    ceasefire = Obligation.objects.create(
        agreement=a, clause=c1, slug="ceasefire", title="Complete ceasefire", kind=V.ONGOING,
        category="ceasefire", position=1, starts_at=EFFECTIVE,
    )
    ceasefire.responsible.set([az, am])
    ceasefire.monitors.set([ru])
    ceasefire.sources.set([kremlin])
    term = Obligation.objects.create(
        agreement=a, clause=c4, slug="peacekeeping-term", title="Peacekeepers' renewable term",
        kind=V.ONGOING, category="deployment", position=1, starts_at=EFFECTIVE,
        term_years=5, renews_years=5, notice_months=6,
    )
    term.responsible.set([ru])
    term.locations.set([khankendi, lachin])
    idps = Obligation.objects.create(
        agreement=a, clause=c7, slug="idp-return", title="Return of displaced persons",
        kind=V.OPEN, category="humanitarian", position=1,
    )
    idps.monitors.set([unhcr])
    idps.locations.set([nowhere])
    prisoners = Obligation.objects.create(
        agreement=a, clause=c8, slug="prisoner-exchange", title="Exchange of prisoners",
        kind=V.OPEN, category="humanitarian", position=1,
    )
    prisoners.responsible.set([az, am])

    change = DeadlineChange.objects.create(
        obligation=kalbajar_o, due_date=date(2020, 11, 25),
        agreed_at=datetime(2020, 11, 15, 8, tzinfo=UTC),
        reason="Postponed at Armenia's request", review_state=V.PUBLISHED,
        published_at=PUBLISHED, origin="file",
    )
    change.sources.set([jam])
    _report(aghdam_o, V.CLAIM_COMPLETED, local_day(2020, 11, 20),
            "Azerbaijani army enters Aghdam.", [aljazeera], occurred_date_only=True)
    _report(kalbajar_o, V.CLAIM_COMPLETED, local_day(2020, 11, 25),
            "Azerbaijani army enters Kalbajar.", [jam], occurred_date_only=True)
    wrong = _report(lachin_o, V.CLAIM_COMPLETED, local_day(2020, 11, 29),
                    "Lachin handed over (first report).", [jam],
                    superseded_at=datetime(2021, 1, 5, tzinfo=UTC))
    _report(lachin_o, V.CLAIM_COMPLETED, local_day(2020, 12, 1),
            "Azerbaijani army enters the Lachin district.", [jam], supersedes=wrong,
            correction_reason="The handover happened on 1 December, not 29 November.")
    _report(ceasefire, V.CLAIM_VIOLATION, local_day(2022, 3, 24),
            "Parukh taken; Russian MoD reports a breach.", [jam])
    _report(ceasefire, V.CLAIM_VIOLATION_ENDED, local_day(2022, 3, 28),
            "Troops pull back from Parukh.", [jam], unconfirmed=True)
    _report(ceasefire, V.CLAIM_VIOLATION, datetime(2023, 9, 19, 9, tzinfo=UTC),
            "Azerbaijani offensive.", [aljazeera])
    _report(term, V.CLAIM_TERMINATED, local_day(2024, 6, 12),
            "Peacekeepers complete their withdrawal.", [aljazeera])
    _report(prisoners, V.CLAIM_PROGRESS, local_day(2020, 12, 14),
            "First all-for-all exchange.", [aljazeera])
    _report(prisoners, V.CLAIM_COMPLETED, local_day(2020, 12, 15),
            "Draft: everyone released.", [aljazeera], review_state=V.DRAFT, published_at=None)
    if do_sweep:
        sweep.run()
    return World(a, kalbajar_o, aghdam_o, gazakh_o, lachin_o, ceasefire, term, prisoners)


# Built once for a module's tests; each test's writes roll back (tests/shared.py).
_world_rows = shared_rows(build_world)


@pytest.fixture
def world(_world_rows, db) -> World:
    return _world_rows.copy() if _world_rows.is_open else build_world()
