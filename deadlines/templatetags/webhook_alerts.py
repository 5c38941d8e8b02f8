"""The admin index tells admins about webhook subscriptions paused after failing."""

from __future__ import annotations

from django import template

from deadlines.models import WebhookSubscription

register = template.Library()


@register.simple_tag(takes_context=True)
def paused_webhooks(context) -> list[WebhookSubscription]:
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not user.has_perm("deadlines.view_webhooksubscription"):
        return []
    return list(WebhookSubscription.objects.filter(state=WebhookSubscription.PAUSED))
