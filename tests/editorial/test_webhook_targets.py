"""Webhooks go to public addresses only: a private, loopback or link-local target is
refused when subscribing (after DNS resolution) and again before each delivery, unless
WEBHOOK_ALLOW_PRIVATE_TARGETS allows it."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from deadlines import notify, targets
from deadlines.models import Delivery, DeliveryAttempt, WebhookSubscription
from tests.editorial.test_webhooks import Receiver, make_event

PRIVATE = [
    "http://169.254.169.254/latest/meta-data/",  # a cloud's metadata service
    "http://127.0.0.1:6379/",  # Redis on this machine
    "http://localhost:8000/hook",  # a name that resolves to loopback
    "http://10.0.0.5/hook",
    "http://192.168.1.10/hook",
    "http://100.64.0.1/hook",  # carrier-grade NAT, not public either
    "http://0.0.0.0:8000/",
    "http://[::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",  # loopback written as IPv6
    "https://[fd00::5]/hook",
]


@pytest.mark.parametrize("url", PRIVATE)
def test_private_targets_are_refused(url, settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    reason = targets.refusal(url)
    assert reason and "public addresses only" in reason


def test_public_targets_pass_and_the_setting_allows_private_ones(settings):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    assert targets.refusal("https://93.184.215.14/hook") is None
    assert targets.refusal("https://[2606:4700::1111]/hook") is None
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
    assert targets.refusal("http://169.254.169.254/") is None


@pytest.mark.parametrize("url", ["http://169.254.169.254/latest", "http://localhost:6379/"])
def test_admin_refuses_a_private_subscription(users, settings, url):
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    client = Client()
    client.force_login(users.admin)
    r = client.post(reverse("admin:deadlines_webhooksubscription_add"), {
        "name": "hook", "url": url, "secret": "s" * 40, "state": "active"})
    assert r.status_code == 200  # the form again
    assert "public addresses only" in str(r.context["adminform"].form.errors["url"])
    assert not WebhookSubscription.objects.exists()


def test_delivery_to_a_private_target_is_not_sent(world, settings):
    # A subscription saved while allowed (or written straight to the database) is
    # checked again at delivery: the receiver hears nothing, the attempt says why.
    settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = False
    receiver = Receiver()
    try:
        WebhookSubscription.objects.create(name="local", url=receiver.url)
        make_event(world.aghdam)
        notify.fan_out()
        delivery = Delivery.objects.get()
        outcome = notify.deliver(delivery.pk)
        assert outcome.state == "retry"
        assert receiver.requests == []
        attempt = DeliveryAttempt.objects.get()
        assert attempt.error.startswith("Not sent:") and "127.0.0.1" in attempt.error
        # Allowed, the same delivery goes out on its next attempt.
        settings.WEBHOOK_ALLOW_PRIVATE_TARGETS = True
        Delivery.objects.filter(pk=delivery.pk).update(next_attempt_at=attempt.started_at)
        assert notify.deliver(delivery.pk).state == "delivered"
        assert len(receiver.requests) == 1
    finally:
        receiver.close()
