"""Webhook subscriptions and their delivery log.

StatusEvent rows with `notified_at` NULL are the outbox (tracker.models). The
fan-out (deadlines.notify.fan_out) turns each into one Delivery per matching
subscription — unique per (event, subscription), so a transition can never be
queued twice for the same receiver — and each Delivery is claimed by exactly one
worker at a time with a compare-and-swap on its state.
"""

from __future__ import annotations

import secrets

from django.core.validators import URLValidator
from django.db import models
from django.db.models import Q
from simple_history.models import HistoricalRecords

from tracker import vocabulary as V


def new_secret() -> str:
    return secrets.token_hex(32)


class WebhookSubscription(models.Model):
    ACTIVE, PAUSED, DISABLED = "active", "paused", "disabled"
    STATES = [
        (ACTIVE, "Active"),
        # Paused automatically after failing for a day: events queue until resumed.
        (PAUSED, "Paused (failing)"),
        # Switched off by an admin: no new events are queued for it.
        (DISABLED, "Disabled"),
    ]

    name = models.CharField(max_length=200)
    # http(s) only: URLField alone also accepts ftp(s) (see docs/webhooks.md, Security).
    url = models.URLField(
        max_length=1000, help_text="http(s) endpoint receiving POSTed JSON",
        validators=[URLValidator(schemes=["http", "https"])],
    )
    secret = models.CharField(
        max_length=200, default=new_secret,
        help_text="Shared secret for the HMAC-SHA256 signature (see docs/webhooks.md)",
    )
    agreements = models.ManyToManyField(
        "tracker.Agreement", blank=True, related_name="webhook_subscriptions",
        help_text="Only events of these agreements (none selected: all agreements)",
    )
    statuses = models.JSONField(
        default=list, blank=True,
        help_text="Only transitions to these statuses (empty: every status)",
    )
    state = models.CharField(max_length=10, choices=STATES, default=ACTIVE, db_index=True)
    # First failure of the current run of failures; cleared by any success.
    failing_since = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    history = HistoricalRecords(excluded_fields=["failing_since", "updated_at"])

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(state__in=["active", "paused", "disabled"]),
                name="webhook_subscription_state_valid",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.url})"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        bad = [s for s in (self.statuses or []) if s not in V.ALL_STATUSES]
        if not isinstance(self.statuses, list) or bad:
            raise ValidationError(
                {"statuses": f"A list of statuses from {V.ALL_STATUSES}; unknown: {bad}"}
            )


class Delivery(models.Model):
    """One status transition for one subscription: sent until it succeeds, at most once
    successfully."""

    PENDING, SENDING, DELIVERED, FAILED = "pending", "sending", "delivered", "failed"
    STATES = [
        (PENDING, "Pending"),
        (SENDING, "Sending"),
        (DELIVERED, "Delivered"),
        (FAILED, "Gave up"),
    ]

    event = models.ForeignKey(
        "tracker.StatusEvent", on_delete=models.CASCADE, related_name="deliveries"
    )
    subscription = models.ForeignKey(
        WebhookSubscription, on_delete=models.CASCADE, related_name="deliveries"
    )
    state = models.CharField(max_length=10, choices=STATES, default=PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(db_index=True)
    # When the current claim was taken: a worker that died mid-send leaves the row in
    # `sending`; after the lease it goes back to `pending`.
    claimed_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(
                fields=["event", "subscription"], name="delivery_once_per_subscription"
            ),
            models.CheckConstraint(
                condition=Q(state__in=["pending", "sending", "delivered", "failed"]),
                name="delivery_state_valid",
            ),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(state="pending"),
                name="delivery_due",
            )
        ]

    def __str__(self) -> str:
        return f"event {self.event_id} → {self.subscription_id} ({self.state})"


class DeliveryAttempt(models.Model):
    """The log: one row per HTTP attempt."""

    delivery = models.ForeignKey(Delivery, on_delete=models.CASCADE, related_name="log")
    number = models.PositiveIntegerField()
    started_at = models.DateTimeField()
    response_code = models.PositiveSmallIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    error = models.TextField(blank=True)
    succeeded = models.BooleanField(default=False)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.delivery_id}"
