"""Signed webhooks for status transitions (docs/webhooks.md).

1. `fan_out()` reads the outbox (StatusEvent rows with `notified_at` NULL, locked with
   SKIP LOCKED so two workers split it), creates one Delivery per matching
   subscription (unique per event and subscription: a second fan-out of the same event
   creates nothing) and marks the events notified.
2. `deliver(delivery_id)` claims one Delivery with a compare-and-swap on its state
   (`pending` -> `sending`): of two workers only one wins, so a receiver gets a
   transition at most once per successful send. It POSTs the JSON body signed with
   HMAC-SHA256, logs the attempt and either marks it delivered or schedules the next
   attempt with exponential backoff and jitter (the Celery task retries with that
   countdown).
3. A subscription that has failed continuously for `WEBHOOK_PAUSE_AFTER` (a day) is
   paused and the admins are told (mail_admins and a banner in the admin).

HTTP goes through urllib.request from the standard library: one POST with a timeout
needs nothing more, and it keeps the dependency list short. Redirects are not followed
(a POST silently turned into a GET would look like a success).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
import random
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.mail import mail_admins
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from deadlines import targets
from deadlines.models import Delivery, DeliveryAttempt, WebhookSubscription
from tracker import vocabulary as V
from tracker.models import Report, StatusEvent

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Tracker-Signature"
TIMESTAMP_HEADER = "X-Tracker-Timestamp"
USER_AGENT = "ceasefire-tracker-webhooks/1"


def _setting(name: str, default: float) -> float:
    """A Django setting, else an environment variable of the same name, else the default
    (tests shorten the backoff of a real worker process through the environment)."""
    value = getattr(settings, name, None)
    if value is None:
        value = os.environ.get(name) or default
    try:
        return float(value)
    except (TypeError, ValueError):
        raise ImproperlyConfigured(f"{name} must be a number, not {value!r}") from None


def timeout_seconds() -> float:
    return float(_setting("WEBHOOK_TIMEOUT_SECONDS", 10))


def pause_after() -> timedelta:
    return timedelta(seconds=float(_setting("WEBHOOK_PAUSE_AFTER_SECONDS", 24 * 3600)))


def max_attempts() -> int:
    return int(_setting("WEBHOOK_MAX_ATTEMPTS", 30))


def lease() -> timedelta:
    # Longer than any send can take: a row still `sending` after this lost its worker.
    return timedelta(seconds=max(60.0, 5 * timeout_seconds()))


def backoff_seconds(attempts: int) -> float:
    """Exponential backoff with jitter: ~10 s, 20 s, 40 s ... capped at an hour, each
    drawn from [half, full] so that failing receivers are not hit in lockstep."""
    base = float(_setting("WEBHOOK_BACKOFF_BASE_SECONDS", 10))
    cap = float(_setting("WEBHOOK_BACKOFF_MAX_SECONDS", 3600))
    delay = min(cap, base * (2 ** max(0, attempts - 1)))
    return random.uniform(delay / 2, delay)


# ---------------------------------------------------------------- signing


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """Hex HMAC-SHA256 of `<timestamp>.<body>` (the timestamp guards against replays)."""
    message = timestamp.encode("ascii") + b"." + body
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify(secret: str, timestamp: str, body: bytes, header: str, tolerance: int = 300) -> bool:
    """What a receiver does (docs/webhooks.md): check the signature and the clock."""
    try:
        age = abs(time.time() - int(timestamp))
    except ValueError:
        return False
    expected = "sha256=" + sign(secret, timestamp, body)
    return age <= tolerance and hmac.compare_digest(expected, header)


def report_summary(report: Report) -> dict:
    """A report as a webhook carries it: what it claims, whose act, who says so."""
    claimant = report.claimant
    return {
        "id": report.pk,
        "claim": report.claim,
        "occurred_at": report.occurred_at.isoformat(),
        "summary": report.summary,
        "unconfirmed": report.unconfirmed,
        "actors": sorted(p.slug for p in report.actors.all()),
        "claimant": None if claimant is None
        else {"slug": claimant.slug, "name": claimant.name, "kind": claimant.kind},
        "finding": claimant is not None and claimant.kind == V.CLAIMANT_TRACKER,
        "contests": report.contests_id,
    }


def _label(status: str) -> str | None:
    # In the site's language (the worker runs outside any request).
    return str(V.STATUS_LABELS.get(status, status)) if status else None


def payload(event: StatusEvent, delivery: Delivery | None = None) -> dict:
    o = event.obligation
    report = event.report
    return {
        "type": "obligation.status_changed",
        "event_id": event.pk,
        "delivery_id": delivery.pk if delivery else None,
        "obligation": {
            "id": o.pk,
            "slug": o.slug,
            "title": o.title,
            "kind": o.kind,
            "agreement": o.agreement.slug,
        },
        "from_status": event.from_status or None,
        "to_status": event.to_status,
        "from_status_label": _label(event.from_status),
        "to_status_label": _label(event.to_status),
        "effective_at": event.effective_at.isoformat(),
        "detected_at": event.detected_at.isoformat(),
        "cause": event.cause,
        "superseded_at": event.superseded_at.isoformat() if event.superseded_at else None,
        "report": None if report is None else report_summary(report),
        # The report the event's report contests, when the change is a dispute (both
        # accounts, each with its claimant) or a finding that settled one.
        "contested_report": None
        if report is None or report.contests is None
        else report_summary(report.contests),
    }


def encode(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode("utf-8")


# ---------------------------------------------------------------- fan-out


def _matches(sub: WebhookSubscription, agreement_ids: set[int], event: StatusEvent) -> bool:
    agreement_id = event.obligation.agreement_id
    if agreement_ids and agreement_id not in agreement_ids:
        return False
    return not sub.statuses or event.to_status in sub.statuses


def fan_out(now: datetime | None = None, limit: int = 500) -> int:
    """Turn up to `limit` outbox events into deliveries. Returns deliveries created."""
    now = now or timezone.now()
    subs = list(
        WebhookSubscription.objects.exclude(state=WebhookSubscription.DISABLED).prefetch_related(
            "agreements"
        )
    )
    filters = [(s, {a.pk for a in s.agreements.all()}) for s in subs]
    with transaction.atomic():
        # An event that corrected facts withdrew before it went out is not news (it
        # stays queued in case the facts swing back and the sweep revives it).
        events = list(
            StatusEvent.objects.filter(notified_at__isnull=True, superseded_at__isnull=True)
            .select_for_update(skip_locked=True, of=("self",))
            .select_related("obligation")
            .order_by("id")[:limit]
        )
        if not events:
            return 0
        rows = [
            Delivery(event=e, subscription=s, next_attempt_at=now)
            for e in events
            for s, agreement_ids in filters
            if _matches(s, agreement_ids, e)
        ]
        # The unique constraint makes a repeat harmless (ignore_conflicts).
        created = Delivery.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
        StatusEvent.objects.filter(pk__in=[e.pk for e in events], notified_at__isnull=True).update(
            notified_at=now
        )
    return len(created)


def due_deliveries(now: datetime | None = None, grace: timedelta | None = None) -> list[int]:
    """Deliveries to send now: never tried, or whose Celery retry looks lost (due more
    than `grace` ago), or claimed by a worker that died (lease expired)."""
    now = now or timezone.now()
    grace = timedelta(seconds=60) if grace is None else grace
    Delivery.objects.filter(state=Delivery.SENDING, claimed_at__lt=now - lease()).update(
        state=Delivery.PENDING, claimed_at=None
    )
    return list(
        Delivery.objects.filter(
            Q(attempts=0) | Q(next_attempt_at__lte=now - grace),
            state=Delivery.PENDING,
            next_attempt_at__lte=now,
            subscription__state=WebhookSubscription.ACTIVE,
        )
        .order_by("next_attempt_at", "id")
        .values_list("pk", flat=True)[:1000]
    )


# ---------------------------------------------------------------- delivery


@dataclass(frozen=True)
class Outcome:
    state: str  # delivered, retry, failed, skipped
    retry_in: float | None = None
    response_code: int | None = None
    error: str = ""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: D401
        return None  # a 3xx is reported as a failure, not followed


def _build_opener() -> urllib.request.OpenerDirector:
    """Only http and https: build_opener() would also open file:, ftp: and data: URLs,
    which turn a webhook into a way to read local files or reach other services.
    Proxies from the environment are kept, for http(s) only."""
    opener = urllib.request.OpenerDirector()
    proxies = {
        k: v for k, v in urllib.request.getproxies().items() if k in ("http", "https")
    }
    for handler in (
        urllib.request.ProxyHandler(proxies),
        urllib.request.UnknownHandler(),  # any other scheme: URLError "unknown url type"
        urllib.request.HTTPHandler(),
        urllib.request.HTTPSHandler(),
        urllib.request.HTTPDefaultErrorHandler(),
        _NoRedirect(),
        urllib.request.HTTPErrorProcessor(),
    ):
        opener.add_handler(handler)
    return opener


_opener = _build_opener()


def claim(delivery_id: int, now: datetime | None = None) -> bool:
    """Compare-and-swap pending -> sending; True for exactly one caller."""
    now = now or timezone.now()
    # A retry may fire a moment before its scheduled instant (clock granularity).
    # Every condition on the delivery row itself must sit in the UPDATE's own WHERE
    # (not in a joined subquery): PostgreSQL re-checks those after waiting for the row
    # lock, which is what makes the loser of a race see `sending` and update nothing.
    active = WebhookSubscription.objects.filter(state=WebhookSubscription.ACTIVE).values("pk")
    return bool(
        Delivery.objects.filter(
            pk=delivery_id,
            state=Delivery.PENDING,
            next_attempt_at__lte=now + timedelta(seconds=2),
            subscription_id__in=active,
        ).update(state=Delivery.SENDING, claimed_at=now, attempts=F("attempts") + 1)
    )


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int | None, str]:
    """POST once; (status code or None, error text)."""
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")  # noqa: S310
    try:
        with _opener.open(request, timeout=timeout_seconds()) as response:
            response.read(1024)
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code} {exc.reason}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, f"{type(exc).__name__}: {reason}"


def deliver(delivery_id: int, now: datetime | None = None) -> Outcome:
    """Send one delivery if this caller wins the claim; record the attempt."""
    now = now or timezone.now()
    if not claim(delivery_id, now):
        return Outcome("skipped")
    delivery = Delivery.objects.select_related(
        "subscription", "event__obligation__agreement", "event__report__claimant",
        "event__report__contests__claimant",
    ).get(pk=delivery_id)
    sub = delivery.subscription
    body = encode(payload(delivery.event, delivery))
    timestamp = str(int(time.time()))
    headers = {
        "Content-Type": "application/json",
        "User-Agent": USER_AGENT,
        TIMESTAMP_HEADER: timestamp,
        SIGNATURE_HEADER: "sha256=" + sign(sub.secret, timestamp, body),
        "X-Tracker-Event": str(delivery.event_id),
        "X-Tracker-Delivery": str(delivery.pk),
    }
    started = time.monotonic()
    try:
        refused = targets.refusal(sub.url)
    except targets.Unresolvable as exc:
        refused = str(exc)
    if refused:
        # Checked again here, not only when subscribing: a name may now point elsewhere.
        code, error = None, f"Not sent: {refused}"
    else:
        code, error = post(sub.url, body, headers)
    latency_ms = int((time.monotonic() - started) * 1000)
    ok = code is not None and 200 <= code < 300
    if code is not None and not ok and not error:
        error = f"HTTP {code}"
    return _record(delivery, ok, code, latency_ms, error, timezone.now())


def _record(
    delivery: Delivery, ok: bool, code: int | None, latency_ms: int, error: str, at: datetime
) -> Outcome:
    with transaction.atomic():
        DeliveryAttempt.objects.create(
            delivery=delivery,
            number=delivery.attempts,
            started_at=delivery.claimed_at or at,
            response_code=code,
            latency_ms=latency_ms,
            error=error[:2000],
            succeeded=ok,
        )
        fields = {
            "last_attempt_at": at,
            "response_code": code,
            "latency_ms": latency_ms,
            "error": error[:2000],
            "claimed_at": None,
        }
        if ok:
            Delivery.objects.filter(pk=delivery.pk, state=Delivery.SENDING).update(
                state=Delivery.DELIVERED, delivered_at=at, **fields
            )
            WebhookSubscription.objects.filter(pk=delivery.subscription_id).exclude(
                failing_since=None
            ).update(failing_since=None)
            return Outcome("delivered", response_code=code)
        give_up = delivery.attempts >= max_attempts()
        delay = backoff_seconds(delivery.attempts)
        Delivery.objects.filter(pk=delivery.pk, state=Delivery.SENDING).update(
            state=Delivery.FAILED if give_up else Delivery.PENDING,
            next_attempt_at=at + timedelta(seconds=delay),
            **fields,
        )
        WebhookSubscription.objects.filter(
            pk=delivery.subscription_id, failing_since=None
        ).update(failing_since=at)
    _pause_if_failing_too_long(delivery.subscription_id, at)
    if give_up:
        log.warning("webhook delivery %s gave up after %s attempts", delivery.pk, delivery.attempts)
        return Outcome("failed", response_code=code, error=error)
    return Outcome("retry", retry_in=delay, response_code=code, error=error)


def _pause_if_failing_too_long(subscription_id: int, at: datetime) -> bool:
    paused = WebhookSubscription.objects.filter(
        pk=subscription_id,
        state=WebhookSubscription.ACTIVE,
        failing_since__lte=at - pause_after(),
    ).update(
        state=WebhookSubscription.PAUSED,
        paused_at=at,
        paused_reason=(
            f"Every delivery failed for more than {pause_after()}; "
            f"paused at {at:%Y-%m-%d %H:%M} UTC."
        ),
    )
    if paused:
        sub = WebhookSubscription.objects.get(pk=subscription_id)
        log.error("webhook subscription %s paused: failing since %s", sub.pk, sub.failing_since)
        try:
            mail_admins(
                f"Webhook subscription paused: {sub.name}",
                f"Deliveries to {sub.url} have failed since "
                f"{sub.failing_since:%Y-%m-%d %H:%M} UTC. The subscription is paused; events "
                "queue until it is resumed in the admin "
                "(Webhook subscriptions -> action 'Resume').",
            )
        except Exception:  # the pause stands whether or not the mail goes out
            # (Django 6.1 deprecates mail's fail_silently argument.)
            log.exception("webhook subscription %s paused: could not mail the admins", sub.pk)
    return bool(paused)


def resume(subscription: WebhookSubscription) -> int:
    """Back to active; queued deliveries become due now. Returns how many are queued."""
    now = timezone.now()
    with transaction.atomic():
        WebhookSubscription.objects.filter(pk=subscription.pk).update(
            state=WebhookSubscription.ACTIVE, failing_since=None, paused_at=None,
            paused_reason="",
        )
        return Delivery.objects.filter(
            subscription=subscription, state__in=[Delivery.PENDING, Delivery.FAILED]
        ).update(state=Delivery.PENDING, next_attempt_at=now, attempts=0)
