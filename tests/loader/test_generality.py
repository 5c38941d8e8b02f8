"""Not only Karabakh: a made-up agreement in a zone with daylight saving time."""

from __future__ import annotations

from datetime import UTC, datetime

from deadlines import sweep
from tracker import vocabulary as V
from tracker.models import Agreement, ClauseVariant, Location, Obligation, Report


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_dates_become_instants_in_the_agreements_zone(river):
    agreement = Agreement.objects.get(slug="example-river-truce-2022")
    assert agreement.timezone == "Europe/Kyiv"
    assert agreement.warning_days == 5
    assert agreement.signed_at == utc(2022, 10, 1, 15, 30)

    bridge = Obligation.objects.get(slug="example-bridge-withdrawal")
    # "By 29 October" (summer time, +03:00) moved to "by 30 October": that day ends at
    # 00:00 on 31 October in winter time (+02:00): 25 hours after the first deadline.
    assert bridge.original_due_date.isoformat() == "2022-10-29"
    assert bridge.due_date.isoformat() == "2022-10-30"
    assert bridge.due_at == utc(2022, 10, 30, 22)
    change = bridge.deadline_changes.get()
    assert change.agreed_at == utc(2022, 10, 24, 21)  # a date: 00:00 local, summer time

    ended = Report.objects.get(claim=V.CLAIM_VIOLATION_ENDED)
    assert ended.occurred_date_only
    assert ended.occurred_at == utc(2022, 10, 20, 21)
    violation = Report.objects.get(claim=V.CLAIM_VIOLATION)
    assert not violation.occurred_date_only and violation.unconfirmed
    assert violation.note == "one observer only"


def test_places_parties_terms_and_variants(river):
    bridge = Location.objects.get(slug="example-bridge")
    assert bridge.label == "Old Bridge / Stone Bridge"
    assert bridge.names["uk"] == "Старий міст"
    assert "stary most" in bridge.search_text
    assert Location.objects.get(slug="example-ferry").latitude is None
    mandate = Obligation.objects.get(slug="example-observer-mandate")
    assert (mandate.term_years, mandate.renews_years, mandate.notice_months) == (1, 1, 2)
    assert mandate.clause.number == "3"
    assert sorted(p.slug for p in mandate.responsible.all()) == ["example-east", "example-west"]
    variant = ClauseVariant.objects.get()
    assert [s.key for s in variant.sources.all()] == ["example-text"]


def test_the_engine_judges_it_like_any_other(river):
    # 23:30 winter time on 30 October is before 00:00 on the 31st: on time.
    sweep.run(at=utc(2022, 11, 1))
    statuses = dict(Obligation.objects.values_list("slug", "status"))
    assert statuses == {
        "example-ceasefire": V.IN_FORCE,
        "example-bridge-withdrawal": V.COMPLETED,
        "example-observer-mandate": V.IN_FORCE,
        "example-river-traffic": V.PENDING,
    }
