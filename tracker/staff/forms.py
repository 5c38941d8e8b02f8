"""Forms of the staff pages. They only parse input; tracker.editorial decides."""

from __future__ import annotations

from datetime import date, datetime

from django import forms
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from deadlines import engine
from tracker import vocabulary as V
from tracker.api.params import MAX_YEAR, MIN_YEAR, year_range_message
from tracker.models import Obligation, Source
from tracker.numbers import whole_number


def obligation_from(value: str | None) -> Obligation | None:
    """The obligation a query string or POST names by pk; None unless it is a whole
    number (anything else would reach the database as a malformed integer)."""
    pk = whole_number((value or "").strip())
    if pk is None:
        return None
    return Obligation.objects.select_related("agreement").filter(pk=pk).first()


def parse_instant(text: str, obligation: Obligation | None) -> datetime | date:
    """"2020-11-20" (a local date), "2020-11-20 14:00" (local time in the agreement's
    zone) or an ISO 8601 instant with an offset."""
    text = (text or "").strip()
    try:
        day = parse_date(text)
    except ValueError:  # well formed but impossible, e.g. 2020-02-30
        day = None
    if day is not None:
        return _in_range(day)
    try:
        moment = parse_datetime(text)
    except ValueError:
        moment = None
    if moment is None:
        raise forms.ValidationError(
            _("Enter a date (2020-11-20), a local time (2020-11-20 14:00) or an instant with an"
              " offset (2020-11-20T14:00+04:00).")
        )
    if timezone.is_naive(moment):
        if obligation is None:
            raise forms.ValidationError(_("Pick the obligation first, or give an offset."))
        moment = moment.replace(tzinfo=obligation.agreement.zone)
    return _in_range(moment)


def _in_range(value: date) -> date:
    # Near datetime's limits, a local midnight or the conversion to UTC overflows.
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise forms.ValidationError(year_range_message())
    return value


class NewSourceMixin(forms.Form):
    """Add a source inline, next to choosing existing ones."""

    new_source_url = forms.URLField(required=False, label=_("New source: URL"))
    new_source_publisher = forms.CharField(required=False, label=_("New source: publisher"))
    new_source_title = forms.CharField(required=False, label=_("New source: title"))
    new_source_published_at = forms.DateField(required=False, label=_("New source: published on"))

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("new_source_url") and not cleaned.get("new_source_publisher"):
            self.add_error("new_source_publisher", _("Who published it?"))
        return cleaned

    def new_source(self, obligation: Obligation) -> Source | None:
        """Create the inline source (call inside the saving transaction)."""
        url = self.cleaned_data.get("new_source_url")
        if not url:
            return None
        base = slugify(
            f"{self.cleaned_data['new_source_publisher']}-{timezone.now():%Y%m%d%H%M%S}"
        )[:90]
        key, n = base, 1
        while Source.objects.filter(agreement=obligation.agreement, key=key).exists():
            n += 1
            key = f"{base}-{n}"
        return Source.objects.create(
            agreement=obligation.agreement,
            key=key,
            url=url,
            publisher=self.cleaned_data["new_source_publisher"],
            title=self.cleaned_data.get("new_source_title") or "",
            published_at=self.cleaned_data.get("new_source_published_at"),
        )


VERSION_MISSING = _(
    "The draft's version is missing: reload the page and apply your changes again."
)


class ReportForm(NewSourceMixin):
    obligation = forms.ModelChoiceField(
        Obligation.objects.select_related("agreement").order_by("agreement", "position"),
        label=_("Obligation"),
    )
    claim = forms.ChoiceField(choices=V.CLAIMS, label=_("Claim"))
    occurred_at = forms.CharField(
        label=_("Occurred at"),
        help_text=_("When it happened: a local date, a local time, or an instant with offset."),
    )
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label=_("Summary"))
    sources = forms.ModelMultipleChoiceField(
        Source.objects.all(), required=False, widget=forms.CheckboxSelectMultiple,
        label=_("Sources"),
    )
    unconfirmed = forms.BooleanField(required=False, label=_("Unconfirmed"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           label=_("Note"))
    version = forms.IntegerField(
        required=False, widget=forms.HiddenInput, error_messages={"required": VERSION_MISSING}
    )

    def __init__(
        self, *args, obligation: Obligation | None = None, lock_obligation: bool = False,
        require_version: bool = False, **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # Editing a draft: the version it was opened at must come back, or a save could
        # overwrite changes made since without noticing.
        self.fields["version"].required = require_version
        if lock_obligation and obligation is not None:
            # Editing or correcting: the obligation is fixed, whatever the POST says.
            self.fields["obligation"].disabled = True
            self.fields["obligation"].initial = obligation
        agreement_id = obligation.agreement_id if obligation else None
        if agreement_id is None and self.data.get("obligation"):
            ob = obligation_from(self.data.get("obligation"))
            agreement_id = ob.agreement_id if ob else None
        if agreement_id:
            self.fields["sources"].queryset = Source.objects.filter(agreement_id=agreement_id)

    def clean(self):
        cleaned = super().clean()
        obligation = cleaned.get("obligation")
        if "occurred_at" in cleaned:
            try:
                cleaned["occurred_at"] = parse_instant(cleaned["occurred_at"], obligation)
            except forms.ValidationError as exc:
                self.add_error("occurred_at", exc)
        if not cleaned.get("sources") and not cleaned.get("new_source_url"):
            self.add_error("sources", _("Choose a source or add a new one."))
        return cleaned

    def occurred(self, obligation: Obligation) -> tuple[datetime, bool]:
        value = self.cleaned_data["occurred_at"]
        if isinstance(value, date) and not isinstance(value, datetime):
            return engine.local_midnight(value, obligation.agreement.zone), True
        return value, False


class CorrectionForm(ReportForm):
    retract = forms.BooleanField(
        required=False, label=_("Retract"),
        help_text=_("Withdraw the report instead of replacing it."),
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                             label=_("Why the correction"))


class DeadlineChangeForm(NewSourceMixin):
    obligation = forms.ModelChoiceField(
        Obligation.objects.filter(kind=V.DEADLINE).select_related("agreement"),
        label=_("Obligation"),
    )
    due_date = forms.DateField(label=_("Due date"),
                               help_text=_("The new local due date (YYYY-MM-DD)."))
    agreed_at = forms.CharField(label=_("Agreed at"),
                                help_text=_("When it was agreed (it holds from then)."))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))
    sources = forms.ModelMultipleChoiceField(
        Source.objects.all(), required=False, widget=forms.CheckboxSelectMultiple,
        label=_("Sources"),
    )
    unconfirmed = forms.BooleanField(required=False, label=_("Unconfirmed"))
    note = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}),
                           label=_("Note"))
    version = forms.IntegerField(
        required=False, widget=forms.HiddenInput, error_messages={"required": VERSION_MISSING}
    )

    def __init__(self, *args, obligation: Obligation | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if obligation is not None:  # editing a draft: the obligation is fixed
            self.fields["version"].required = True
            self.fields["obligation"].disabled = True
            self.fields["obligation"].initial = obligation
            self.fields["sources"].queryset = Source.objects.filter(
                agreement_id=obligation.agreement_id
            )

    def clean(self):
        cleaned = super().clean()
        obligation = cleaned.get("obligation")
        if cleaned.get("due_date") is not None:
            try:  # the preview computes a due instant from it before anything validates
                _in_range(cleaned["due_date"])
            except forms.ValidationError as exc:
                self.add_error("due_date", exc)
        if "agreed_at" in cleaned:
            try:
                value = parse_instant(cleaned["agreed_at"], obligation)
                if isinstance(value, date) and not isinstance(value, datetime) and obligation:
                    value = engine.local_midnight(value, obligation.agreement.zone)
                cleaned["agreed_at"] = value
            except forms.ValidationError as exc:
                self.add_error("agreed_at", exc)
        if not cleaned.get("sources") and not cleaned.get("new_source_url"):
            self.add_error("sources", _("Choose a source or add a new one."))
        return cleaned


class DecisionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
