from datetime import UTC, date, datetime

from django.utils import timezone

from tracker import selectors
from tracker import vocabulary as V
from tracker.models import Obligation


def test_stored_and_assessed_now_agree(world):
    now = timezone.now()
    stored = dict((o.pk, s) for o, s in selectors.obligations_at(Obligation.objects.all()))
    assessed = dict((o.pk, s) for o, s in selectors.obligations_at(Obligation.objects.all(), now))
    assert {k: v.status for k, v in stored.items()} == {k: v.status for k, v in assessed.items()}
    assert {k: v.status_since for k, v in stored.items()} == {
        k: v.status_since for k, v in assessed.items()
    }
    for pk, s in stored.items():
        assert s.term_ends_at == assessed[pk].term_ends_at
        assert s.days_overdue == assessed[pk].days_overdue


def test_kalbajar_as_it_stood(world):
    qs = Obligation.objects.filter(pk=world.kalbajar_return.pk)
    [(_, before)] = selectors.obligations_at(qs, date(2020, 11, 13))
    assert before.status == V.DUE_SOON and before.due_date == date(2020, 11, 15)
    [(_, moved)] = selectors.obligations_at(qs, date(2020, 11, 16))
    assert moved.status == V.PENDING and moved.due_date == date(2020, 11, 25)
    [(_, done)] = selectors.obligations_at(qs, datetime(2020, 11, 26, tzinfo=UTC))
    assert done.status == V.COMPLETED


def test_date_is_end_of_local_day(world):
    # "by 20 November": still open on the 20th, completed (reported 20 Nov local).
    qs = Obligation.objects.filter(pk=world.lachin_return.pk)
    [(_, s)] = selectors.obligations_at(qs, date(2020, 12, 1))
    assert s.status == V.COMPLETED
    assert s.at == datetime(2020, 12, 1, 19, 59, 59, 999999, tzinfo=UTC)


def test_filter_status_matches_engine(world):
    for at in (None, date(2020, 11, 14), date(2020, 11, 16), datetime(2020, 11, 21, tzinfo=UTC),
               timezone.now()):
        states = dict((o.pk, s.status) for o, s in selectors.obligations_at(
            Obligation.objects.all(), at))
        for status in V.ALL_STATUSES:
            got = set(selectors.filter_status(Obligation.objects.all(), [status], at)
                      .values_list("pk", flat=True))
            assert got == {pk for pk, s in states.items() if s == status}, (at, status)


def test_counts(world):
    counts = selectors.status_counts(world.agreement)
    assert sum(counts.values()) == 6
    assert counts == selectors.status_counts(world.agreement, timezone.now())
    then = selectors.status_counts(world.agreement, date(2020, 11, 14))
    assert then[V.DUE_SOON] == 1  # Kalbajar, due on the 15th
    parties = {p.party.slug: p for p in selectors.party_compliance(world.agreement)}
    assert parties["armenia"].total == 5
    assert parties["russia"].counts == {V.IN_FORCE: 1}
