"""The overview's stored counts (tracker.web.snapshot): made by the worker right after
it stores statuses, shown only while they are current, never replaced by an older count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import transaction
from django.db.models import F

from deadlines import sweep, tasks
from tests.web.conftest import EFFECTIVE, World
from tracker import services, statuses
from tracker import vocabulary as V
from tracker.instants import AsOf
from tracker.models import Obligation, OverviewSnapshot, Report
from tracker.web import snapshot

HELD, COUNTED = "held", "counted"


def overview(client) -> tuple[object, str]:
    """The page, and whether it used the stored counts or counted (and stored) anew."""
    before = OverviewSnapshot.objects.values_list("taken_at", flat=True).first()
    r = client.get("/")
    assert r.status_code == 200
    after = OverviewSnapshot.objects.values_list("taken_at", flat=True).first()
    return r, HELD if after == before else COUNTED


def shown(r) -> dict[str, int]:
    return {c["status"]["key"]: c["n"] for c in r.context["agreements"][0]["counts"]}


def party(r, slug: str) -> dict[str, int]:
    row = next(p for p in r.context["parties"] if p.slug == slug)
    return {key: n for key, _, n in row.groups}


def publish_gazakh_done(world: World) -> None:
    """A reviewer publishes that the Gazakh territories were returned, years late: the
    write flags the obligation and (on commit, in production) enqueues its reassessment."""
    Report.objects.create(
        obligation=world.gazakh, claim=V.CLAIM_COMPLETED,
        occurred_at=EFFECTIVE + timedelta(days=1500), summary="Four villages transferred.",
        review_state=V.PUBLISHED, published_at=EFFECTIVE + timedelta(days=1500),
    )
    services.facts_changed([world.gazakh.pk])


@pytest.mark.django_db
def test_first_view_after_a_reassessed_report_reads_the_workers_counts(client, world):
    r, _ = overview(client)
    assert r.context["overdue_total"] == 1
    publish_gazakh_done(world)
    tasks.reassess([world.gazakh.pk])  # what the worker runs once the write commits
    r, how = overview(client)
    assert how == HELD  # read, not counted
    assert r.context["overdue_total"] == 0
    assert shown(r)[V.COMPLETED_LATE] == 1
    assert party(r, "armenia")["late"] == 1
    assert r.context["overdue"] == []


@pytest.mark.django_db
def test_a_sweep_without_the_worker_shows_on_the_next_view_all_the_same(client, world):
    overview(client)
    publish_gazakh_done(world)
    sweep.run(ids=[world.gazakh.pk])  # no refresh: its events change the version
    r, how = overview(client)
    assert how == COUNTED
    assert r.context["overdue_total"] == 0
    assert overview(client)[1] == HELD  # and the count was kept


@pytest.mark.django_db
def test_a_replay_from_the_command_shows_at_once(client, world):
    overview(client)
    # Moving back to 16 November 2020 writes no events (history is not rewritten), so
    # no version sees it: the command recounts after the sweep.
    call_command("sweep", as_of="2020-11-16T00:00:00+04:00", stdout=StringIO())
    r, how = overview(client)
    assert how == HELD
    expected = statuses.status_counts_many([world.agreement], AsOf())[world.agreement.pk]
    assert shown(r) == {s: n for s, n in expected.items() if n}
    assert r.context["overdue_total"] == 0
    assert expected[V.PENDING] >= 4  # Aghdam, Gazakh, Kalbajar, Lachin not yet due


@pytest.mark.django_db
def test_a_change_no_version_sees_shows_once_the_counts_are_too_old(client, world):
    before, _ = overview(client)
    sweep.run(datetime(2020, 11, 16, tzinfo=UTC))  # a replay backwards, no refresh
    assert snapshot.holds(snapshot.head())
    assert overview(client)[0].context["overdue_total"] == before.context["overdue_total"] == 1
    OverviewSnapshot.objects.update(
        taken_at=F("taken_at") - snapshot.max_age() - timedelta(seconds=1)
    )
    r, how = overview(client)
    assert how == COUNTED
    assert r.context["overdue_total"] == 0


@pytest.mark.django_db
def test_a_slow_count_never_replaces_a_newer_one(client, world):
    overview(client)
    slow = snapshot.head()  # a request starts counting...
    old = snapshot.count()  # ...and counts before the report is reassessed
    publish_gazakh_done(world)
    tasks.reassess([world.gazakh.pk])  # the worker commits and counts afresh
    assert snapshot.store(slow, old) is False
    r, how = overview(client)
    assert how == HELD
    assert r.context["overdue_total"] == 0


@pytest.mark.django_db
def test_a_count_labelled_before_a_change_is_not_used_after_it(client, world):
    overview(client)
    state = snapshot.head()  # the version is read first...
    publish_gazakh_done(world)
    sweep.run(ids=[world.gazakh.pk])  # ...a change commits meanwhile...
    assert snapshot.store(state, snapshot.count()) is True  # ...and is counted
    # Labelled older than what it counted: not used, counted again.
    assert not snapshot.holds(snapshot.head())
    r, how = overview(client)
    assert how == COUNTED
    assert r.context["overdue_total"] == 0


@pytest.mark.django_db
def test_new_links_and_deletions_change_the_version(client, world):
    r, _ = overview(client)
    total = sum(shown(r).values())
    met, open_ = party(r, "azerbaijan")["met"], party(r, "azerbaijan")["open"]
    first = snapshot.head().version
    # Azerbaijan made responsible for Kalbajar too (completed): one more met.
    world.kalbajar.responsible.add(world.ceasefire.responsible.get(slug="azerbaijan"))
    second = snapshot.head().version
    assert second != first
    r, how = overview(client)
    assert how == COUNTED
    assert party(r, "azerbaijan")["met"] == met + 1
    # The prisoner exchange (in progress, Azerbaijan and Armenia) deleted.
    world.prisoners.delete()
    assert snapshot.head().version != second
    r, how = overview(client)
    assert how == COUNTED
    assert sum(shown(r).values()) == total - 1
    assert party(r, "azerbaijan")["open"] == open_ - 1


@pytest.mark.django_db
def test_counts_equal_a_fresh_count_of_the_rows(world):
    counts = snapshot.refresh()
    assert counts.by_agreement == {
        world.agreement.pk: {
            s: n for s, n in statuses.status_counts_many(
                [world.agreement], AsOf())[world.agreement.pk].items()
        }
    }
    # The terms whose reports name no actors, by party: with the engine's standings of
    # the others, the standings a count of every row gives.
    qs = Obligation.objects.all()
    assert counts.by_party == statuses.tally(
        qs.exclude(statuses.attributed()), AsOf(), [world.agreement],
        ("agreement_id", "responsible__id"))
    assert counts.by_party
    assert statuses.party_tally(qs, AsOf(), [world.agreement], counts.by_party) == (
        statuses.party_tally(qs, AsOf(), [world.agreement]))
    assert counts.upcoming == list(
        Obligation.objects.filter(kind=V.DEADLINE, status__in=[V.PENDING, V.DUE_SOON])
        .order_by("due_at", "pk").values_list("pk", flat=True)[: snapshot.NEXT_DEADLINES]
    )
    assert counts.overdue == [world.gazakh.pk]


@pytest.mark.worker
def test_the_worker_recounts_after_a_published_fact(celery_worker_process, client):
    """Through the broker, as in production: the first view after the worker is done
    reads its counts and shows the new status."""
    from tests.conftest import wait_until
    from tests.factories import ObligationFactory, ReportFactory

    proc, log = celery_worker_process
    o = ObligationFactory(due_date=datetime(2020, 11, 20).date())

    def stored() -> dict[str, int]:
        data = OverviewSnapshot.objects.filter(pk=snapshot.ROW).values_list("data", flat=True)
        counts = snapshot.Counts.from_json(data[0] if data else {})
        return dict(counts.by_agreement.get(o.agreement_id, {}))

    tasks.sweep.delay()
    wait_until(lambda: stored() == {V.OVERDUE: 1}, describe=lambda: log.read_text()[-3000:])
    with transaction.atomic():
        ReportFactory(obligation=o, occurred_at=datetime(2020, 11, 19, 20, tzinfo=UTC))
        services.facts_changed([o.pk])  # enqueues the reassessment on commit
    wait_until(lambda: stored() == {V.COMPLETED: 1}, describe=lambda: log.read_text()[-3000:])
    r, how = overview(client)
    assert how == HELD
    assert shown(r) == {V.COMPLETED: 1}
