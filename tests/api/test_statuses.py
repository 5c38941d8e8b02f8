"""`tracker.statuses`: the one answer to "statuses at T", stored or assessed."""

from datetime import UTC, date, datetime

from django.utils import timezone

from tracker import statuses
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Obligation


def test_stored_and_assessed_now_agree(world):
    """`as_of=now` gives the stored status: the sweep stores what the engine says."""
    now = AsOf(timezone.now())
    stored = dict(statuses.obligations_at(Obligation.objects.all(), AsOf()))
    assessed = dict(statuses.obligations_at(Obligation.objects.all(), now))
    assert {k.pk: v.status for k, v in stored.items()} == {
        k.pk: v.status for k, v in assessed.items()
    }
    assert {k.pk: v.status_since for k, v in stored.items()} == {
        k.pk: v.status_since for k, v in assessed.items()
    }
    by_pk = {k.pk: v for k, v in assessed.items()}
    for o, s in stored.items():
        for field in ("due_date", "due_at", "days_remaining", "days_overdue", "term_ends_at",
                      "notice_deadline"):
            assert getattr(s, field) == getattr(by_pk[o.pk], field), (o.slug, field)


def test_kalbajar_as_it_stood(world):
    qs = Obligation.objects.filter(pk=world.kalbajar_return.pk)
    [(_, before)] = statuses.obligations_at(qs, AsOf(date(2020, 11, 13)))
    assert before.status == V.DUE_SOON and before.due_date == date(2020, 11, 15)
    [(_, moved)] = statuses.obligations_at(qs, AsOf(date(2020, 11, 16)))
    assert moved.status == V.PENDING and moved.due_date == date(2020, 11, 25)
    [(_, done)] = statuses.obligations_at(qs, AsOf(datetime(2020, 11, 26, tzinfo=UTC)))
    assert done.status == V.COMPLETED


def test_date_is_end_of_local_day(world):
    # "by 20 November": still open on the 20th, completed (reported 20 Nov local).
    qs = Obligation.objects.filter(pk=world.lachin_return.pk)
    [(_, s)] = statuses.obligations_at(qs, AsOf(date(2020, 12, 1)))
    assert s.status == V.COMPLETED
    assert s.at == datetime(2020, 12, 1, 19, 59, 59, 999999, tzinfo=UTC)


def test_filter_status_matches_engine(world):
    for at in (None, date(2020, 11, 14), date(2020, 11, 16), datetime(2020, 11, 21, tzinfo=UTC),
               timezone.now()):
        asof = AsOf(at)
        states = dict((o.pk, s.status) for o, s in statuses.obligations_at(
            Obligation.objects.all(), asof))
        for status in V.ALL_STATUSES:
            got = set(statuses.filter_status(Obligation.objects.all(), [status], asof)
                      .values_list("pk", flat=True))
            assert got == {pk for pk, s in states.items() if s == status}, (at, status)
