"""Webhooks against a real HTTP receiver on 127.0.0.1 (http.server in a thread)."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from django.core import mail
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from deadlines import notify
from deadlines.models import Delivery, DeliveryAttempt, WebhookSubscription
from tests.editorial.conftest import make_users, make_world, postgres_only
from tracker import vocabulary as V
from tracker.models import StatusEvent


class Receiver:
    """Records every request; answers with the next scripted status (then 200)."""

    def __init__(self, script: list[int] | None = None):
        self.script = list(script or [])
        self.requests: list[tuple[dict, bytes, int]] = []
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's naming
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with receiver.lock:
                    code = receiver.script.pop(0) if receiver.script else 200
                    receiver.requests.append((dict(self.headers), body, code))
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def successes(self) -> list[dict]:
        return [json.loads(body) for _, body, code in self.requests if code == 200]

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(autouse=True)
def _local_receivers(settings):
    # The receivers here listen on 127.0.0.1, which webhooks refuse unless allowed
    # (tests/editorial/test_webhook_targets.py checks the refusal).
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True


@pytest.fixture
def receiver():
    made: list[Receiver] = []

    def make(script=None) -> Receiver:
        r = Receiver(script)
        made.append(r)
        return r

    yield make
    for r in made:
        r.close()


def make_event(obligation, to_status=V.OVERDUE, day=21) -> StatusEvent:
    return StatusEvent.objects.create(
        obligation=obligation, from_status=V.DUE_SOON, to_status=to_status,
        effective_at=datetime(2020, 11, day, 20, tzinfo=UTC), detected_at=timezone.now(),
        cause=V.CAUSE_SWEEP,
    )


def verify_like_the_docs(secret: str, headers: dict, body: bytes) -> bool:
    """The receiver-side snippet of docs/webhooks.md, verbatim in spirit."""
    timestamp = headers["X-Tracker-Timestamp"]
    expected = "sha256=" + hmac.new(
        secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256
    ).hexdigest()
    fresh = abs(time.time() - int(timestamp)) < 300
    return fresh and hmac.compare_digest(expected, headers["X-Tracker-Signature"])


def test_payload_is_signed_and_verifies_with_the_secret(world, receiver):
    r = receiver()
    sub = WebhookSubscription.objects.create(name="newsroom", url=r.url)
    event = make_event(world.aghdam)
    assert notify.fan_out() == 1
    assert StatusEvent.objects.get(pk=event.pk).notified_at is not None
    delivery = Delivery.objects.get()
    assert notify.deliver(delivery.pk).state == "delivered"

    [(headers, body, code)] = r.requests
    assert verify_like_the_docs(sub.secret, headers, body)
    assert notify.verify(sub.secret, headers["X-Tracker-Timestamp"], body,
                         headers["X-Tracker-Signature"])
    assert not verify_like_the_docs("wrong secret", headers, body)
    assert not verify_like_the_docs(sub.secret, headers, body + b" ")  # tampered
    data = json.loads(body)
    assert data["type"] == "obligation.status_changed"
    assert (data["event_id"], data["from_status"], data["to_status"]) == (
        event.pk, V.DUE_SOON, V.OVERDUE)
    assert data["obligation"]["slug"] == "aghdam" and data["obligation"]["agreement"] == "nov-2020"
    assert headers["X-Tracker-Delivery"] == str(delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.response_code) == ("delivered", 1, 200)
    assert delivery.latency_ms is not None


def test_filters_by_agreement_and_status_and_skips_replays(world, receiver):
    r = receiver()
    WebhookSubscription.objects.create(name="all", url=r.url)
    WebhookSubscription.objects.create(name="done", url=r.url,
                                       statuses=[V.COMPLETED])
    other = WebhookSubscription.objects.create(name="other", url=r.url)
    other.agreements.set([world.other_source.agreement])
    WebhookSubscription.objects.create(name="off", url=r.url, state=WebhookSubscription.DISABLED)
    make_event(world.aghdam, V.OVERDUE)
    make_event(world.aghdam, V.COMPLETED, day=22)
    StatusEvent.objects.create(  # replayed history leaves the outbox already notified
        obligation=world.aghdam, from_status="", to_status=V.PENDING,
        effective_at=datetime(2020, 11, 9, 21, tzinfo=UTC), detected_at=timezone.now(),
        cause=V.CAUSE_BACKFILL, notified_at=timezone.now(),
    )
    assert notify.fan_out() == 3  # "all" gets both, "done" one, "other"/"off" none
    assert sorted(Delivery.objects.values_list("subscription__name", "event__to_status")) == [
        ("all", V.COMPLETED), ("all", V.OVERDUE), ("done", V.COMPLETED),
    ]
    assert notify.fan_out() == 0  # the outbox is empty now


def test_a_receiver_failing_twice_then_succeeding_gets_the_event_exactly_once(world, receiver):
    r = receiver([500, 503])
    WebhookSubscription.objects.create(name="flaky", url=r.url)
    make_event(world.aghdam)
    notify.fan_out()
    delivery = Delivery.objects.get()
    outcomes = []
    for _ in range(5):  # the Celery retries, called directly at their scheduled instants
        delivery.refresh_from_db()
        outcome = notify.deliver(delivery.pk, now=delivery.next_attempt_at)
        outcomes.append(outcome.state)
        if outcome.state == "retry":
            assert outcome.retry_in > 0
    assert outcomes == ["retry", "retry", "delivered", "skipped", "skipped"]
    assert [code for _, _, code in r.requests] == [500, 503, 200]
    assert len(r.successes()) == 1
    log = list(DeliveryAttempt.objects.filter(delivery=delivery).order_by("number"))
    assert [(a.number, a.response_code, a.succeeded) for a in log] == [
        (1, 500, False), (2, 503, False), (3, 200, True)]
    assert all(a.latency_ms is not None for a in log) and "HTTP 500" in log[0].error
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == ("delivered", 3)
    assert WebhookSubscription.objects.get().failing_since is None


def test_backoff_is_exponential_with_jitter_and_capped():
    for attempts, low, high in [(1, 5, 10), (2, 10, 20), (4, 40, 80), (30, 1800, 3600)]:
        for _ in range(20):
            assert low <= notify.backoff_seconds(attempts) <= high
    assert len({notify.backoff_seconds(5) for _ in range(20)}) > 1  # jittered


def test_unreachable_receiver_is_logged_as_an_error(world):
    WebhookSubscription.objects.create(name="down", url="http://127.0.0.1:9/nothing")
    make_event(world.aghdam)
    notify.fan_out()
    outcome = notify.deliver(Delivery.objects.get().pk)
    assert outcome.state == "retry" and outcome.response_code is None
    attempt = DeliveryAttempt.objects.get()
    assert attempt.response_code is None and "refused" in attempt.error.lower()


@pytest.mark.parametrize("admin, mails", [
    ("ops@example.org", 1),  # Django 6.1: addresses, not (name, address)
    # A mail that cannot be sent (a header injection is refused): paused all the same.
    ("ops@example.org\nBcc: x@example.org", 0),
])
def test_a_subscription_failing_for_a_day_is_paused_and_admins_told(
    world, users, receiver, settings, caplog, admin, mails
):
    settings.ADMINS = [admin]
    r = receiver([500] * 100)
    sub = WebhookSubscription.objects.create(name="broken", url=r.url)
    make_event(world.aghdam)
    notify.fan_out()
    delivery = Delivery.objects.get()
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        assert notify.deliver(delivery.pk).state == "retry"
    with time_machine.travel(start + timedelta(hours=23), tick=False):
        assert notify.deliver(delivery.pk, now=timezone.now() + timedelta(hours=2)).state == "retry"
    sub.refresh_from_db()
    assert sub.state == WebhookSubscription.ACTIVE and sub.failing_since == start
    with time_machine.travel(start + timedelta(days=1, minutes=1), tick=False):
        assert notify.deliver(delivery.pk, now=timezone.now() + timedelta(hours=2)).state == "retry"
    sub.refresh_from_db()
    assert sub.state == WebhookSubscription.PAUSED and sub.paused_reason
    assert len(mail.outbox) == mails and all("paused" in m.subject for m in mail.outbox)
    assert ("could not mail the admins" in caplog.text) == (not mails)
    # Paused: nothing is sent, events queue.
    assert notify.deliver(delivery.pk, now=timezone.now() + timedelta(days=2)).state == "skipped"
    assert notify.due_deliveries(now=timezone.now() + timedelta(days=2)) == []
    # The admin says so, and resuming sends the queued delivery.
    client = Client()
    client.force_login(users.admin)
    page = client.get(reverse("admin:deadlines_webhooksubscription_changelist"))
    assert "was paused" in page.content.decode()
    index = client.get(reverse("admin:index")).content.decode()
    assert "was paused" in index and "broken" in index
    r.script.clear()
    response = client.post(reverse("admin:deadlines_webhooksubscription_changelist"), {
        "action": "resume", "_selected_action": [sub.pk]})
    assert response.status_code == 302
    assert notify.due_deliveries() == [delivery.pk]
    assert notify.deliver(delivery.pk).state == "delivered"


def test_delivery_log_is_visible_in_the_admin(world, users, receiver):
    r = receiver([500])
    WebhookSubscription.objects.create(name="log", url=r.url)
    make_event(world.aghdam)
    notify.fan_out()
    delivery = Delivery.objects.get()
    notify.deliver(delivery.pk)
    client = Client()
    client.force_login(users.admin)
    page = client.get(reverse("admin:deadlines_delivery_change", args=[delivery.pk]))
    text = page.content.decode()
    assert page.status_code == 200 and "HTTP 500" in text and "500" in text
    listing = client.get(reverse("admin:deadlines_delivery_changelist"))
    assert listing.status_code == 200


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_never_delivered_twice_even_with_two_workers(receiver):
    world = make_world()
    r = receiver()
    WebhookSubscription.objects.create(name="a", url=r.url)
    WebhookSubscription.objects.create(name="b", url=r.url)
    events = [make_event(world.aghdam, day=d) for d in range(10, 30)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def worker() -> None:
        # What the beat task and the delivery tasks do, racing the other worker.
        try:
            barrier.wait(timeout=10)
            for _ in range(3):
                notify.fan_out(limit=7)
                for pk in notify.due_deliveries():
                    notify.deliver(pk)
        except BaseException as exc:  # surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    assert Delivery.objects.count() == 40
    assert set(Delivery.objects.values_list("state", flat=True)) == {"delivered"}
    received = [(h["X-Tracker-Event"], json.loads(b)["delivery_id"]) for h, b, _ in r.requests]
    assert len(received) == 40 == len(set(received))
    assert {int(e) for e, _ in received} == {e.pk for e in events}


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_the_same_delivery_send_it_once(receiver):
    world = make_world()
    r = receiver()
    WebhookSubscription.objects.create(name="a", url=r.url)
    make_event(world.aghdam)
    notify.fan_out()
    pk = Delivery.objects.get().pk
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def worker() -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(notify.deliver(pk).state)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(outcomes) == ["delivered", "skipped", "skipped", "skipped"]
    assert len(r.requests) == 1


@pytest.fixture
def fast_retries(monkeypatch):
    # Read by the worker process (environment), so its Celery retries come quickly.
    monkeypatch.setenv("WEBHOOK_BACKOFF_BASE_SECONDS", "0.5")
    monkeypatch.setenv("WEBHOOK_BACKOFF_MAX_SECONDS", "1")
    monkeypatch.setenv("WEBHOOK_ALLOW_PRIVATE_TARGETS", "true")  # its receiver is local


@pytest.mark.worker
def test_through_a_real_celery_worker_retries_until_delivered_once(
    fast_retries, celery_worker_process, receiver
):
    from deadlines import tasks
    from tests.conftest import wait_until

    proc, log = celery_worker_process
    make_users()
    world = make_world()
    r = receiver([500, 500])
    WebhookSubscription.objects.create(name="worker", url=r.url)
    make_event(world.aghdam)
    tasks.deliver_pending.delay()
    wait_until(
        lambda: Delivery.objects.filter(state="delivered").exists(),
        describe=lambda: f"requests={[c for _, _, c in r.requests]} exit={proc.poll()} "
        f"log:\n{log.read_text()[-3000:]}",
    )
    assert [code for _, _, code in r.requests] == [500, 500, 200]
    assert Delivery.objects.get().attempts == 3


def test_an_event_withdrawn_before_it_went_out_is_not_sent(world, receiver):
    r = receiver()
    WebhookSubscription.objects.create(name="newsroom", url=r.url)
    withdrawn = make_event(world.aghdam, V.OVERDUE)
    StatusEvent.objects.filter(pk=withdrawn.pk).update(superseded_at=timezone.now())
    kept = make_event(world.aghdam, V.COMPLETED, day=22)
    assert notify.fan_out() == 1
    assert list(Delivery.objects.values_list("event_id", flat=True)) == [kept.pk]


@pytest.mark.parametrize("url", ["ftp://example.org/hook", "file:///etc/passwd"])
def test_webhook_url_must_be_http_or_https(db, url):
    sub = WebhookSubscription(name="x", url=url)
    with pytest.raises(ValidationError) as exc:
        sub.full_clean()
    assert "url" in exc.value.message_dict
    WebhookSubscription(name="ok", url="https://example.org/hook").full_clean()


@pytest.mark.parametrize(
    "url", ["file:///etc/passwd", "ftp://127.0.0.1/x", "data:text/plain,hello"]
)
def test_the_webhook_opener_refuses_other_schemes(url):
    code, error = notify.post(url, b"{}", {"Content-Type": "application/json"})
    assert code is None and "unknown url type" in error
