"""Webhook subscriptions and their delivery log in the admin (admins only: the
`admin` group holds the deadlines permissions; editors and reviewers do not)."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.utils import timezone
from simple_history.admin import SimpleHistoryAdmin

from deadlines import notify, targets
from deadlines.models import Delivery, DeliveryAttempt, WebhookSubscription
from tracker import vocabulary as V


class SubscriptionForm(forms.ModelForm):
    statuses = forms.MultipleChoiceField(
        choices=V.STATUSES, required=False, widget=forms.CheckboxSelectMultiple,
        help_text="Only transitions to these statuses (none ticked: every status).",
    )

    class Meta:
        model = WebhookSubscription
        fields = ("name", "url", "secret", "agreements", "statuses", "state")

    def clean_url(self):
        url = self.cleaned_data["url"]
        if not url.lower().startswith(("http://", "https://")):
            raise forms.ValidationError("Use an http or https URL.")
        try:
            reason = targets.refusal(url)
        except targets.Unresolvable:
            reason = None  # no address to judge yet; every delivery checks again
        if reason:
            raise forms.ValidationError(reason)
        return url


class DeliveryInline(admin.TabularInline):
    model = Delivery
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("event", "state", "attempts", "response_code", "latency_ms", "last_attempt_at",
              "next_attempt_at", "error")
    readonly_fields = fields
    ordering = ("-created_at",)

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("event__obligation")


@admin.register(WebhookSubscription)
class WebhookSubscriptionAdmin(SimpleHistoryAdmin):
    form = SubscriptionForm
    list_display = ("name", "url", "state", "failing_since", "paused_at", "created_at")
    list_filter = ("state", "agreements")
    search_fields = ("name", "url")
    filter_horizontal = ("agreements",)
    readonly_fields = ("failing_since", "paused_at", "paused_reason", "created_at", "updated_at")
    actions = ("resume", "disable")

    def get_inlines(self, request, obj):
        return (DeliveryInline,) if obj is not None else ()

    def get_fields(self, request, obj=None):
        fields = ["name", "url", "secret", "agreements", "statuses", "state"]
        return fields + list(self.readonly_fields) if obj else fields

    def revert_disabled(self, request, obj=None):
        return True

    def changelist_view(self, request, extra_context=None):
        # The admin is told: paused subscriptions are flagged on every visit.
        for sub in WebhookSubscription.objects.filter(state=WebhookSubscription.PAUSED):
            messages.warning(
                request,
                f"Webhook subscription “{sub.name}” was paused at "
                f"{sub.paused_at:%Y-%m-%d %H:%M} UTC after failing for a day; "
                "fix the receiver, then use the action “Resume”.",
            )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Resume (queued deliveries are sent again)")
    def resume(self, request, queryset):
        queued = sum(notify.resume(sub) for sub in queryset)
        messages.success(request, f"Resumed {queryset.count()}; {queued} deliveries queued.")

    @admin.action(description="Disable (stop queuing events)")
    def disable(self, request, queryset):
        n = queryset.update(state=WebhookSubscription.DISABLED, paused_at=timezone.now())
        messages.success(request, f"Disabled {n}.")


class AttemptInline(admin.TabularInline):
    model = DeliveryAttempt
    extra = 0
    max_num = 0
    can_delete = False
    fields = ("number", "started_at", "succeeded", "response_code", "latency_ms", "error")
    readonly_fields = fields


@admin.register(Delivery)
class DeliveryAdmin(admin.ModelAdmin):
    """The delivery log: attempts, response code, latency and error of each send."""

    list_display = ("event", "subscription", "state", "attempts", "response_code",
                    "latency_ms", "last_attempt_at", "next_attempt_at", "delivered_at")
    list_filter = ("state", "subscription", "response_code")
    search_fields = ("subscription__name", "subscription__url", "event__obligation__title",
                     "error")
    list_select_related = ("subscription", "event__obligation")
    date_hierarchy = "created_at"
    inlines = (AttemptInline,)
    actions = ("retry_now",)

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in Delivery._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Retry now")
    def retry_now(self, request, queryset):
        from deadlines.tasks import deliver_webhook

        now = timezone.now()
        ids = list(
            queryset.filter(state__in=[Delivery.PENDING, Delivery.FAILED]).values_list(
                "pk", flat=True
            )
        )
        Delivery.objects.filter(pk__in=ids).update(state=Delivery.PENDING, next_attempt_at=now)
        for pk in ids:
            try:
                deliver_webhook.delay(pk)
            except Exception:  # broker down: the beat's deliver_pending picks them up
                messages.warning(request, "Could not reach the worker; the next beat will send.")
                break
        messages.success(request, f"Queued {len(ids)} deliveries.")


@admin.register(DeliveryAttempt)
class DeliveryAttemptAdmin(admin.ModelAdmin):
    """Every HTTP attempt, searchable across deliveries (read only)."""

    list_display = ("delivery", "number", "started_at", "succeeded", "response_code",
                    "latency_ms", "error")
    list_filter = ("succeeded", "response_code", "delivery__subscription")
    search_fields = ("error", "delivery__subscription__name")
    date_hierarchy = "started_at"
    list_select_related = ("delivery",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
