"""The admin: every model, searchable (place names in any spelling), with per-object
history (simple_history), review actions, and no lost updates.

Writes to reports and deadline changes go through tracker.editorial, so the admin
obeys the same rules as the staff pages and the API: drafts only are editable, a
reviewer never publishes their own draft, published reports are corrected, not edited.
Versioned models (Obligation, Report, DeadlineChange) carry their `version` in a
hidden field; a save from a stale form is refused with what changed.
"""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from rest_framework.authtoken.admin import TokenAdmin as BaseTokenAdmin
from rest_framework.authtoken.models import Token, TokenProxy
from simple_history.admin import SimpleHistoryAdmin
from simple_history.models import DeletedObject
from simple_history.template_utils import HistoricalRecordContextHelper

from deadlines import engine
from tracker import editorial, models, services
from tracker import vocabulary as V
from tracker.models import fold
from tracker.numbers import whole_number

# ---------------------------------------------------------------- shared pieces


class HistoryAdmin(SimpleHistoryAdmin):
    """Per-object history (who, when, before/after) — read only: reverting from the
    history page would bypass the editorial rules, so it is disabled."""

    def revert_disabled(self, request, obj=None):
        return True

    def get_historical_record_context_helper(self, request, historical_record):
        return _HistoryChanges(self.model, historical_record)

    def history_form_view(self, request, object_id, version_id, extra_context=None):
        if request.method == "POST":
            raise PermissionDenied(_("History is read only; edit the object itself."))
        return super().history_form_view(request, object_id, version_id, extra_context)


class _HistoryChanges(HistoricalRecordContextHelper):
    """simple_history shows an empty reference (no reviewer yet) as "Deleted user
    (pk=None)": an empty one is shown as empty, and only a row that really went is
    called deleted."""

    def prepare_delta_change_value(self, change, value):
        if isinstance(value, DeletedObject):
            if value.pk is None:
                return "—"
            return _("%(kind)s #%(n)s (deleted)") % {"kind": value.model._meta.verbose_name,
                                                      "n": value.pk}
        return super().prepare_delta_change_value(change, value)


class VersionedForm(forms.ModelForm):
    """Carries the version the editor opened; refuses the save if it moved since.

    The check locks the row (select_for_update) inside the admin's transaction, so two
    simultaneous saves are serialised and the second one sees the new version.
    """

    expected_version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["expected_version"].initial = self.instance.version

    def clean(self):
        cleaned = super().clean()
        if self.instance.pk:
            current = type(self.instance).objects.select_for_update().get(pk=self.instance.pk)
            expected = cleaned.get("expected_version")
            if expected is None or expected != current.version:
                stale = editorial.StaleEdit(
                    current, expected or 0, editorial.changes_since(current, expected or 0)
                )
                raise ValidationError(stale.message, code="stale")
        return cleaned


def fold_search(queryset: QuerySet, term: str, *lookups: str) -> QuerySet:
    """Match a folded term against folded search columns (place names and aliases)."""
    folded = fold(term.strip())
    if not folded:
        return queryset.none()
    q = Q()
    for lookup in lookups:
        q |= Q(**{f"{lookup}__icontains": folded})
    return queryset.filter(q)


# ---------------------------------------------------------------- reference data


@admin.register(models.Party)
class PartyAdmin(HistoryAdmin):
    list_display = ("name", "slug", "kind")
    list_filter = ("kind",)
    search_fields = ("name", "slug")


@admin.register(models.Claimant)
class ClaimantAdmin(HistoryAdmin):
    """Who asserts reports: governments and ministries, monitors, the press, and the
    tracker's own editorial findings (kind `tracker`)."""

    list_display = ("name", "slug", "kind", "party")
    list_filter = ("kind", "party")
    search_fields = ("name", "slug")
    list_select_related = ("party",)


@admin.register(models.Location)
class LocationAdmin(HistoryAdmin):
    list_display = ("label", "slug", "kind", "latitude", "longitude")
    list_filter = ("kind", "agreements")
    search_fields = ("slug", "alt_name", "search_text")
    readonly_fields = ("search_text",)
    search_help_text = gettext_lazy(
        "Any name or alias, in any language or spelling (Lachin, Laçın, Berdzor…)"
    )

    def get_search_results(self, request, queryset, search_term):
        results, distinct = super().get_search_results(request, queryset, search_term)
        if search_term:
            results = results | fold_search(queryset, search_term, "search_text")
        return results, distinct


class SourceInline(admin.TabularInline):
    model = models.Source
    extra = 0
    fields = ("key", "publisher", "title", "url", "published_at", "language")
    show_change_link = True


class ClauseInline(admin.TabularInline):
    model = models.Clause
    extra = 0
    fields = ("number", "position", "text")
    show_change_link = True


class RelationInline(admin.TabularInline):
    """What this agreement does to earlier ones (edited on the relation's own page, where
    the re-assessment of the terms it ends is triggered)."""

    model = models.AgreementRelation
    fk_name = "agreement"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("kind", "target_agreement", "target", "replacement", "at", "unconfirmed")
    readonly_fields = fields


@admin.register(models.Agreement)
class AgreementAdmin(HistoryAdmin):
    list_display = ("title", "slug", "signed_at", "effective_at", "timezone", "warning_days")
    search_fields = ("title", "slug", "description")
    list_filter = ("parties",)
    filter_horizontal = ("parties", "locations")
    inlines = (ClauseInline, SourceInline, RelationInline)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change and services.SCHEDULE_FIELDS & set(form.changed_data):
            # Due instants and thresholds derive from these: re-derive, re-assess.
            services.agreement_schedule_changed(obj)


@admin.register(models.Source)
class SourceAdmin(HistoryAdmin):
    list_display = ("publisher", "title", "published_at", "language", "key", "agreement")
    list_filter = ("agreement", "language", "publisher")
    search_fields = ("key", "publisher", "title", "url")
    date_hierarchy = "published_at"


class ClauseVariantInline(admin.StackedInline):
    model = models.ClauseVariant
    extra = 0
    filter_horizontal = ("sources",)


class ClauseTextInline(admin.StackedInline):
    model = models.ClauseText
    extra = 0
    filter_horizontal = ("sources",)


@admin.register(models.Clause)
class ClauseAdmin(HistoryAdmin):
    list_display = ("__str__", "number", "agreement", "position")
    list_filter = ("agreement",)
    search_fields = ("number", "text")
    inlines = (ClauseTextInline, ClauseVariantInline)


@admin.register(models.ClauseText)
class ClauseTextAdmin(HistoryAdmin):
    """A clause's text as published in one language, with its sources."""

    list_display = ("__str__", "language", "translation")
    list_filter = ("clause__agreement", "language", "translation")
    search_fields = ("text", "clause__number")
    filter_horizontal = ("sources",)


class RelationForm(forms.ModelForm):
    """The checks the loader makes of a relation in a file, for one edited by hand."""

    class Meta:
        model = models.AgreementRelation
        fields = ("agreement", "kind", "target_agreement", "target", "replacement", "at",
                  "published_at", "sources", "note", "unconfirmed")

    def clean(self):
        cleaned = super().clean()
        errors = relation_errors(cleaned)
        for field, message in errors.items():
            self.add_error(field, message)
        return cleaned


def relation_errors(data: dict) -> dict[str, str]:
    """What is wrong with a relation's fields: a term of another agreement than the one
    named, a replacement that is not the later agreement's (or not with `supersedes`),
    an instant before either agreement was signed."""
    errors: dict[str, str] = {}
    agreement, target_agreement = data.get("agreement"), data.get("target_agreement")
    target, replacement, at = data.get("target"), data.get("replacement"), data.get("at")
    if target is not None and target_agreement is not None and (
        target.agreement_id != target_agreement.pk
    ):
        errors["target"] = _("%(term)s is not a term of %(agreement)s.") % {
            "term": target, "agreement": target_agreement.slug}
    if replacement is not None:
        if data.get("kind") != V.SUPERSEDES:
            errors["replacement"] = _(
                "Only a relation that supersedes names a replacement.")
        elif agreement is not None and replacement.agreement_id != agreement.pk:
            errors["replacement"] = _("%(term)s is not a term of %(agreement)s.") % {
                "term": replacement, "agreement": agreement.slug}
    if at is not None:
        late = [a for a in (agreement, target_agreement) if a is not None and at < a.signed_at]
        if late:
            first = late[0]
            errors["at"] = _(
                "Cannot be before %(agreement)s was signed (%(signed)s)."
            ) % {"agreement": first.slug, "signed": f"{first.signed_at:%Y-%m-%d}"}
    return errors


@admin.register(models.AgreementRelation)
class AgreementRelationAdmin(HistoryAdmin):
    """What a later agreement does to an earlier one or to a term of it. A relation that
    supersedes or terminates is a fact of the terms it ends: saving or deleting one
    re-assesses them."""

    form = RelationForm
    list_display = ("agreement", "kind", "target_agreement", "target", "replacement", "at",
                    "unconfirmed")
    list_filter = ("kind", "agreement", "target_agreement", "unconfirmed")
    search_fields = ("agreement__slug", "target_agreement__slug", "target__slug", "note")
    list_select_related = ("agreement", "target_agreement", "target", "replacement")
    raw_id_fields = ("target", "replacement")
    filter_horizontal = ("sources",)

    def save_model(self, request, obj, form, change):
        before = [models.AgreementRelation.objects.get(pk=obj.pk)] if change else []
        super().save_model(request, obj, form, change)
        # The terms it reached before the edit, and those it reaches now.
        services.relations_changed([*before, obj])

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        services.relations_changed([obj])

    def delete_queryset(self, request, queryset):
        relations = list(queryset)
        super().delete_queryset(request, queryset)
        services.relations_changed(relations)


@admin.register(models.ClauseVariant)
class ClauseVariantAdmin(HistoryAdmin):
    list_display = ("__str__", "version")
    list_filter = ("clause__agreement", "version")
    search_fields = ("version", "text", "clause__number")
    filter_horizontal = ("sources",)


# ---------------------------------------------------------------- obligations


class DeadlineChangeInline(admin.TabularInline):
    """Read here; proposed and reviewed on their own pages (the editorial rules)."""

    model = models.DeadlineChange
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("due_date", "agreed_at", "reason", "review_state", "author", "reviewer",
              "published_at", "unconfirmed")
    readonly_fields = fields


class ReportInline(admin.TabularInline):
    model = models.Report
    fk_name = "obligation"
    extra = 0
    max_num = 0
    can_delete = False
    show_change_link = True
    fields = ("claim", "occurred_at", "summary", "review_state", "author", "reviewer",
              "published_at", "superseded_at", "retracts", "unconfirmed")
    readonly_fields = fields


class ObligationForm(VersionedForm):
    class Meta:
        model = models.Obligation
        # The admin narrows these per page (fieldsets minus read-only fields).
        fields = ("agreement", "clause", "slug", "title", "description", "titles",
                  "descriptions", "text_dispute", "kind", "category",
                  "position", "responsible", "monitors", "locations", "sources", "due_date",
                  "starts_at", "ends_at", "term_years", "renews_years", "notice_months")


DERIVED_OBLIGATION_FIELDS = (
    "status", "status_since", "assessed_at", "due_soon_at", "active_at", "active_status",
    "violated_at", "disputed_at", "done_at", "done_status", "facts_from", "facts_until",
    "next_change_at",
    "needs_assessment", "due_at", "version",
)


@admin.register(models.Obligation)
class ObligationAdmin(HistoryAdmin):
    form = ObligationForm
    list_display = ("title", "agreement", "kind", "category", "status", "due_date",
                    "status_since", "needs_assessment")
    list_filter = ("agreement", "kind", "status", "category", "needs_assessment",
                   "responsible", "locations")
    search_fields = ("title", "slug", "description", "category", "clause__number",
                     "locations__search_text")
    search_help_text = gettext_lazy("Title, slug, clause, or a place name in any spelling")
    filter_horizontal = ("responsible", "monitors", "locations", "sources")
    inlines = (DeadlineChangeInline, ReportInline)
    list_select_related = ("agreement",)
    fieldsets = (
        (None, {"fields": ("agreement", "clause", "slug", "title", "description", "kind",
                           "category", "position", "expected_version")}),
        (gettext_lazy("Other languages"),
         {"classes": ("collapse",), "fields": ("titles", "descriptions")}),
        (gettext_lazy("Contested text (only in some versions: disputed, never a breach)"),
         {"fields": ("text_dispute",)}),
        (gettext_lazy("Parties, places, sources"),
         {"fields": ("responsible", "monitors", "locations", "sources")}),
        (gettext_lazy("Deadline (changed only by published deadline changes)"),
         {"fields": ("due_date", "due_at", "original_due_date")}),
        (gettext_lazy("Term (ongoing)"),
         {"fields": ("starts_at", "ends_at", "term_years", "renews_years", "notice_months")}),
        (gettext_lazy("Stored assessment (written by the sweep)"),
         {"classes": ("collapse",), "fields": DERIVED_OBLIGATION_FIELDS[:-2]}),
    )

    def get_search_results(self, request, queryset, search_term):
        results, distinct = super().get_search_results(request, queryset, search_term)
        if search_term:
            results = results | fold_search(queryset, search_term, "locations__search_text")
            distinct = True
        return results, distinct

    def get_readonly_fields(self, request, obj=None):
        readonly = list(DERIVED_OBLIGATION_FIELDS)
        if obj is not None:
            # The deadline in force is a fact: it moves by a reviewed deadline change.
            readonly += ["due_date", "original_due_date", "kind", "agreement"]
        return readonly

    def has_change_permission(self, request, obj=None):
        return super().has_change_permission(request, obj) and (
            obj is None or editorial.is_admin(request.user)
        )

    def save_model(self, request, obj, form, change):
        if change:
            # An edit obeys the same rules as anywhere else (tracker.editorial); the
            # many-to-many fields follow in save_related.
            edited = {f: form.cleaned_data[f] for f in form.changed_data
                      if f in editorial.OBLIGATION_FIELDS}
            saved = editorial.update_obligation(
                obj, user=request.user, version=form.cleaned_data.get("expected_version"),
                **edited,
            )
            obj.version = saved.version
            return
        if obj.due_date:
            obj.original_due_date = obj.original_due_date or obj.due_date
            obj.due_at = engine.due_instant(obj.due_date, obj.agreement.zone)
        obj.needs_assessment = True
        super().save_model(request, obj, form, change)
        services.facts_changed([obj.pk])

    def get_changeform_initial_data(self, request):
        return super().get_changeform_initial_data(request)


@admin.register(models.StatusEvent)
class StatusEventAdmin(admin.ModelAdmin):
    """Written by the sweep only: the history of statuses and the webhook outbox."""

    list_display = ("obligation", "from_status", "to_status", "effective_at", "detected_at",
                    "cause", "report", "notified_at")
    list_filter = ("cause", "to_status", "obligation__agreement",
                   ("notified_at", admin.EmptyFieldListFilter))
    search_fields = ("obligation__title", "obligation__slug")
    date_hierarchy = "effective_at"
    list_select_related = ("obligation", "report")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(models.OverviewSnapshot)
class OverviewSnapshotAdmin(admin.ModelAdmin):
    """The dashboard overview's stored counts (tracker.web.snapshot): shown for checking,
    never edited. Deleting the row only makes the next view count afresh."""

    list_display = ("taken_at", "version")
    readonly_fields = ("taken_at", "version", "data")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.SummarySpan)
class SummarySpanAdmin(admin.ModelAdmin):
    """The sweep's stored summaries between dated facts (deadlines.sweep): shown for
    checking a past status, never edited; the next sweep of the row rewrites them."""

    list_display = ("obligation", "valid_from", "valid_until")
    list_select_related = ("obligation",)
    raw_id_fields = ("obligation",)
    search_fields = ("obligation__slug",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.StatusTally)
class StatusTallyAdmin(admin.ModelAdmin):
    """The count timeline the past overview reads (tracker.count_timeline): shown for
    checking a past count, never edited; the worker rebuilds it after a sweep."""

    list_display = ("agreement", "party", "status", "at", "n")
    list_filter = ("status",)
    list_select_related = ("agreement",)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(models.StatusTallyBuild)
class StatusTallyBuildAdmin(admin.ModelAdmin):
    """Which data the count timeline was built from. Deleting the row only makes past
    overviews classify every row until the next rebuild."""

    list_display = ("built_at", "version", "horizon")
    readonly_fields = ("built_at", "version", "horizon", "data")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# ---------------------------------------------------------------- reports & changes


REVIEW_READONLY = ("review_state", "author", "reviewer", "reviewed_at", "rejection_reason",
                   "published_at", "origin", "created_at")


class ReviewableAdmin(HistoryAdmin):
    """Shared by reports and deadline changes: drafts edited by their author (or an
    admin) through tracker.editorial; publish and reject as actions."""

    editable_fields: tuple[str, ...] = ()
    # Many-to-many fields edited with the draft (set by tracker.editorial, not the form).
    many_fields: tuple[str, ...] = ("sources",)
    actions = ("publish_selected", "reject_selected")
    list_select_related = ("obligation", "author", "reviewer")
    filter_horizontal = ("sources",)
    autocomplete_fields = ("obligation",)

    def get_readonly_fields(self, request, obj=None):
        all_fields = [f.name for f in self.model._meta.fields if f.name != "id"]
        if obj is None:
            return REVIEW_READONLY
        if editorial.can_edit_draft(request.user, obj):
            return (*REVIEW_READONLY, "obligation", "version")
        return [*all_fields, *self.many_fields]

    def get_fields(self, request, obj=None):
        base = ["obligation", *self.editable_fields, *self.many_fields]
        if obj is None:
            return base
        return [*base, "expected_version", *REVIEW_READONLY, "version"]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and editorial.is_editor(request.user)

    def has_delete_permission(self, request, obj=None):
        if obj is None:
            return super().has_delete_permission(request)
        return super().has_delete_permission(request, obj) and editorial.can_edit_draft(
            request.user, obj
        )

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        if obj is None and "obligation" in form.base_fields:
            initial = request.GET.get("obligation")
            if initial:
                form.base_fields["obligation"].initial = initial
        return form

    def _editorial_data(self, form) -> dict:
        data = {f: form.cleaned_data[f] for f in self.editable_fields if f in form.cleaned_data}
        for f in self.many_fields:
            if f in form.cleaned_data:
                data[f] = list(form.cleaned_data[f])
        return data

    def save_model(self, request, obj, form, change):
        data = self._editorial_data(form)
        try:
            if change:
                saved = editorial.update_draft(
                    obj, user=request.user, version=form.cleaned_data.get("expected_version"),
                    **data,
                )
            else:
                saved = self._create(request.user, form.cleaned_data["obligation"], data)
        except (ValidationError, PermissionDenied, editorial.StaleEdit) as exc:
            # The form has validated already (same rules), so this is a race: roll back.
            transaction.set_rollback(True)
            messages.error(request, _message(exc))
            raise _Abort from exc
        obj.pk = saved.pk
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        # Sources were set by tracker.editorial; formsets (none) need nothing.
        pass

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except _Abort:
            return HttpResponseRedirect(request.get_full_path())

    def _create(self, user, obligation, data):  # pragma: no cover - overridden
        raise NotImplementedError

    # -- review actions ------------------------------------------------------
    # Publishing or rejecting acts on what the reviewer saw: the list carries each
    # draft's version in a hidden input next to it (the change form its
    # `expected_version`), and a draft changed since, or not shown (the admin's "select
    # all" across pages), is refused, as the API and the staff pages refuse a stale
    # version.

    def get_list_display(self, request):
        return (*super().get_list_display(request), "seen_version")

    @admin.display(description=gettext_lazy("version"))
    def seen_version(self, obj) -> str:
        return format_html('{}<input type="hidden" name="{}{}" value="{}">',
                           obj.version, SEEN_VERSION, obj.pk, obj.version)

    def _review(self, request: HttpRequest, queryset: QuerySet, publishing: bool, act) -> None:
        seen = _seen_versions(request)
        done, unseen = 0, []
        for obj in queryset:
            version = seen.get(obj.pk)
            if version is None:
                unseen.append(editorial.obj_label(obj))
                continue
            try:
                act(obj, version)
                done += 1
            except (ValidationError, PermissionDenied, editorial.StaleEdit) as exc:
                messages.error(request, _("%(what)s: %(problem)s")
                               % {"what": editorial.obj_label(obj), "problem": _message(exc)})
        if unseen:
            shown = ", ".join(unseen[:5])
            if unseen[5:]:
                shown = ngettext("%(shown)s and %(n)s more", "%(shown)s and %(n)s more",
                                 len(unseen) - 5) % {"shown": shown, "n": len(unseen) - 5}
            refused = (
                _("Not published, as the page did not show them: %(drafts)s. Review them on "
                  "the list's pages.") if publishing
                else _("Not rejected, as the page did not show them: %(drafts)s. Review them "
                       "on the list's pages.")
            )
            messages.error(request, refused % {"drafts": shown})
        if done:
            messages.success(request, (
                ngettext("Published %(n)s.", "Published %(n)s.", done) if publishing
                else ngettext("Rejected %(n)s.", "Rejected %(n)s.", done)
            ) % {"n": done})

    @admin.action(
        description=gettext_lazy("Publish (you must not be the author)"),
        location=[admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM],
    )
    def publish_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._review(request, queryset, True, lambda obj, version: editorial.publish(
            obj, reviewer=request.user, version=version))

    @admin.action(
        description=gettext_lazy("Reject (with a reason)"),
        location=[admin.ActionLocation.CHANGE_LIST, admin.ActionLocation.CHANGE_FORM],
    )
    def reject_selected(self, request: HttpRequest, queryset: QuerySet):
        reason = (request.POST.get("reason") or "").strip()
        if "apply" not in request.POST or not reason:
            if "apply" in request.POST:
                messages.error(request, _("Give a reason for the rejection."))
            seen = _seen_versions(request)
            return TemplateResponse(
                request,
                "admin/tracker/reject.html",
                {
                    **self.admin_site.each_context(request),
                    "title": _("Reject drafts"),
                    "objects": [(obj, seen.get(obj.pk)) for obj in queryset],
                    "seen_version": SEEN_VERSION,
                    "opts": self.model._meta,
                    "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
                    # From the change form the action field carries that form's prefix.
                    "action_field": "CHANGE_FORM-action"
                    if "CHANGE_FORM-action" in request.POST else "action",
                },
            )
        self._review(request, queryset, False, lambda obj, version: editorial.reject(
            obj, reviewer=request.user, reason=reason, version=version))
        return None

    def get_actions(self, request, action_location=admin.ActionLocation.CHANGE_LIST):
        actions = super().get_actions(request, action_location=action_location)
        # Bulk delete checks only the model permission, not "drafts only, by their
        # author": deleting goes through each draft's own delete page instead.
        actions.pop("delete_selected", None)
        if not editorial.is_reviewer(request.user):
            actions.pop("publish_selected", None)
            actions.pop("reject_selected", None)
        return actions


class _Abort(Exception):
    pass


SEEN_VERSION = "_version_"  # + pk: the version of a draft as the list showed it


def _seen_versions(request: HttpRequest) -> dict[int, int]:
    """pk -> version the reviewer saw: from the list's hidden inputs, or for the one
    draft of a change form its `expected_version`."""
    seen: dict[int, int] = {}
    for name, value in request.POST.items():
        if name.startswith(SEEN_VERSION):
            pk, version = whole_number(name.removeprefix(SEEN_VERSION)), whole_number(value)
            if pk is not None and version is not None:
                seen[pk] = version
    selected = request.POST.getlist(admin.helpers.ACTION_CHECKBOX_NAME)
    if len(selected) == 1:
        pk = whole_number(selected[0])
        expected = whole_number(request.POST.get("expected_version", ""))
        if pk is not None and expected is not None:
            seen.setdefault(pk, expected)
    return seen


def _message(exc: Exception) -> str:
    if isinstance(exc, ValidationError):
        if hasattr(exc, "error_dict"):
            return "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
        return " ".join(exc.messages)
    if isinstance(exc, editorial.StaleEdit):
        return exc.message
    return str(exc) or _("Not allowed.")


class ReportForm(VersionedForm):
    class Meta:
        model = models.Report
        fields = ("obligation", "claim", "occurred_at", "occurred_date_only", "summary",
                  "sources", "unconfirmed", "note", "actors", "claimant", "contests")

    def clean(self):
        cleaned = super().clean()
        obligation = cleaned.get("obligation") or getattr(self.instance, "obligation", None)
        if obligation is not None and self.instance.review_state == V.DRAFT:
            errors: dict = {}
            editorial._clean_report(obligation, {
                "claim": cleaned.get("claim"), "occurred_at": cleaned.get("occurred_at"),
                "summary": cleaned.get("summary"), "sources": cleaned.get("sources"),
                "occurred_date_only": cleaned.get("occurred_date_only"),
                "actors": cleaned.get("actors"), "claimant": cleaned.get("claimant"),
                "contests": cleaned.get("contests"), "pk": self.instance.pk,
            }, errors)
            for field, msgs in errors.items():
                self.add_error(field if field in self.fields else None, msgs)
        return cleaned


@admin.register(models.Report)
class ReportAdmin(ReviewableAdmin):
    form = ReportForm
    editable_fields = ("claim", "occurred_at", "occurred_date_only", "summary", "unconfirmed",
                       "note", "claimant", "contests")
    many_fields = ("actors", "sources")
    filter_horizontal = ("sources", "actors")
    raw_id_fields = ("contests",)
    list_display = ("obligation", "claim", "occurred_at", "claimant", "review_state", "author",
                    "reviewer", "published_at", "is_fact_display", "unconfirmed")
    list_select_related = ("obligation", "author", "reviewer", "claimant")
    list_filter = ("review_state", "claim", "origin", "unconfirmed", "retracts",
                   ("superseded_at", admin.EmptyFieldListFilter), "obligation__agreement",
                   "claimant__kind", "claimant", "actors")
    search_fields = ("summary", "note", "obligation__title", "obligation__slug",
                     "obligation__locations__search_text", "sources__publisher")
    date_hierarchy = "occurred_at"

    @admin.display(boolean=True, description=gettext_lazy("counts"))
    def is_fact_display(self, obj):
        return obj.is_fact

    def get_search_results(self, request, queryset, search_term):
        results, distinct = super().get_search_results(request, queryset, search_term)
        if search_term:
            results = results | fold_search(
                queryset, search_term, "obligation__locations__search_text"
            )
            distinct = True
        return results, distinct

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        if obj is not None:
            fields = [*fields, "supersedes", "retracts", "correction_reason", "superseded_at"]
        return fields

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        return [*readonly, "supersedes", "retracts", "correction_reason", "superseded_at"]

    def _create(self, user, obligation, data):
        return editorial.create_report(author=user, obligation=obligation, **data)

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = extra_context or {}
        obj = self.get_object(request, object_id)
        if obj is not None and obj.review_state == V.PUBLISHED and obj.is_fact:
            extra_context["correct_url"] = reverse("staff:correct", args=[obj.pk])
            messages.info(
                request,
                format_html(
                    _('Published reports are immutable. <a href="{}">Propose a correction</a>.'),
                    reverse("staff:correct", args=[obj.pk]),
                ),
            )
        return super().change_view(request, object_id, form_url, extra_context)


class DeadlineChangeForm(VersionedForm):
    class Meta:
        model = models.DeadlineChange
        fields = ("obligation", "due_date", "agreed_at", "reason", "sources", "unconfirmed",
                  "note")

    def clean(self):
        cleaned = super().clean()
        obligation = cleaned.get("obligation") or getattr(self.instance, "obligation", None)
        if obligation is not None and self.instance.review_state == V.DRAFT:
            errors: dict = {}
            editorial._clean_change(obligation, {
                "due_date": cleaned.get("due_date"), "agreed_at": cleaned.get("agreed_at"),
                "reason": cleaned.get("reason"), "sources": cleaned.get("sources"),
            }, errors)
            for field, msgs in errors.items():
                self.add_error(field if field in self.fields else None, msgs)
        return cleaned


@admin.register(models.DeadlineChange)
class DeadlineChangeAdmin(ReviewableAdmin):
    form = DeadlineChangeForm
    editable_fields = ("due_date", "agreed_at", "reason", "unconfirmed", "note")
    list_display = ("obligation", "due_date", "agreed_at", "review_state", "author",
                    "reviewer", "published_at")
    list_filter = ("review_state", "origin", "unconfirmed", "obligation__agreement")
    search_fields = ("reason", "note", "obligation__title", "obligation__slug")

    def _create(self, user, obligation, data):
        return editorial.propose_deadline_change(author=user, obligation=obligation, **data)


# ---------------------------------------------------------------- accounts and tokens

User = get_user_model()

admin.site.unregister(TokenProxy)


@admin.register(TokenProxy)
class TokenAdmin(BaseTokenAdmin):
    """API tokens, one per user: revoke (delete) or rotate (new key, old one dead)."""

    actions = ("rotate_tokens", "revoke_tokens")

    @admin.action(description=gettext_lazy("Rotate selected tokens (the old keys stop working)"))
    def rotate_tokens(self, request, queryset):
        for token in list(queryset):
            user = token.user
            Token.objects.filter(user=user).delete()
            Token.objects.create(user=user)
        messages.success(request, ngettext("Rotated %(n)s token.", "Rotated %(n)s tokens.",
                                           len(queryset)) % {"n": len(queryset)})

    @admin.action(description=gettext_lazy("Revoke selected tokens"))
    def revoke_tokens(self, request, queryset):
        count = Token.objects.filter(user__in=[t.user_id for t in queryset]).delete()[0]
        messages.success(request, _revoked(count))


def _revoked(count: int) -> str:
    return ngettext("Revoked %(n)s token.", "Revoked %(n)s tokens.", count) % {"n": count}


if admin.site.is_registered(User):
    admin.site.unregister(User)


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    actions = ("revoke_api_tokens", "issue_api_tokens")
    list_display = (*BaseUserAdmin.list_display, "roles", "has_token")

    @admin.display(description=gettext_lazy("roles"))
    def roles(self, obj):
        return ", ".join(g.name for g in obj.groups.all()) or "—"

    @admin.display(boolean=True, description=gettext_lazy("API token"))
    def has_token(self, obj):
        return Token.objects.filter(user=obj).exists()

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.action(description=gettext_lazy("Revoke API tokens of selected users"))
    def revoke_api_tokens(self, request, queryset):
        count = Token.objects.filter(user__in=queryset).delete()[0]
        messages.success(request, _revoked(count))

    @admin.action(description=gettext_lazy("Issue (or rotate) API tokens for selected users"))
    def issue_api_tokens(self, request, queryset):
        for user in queryset:
            Token.objects.filter(user=user).delete()
            Token.objects.create(user=user)
        issued = queryset.count()
        messages.success(request, ngettext("Issued %(n)s token; see API tokens.",
                                           "Issued %(n)s tokens; see API tokens.",
                                           issued) % {"n": issued})

    def has_change_permission(self, request, obj=None):
        # Only superusers edit superusers (an admin-group member cannot escalate).
        if obj is not None and obj.is_superuser and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def get_readonly_fields(self, request, obj=None):
        readonly = list(super().get_readonly_fields(request, obj))
        if not request.user.is_superuser:
            readonly += ["is_superuser", "user_permissions"]
        return readonly


admin.site.site_header = gettext_lazy("Ceasefire-terms compliance tracker")
admin.site.site_title = gettext_lazy("Tracker admin")
