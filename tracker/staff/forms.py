"""Forms of the staff pages. They only parse input; tracker.editorial decides."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django import forms
from django.db.models import Q
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext_lazy as _

from deadlines import engine
from tracker import instants
from tracker import vocabulary as V
from tracker.instants import InstantError, check_year
from tracker.models import Claimant, DeadlineChange, Obligation, Party, Report, Source
from tracker.numbers import whole_number


def obligation_from(value: str | None) -> Obligation | None:
    """The obligation a query string or POST names by pk; None unless it is a whole
    number (anything else would reach the database as a malformed integer)."""
    pk = whole_number((value or "").strip())
    if pk is None:
        return None
    return Obligation.objects.select_related("agreement").filter(pk=pk).first()


def parse_instant(text: str, obligation: Obligation | None) -> datetime | date:
    """"2020-11-20" (a local date), "2020-11-20 14:00" (local time in the obligation's
    agreement's zone, once it is chosen) or an ISO 8601 instant with an offset."""
    zone = obligation.agreement.zone if obligation is not None else None
    try:
        return instants.parse(text or "", local_zone=zone)
    except InstantError as exc:
        raise forms.ValidationError(str(exc)) from exc


def _in_range(value: date) -> date:
    try:
        return check_year(value)
    except InstantError as exc:
        raise forms.ValidationError(str(exc)) from exc


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


class DraftForm(NewSourceMixin):
    """What every draft carries besides its own facts: its sources (chosen or added),
    whether it is unconfirmed and why, and the version the editor opened."""

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

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # Before a term is chosen, every source, grouped by agreement, so that a long
        # list can be scanned agreement by agreement.
        groups: dict[str, list[tuple[int, str]]] = {}
        for source in Source.objects.select_related("agreement").order_by(
            "agreement__signed_at", "publisher", "published_at", "key"
        ):
            groups.setdefault(source.agreement.title, []).append((source.pk, str(source)))
        self.fields["sources"].widget.choices = list(groups.items())

    @staticmethod
    def order(*own: str) -> list[str]:
        """The order the page shows a draft's fields in: adding a new source, the draft's
        own fields, then those every draft shares."""
        return [*NewSourceMixin.base_fields, *own, "sources", "unconfirmed", "note", "version"]

    @staticmethod
    def initial_of(draft: Report | DeadlineChange) -> dict[str, Any]:
        """What a form on an existing draft (or a report being corrected) starts from,
        of the fields every draft has."""
        return {
            "obligation": draft.obligation, "sources": list(draft.sources.all()),
            "unconfirmed": draft.unconfirmed, "note": draft.note,
        }

    def draft_fields(self, obligation: Obligation) -> dict[str, Any]:
        """The cleaned fields every draft has, a new source created and cited (call inside
        the saving transaction)."""
        sources = list(self.cleaned_data.get("sources") or [])
        new = self.new_source(obligation)
        if new is not None:
            sources.append(new)
        return {
            "sources": sources,
            "unconfirmed": self.cleaned_data.get("unconfirmed", False),
            "note": self.cleaned_data.get("note", ""),
        }

    def fix_obligation(self, obligation: Obligation) -> None:
        """Editing or correcting: the obligation is fixed, whatever the POST says."""
        self.fields["obligation"].disabled = True
        self.fields["obligation"].initial = obligation
        self.cite_from(obligation)

    def cite_from(self, obligation: Obligation) -> None:
        """Offer only the sources of the obligation's agreement, those this term already
        cites (its text's, its published facts') first, as the likely ones."""
        sources = Source.objects.filter(agreement_id=obligation.agreement_id)
        self.fields["sources"].queryset = sources
        cited = set(sources.filter(
            Q(obligations=obligation)
            | Q(reports__obligation=obligation, reports__review_state=V.PUBLISHED)
            | Q(deadline_changes__obligation=obligation,
                deadline_changes__review_state=V.PUBLISHED)
        ).values_list("pk", flat=True))
        ordered = list(sources.order_by("publisher", "published_at", "key"))
        groups = [
            (_("Cited by this term"), [(s.pk, str(s)) for s in ordered if s.pk in cited]),
            (_("Other sources of this agreement"),
             [(s.pk, str(s)) for s in ordered if s.pk not in cited]),
        ]
        self.fields["sources"].widget.choices = [g for g in groups if g[1]]

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("sources") and not cleaned.get("new_source_url"):
            self.add_error("sources", _("Choose a source or add a new one."))
        return cleaned


class ReportForm(DraftForm):
    obligation = forms.ModelChoiceField(
        Obligation.objects.select_related("agreement").order_by("agreement", "position"),
        label=_("Obligation"),
    )
    # No default claim: "completed" preselected made a hasty report a completion.
    claim = forms.ChoiceField(choices=[("", _("— choose what the report says —")), *V.CLAIMS],
                              label=_("Claim"))
    occurred_at = forms.CharField(
        label=_("Occurred at"),
        help_text=_("When it happened: a local date, a local time, or an instant with offset."),
    )
    summary = forms.CharField(widget=forms.Textarea(attrs={"rows": 4}), label=_("Summary"))
    actors = forms.ModelMultipleChoiceField(
        Party.objects.all(), required=False, widget=forms.CheckboxSelectMultiple,
        label=_("Actors"),
        help_text=_("Whose act it is; none: the term's responsible parties."),
    )
    claimant = forms.ChoiceField(
        required=False, label=_("Claimant"),
        help_text=_("Who says so. The tracker itself: an editorial finding, which settles "
                    "a dispute and must cite its sources."),
    )
    contests = forms.CharField(
        required=False, label=_("Contests report"),
        help_text=_("The report on this term that this one denies or gives another account "
                    "of (required for a denial)."),
    )
    field_order = DraftForm.order("obligation", "claim", "occurred_at", "summary", "actors",
                                  "claimant", "contests")

    def __init__(
        self, *args, obligation: Obligation | None = None, lock_obligation: bool = False,
        require_version: bool = False, **kwargs,
    ):
        super().__init__(*args, **kwargs)
        # Editing a draft: the version it was opened at must come back, or a save could
        # overwrite changes made since without noticing.
        self.fields["version"].required = require_version
        self.fields["claimant"].choices = claimant_choices()
        if lock_obligation and obligation is not None:
            self.fix_obligation(obligation)
        if obligation is None and self.data.get("obligation"):
            obligation = obligation_from(self.data.get("obligation"))
        if obligation is not None:
            self.cite_from(obligation)
            self.claims_on(obligation)

    def claims_on(self, obligation: Obligation) -> None:
        """Offer the agreement's parties as actors and the term's reports to contest."""
        self.fields["actors"].queryset = obligation.agreement.parties.all()
        reports = Report.objects.filter(obligation=obligation).exclude(
            review_state=V.REJECTED).select_related("claimant").order_by("occurred_at", "id")
        self.fields["contests"].widget = forms.Select(choices=[
            ("", _("— none —")),
            *((str(r.pk), report_choice_label(r)) for r in reports),
        ])

    def claim_fields(self) -> dict[str, Any]:
        """Actors, claimant and contested report as tracker.editorial takes them."""
        return {
            "actors": list(self.cleaned_data.get("actors") or []),
            "claimant": self.cleaned_data.get("claimant") or None,
            "contests": (self.cleaned_data.get("contests") or "").strip() or None,
        }

    @staticmethod
    def claims_initial(report: Report) -> dict[str, Any]:
        return {
            "actors": list(report.actors.all()),
            "claimant": report.claimant.slug if report.claimant_id else "",
            "contests": str(report.contests_id or ""),
        }

    def clean(self):
        cleaned = super().clean()
        obligation = cleaned.get("obligation")
        if "occurred_at" in cleaned:
            try:
                cleaned["occurred_at"] = parse_instant(cleaned["occurred_at"], obligation)
            except forms.ValidationError as exc:
                self.add_error("occurred_at", exc)
        return cleaned

    def occurred(self, obligation: Obligation) -> tuple[datetime, bool]:
        value = self.cleaned_data["occurred_at"]
        if isinstance(value, date) and not isinstance(value, datetime):
            return engine.local_midnight(value, obligation.agreement.zone), True
        return value, False


def claimant_choices() -> list[tuple[str, Any]]:
    """Every claimant by slug, the tracker's own editorial finding always among them
    (tracker.editorial creates it on first use)."""
    choices: list[tuple[str, Any]] = [("", _("— not said —"))]
    known = list(Claimant.objects.order_by("kind", "name").values_list("slug", "name", "kind"))
    labels = dict(V.CLAIMANT_KINDS)
    choices += [(slug, f"{name} ({labels.get(kind, kind)})") for slug, name, kind in known]
    if not any(slug == "tracker" for slug, _name, _kind in known):
        choices.append(("tracker", _("Ceasefire-terms tracker (editorial finding)")))
    return choices


def report_choice_label(report: Report) -> str:
    """How a report to contest is named: its number, claim, date and who says so."""
    who = f" — {report.claimant.name}" if report.claimant_id else ""
    return f"#{report.pk} {report.get_claim_display()} {report.occurred_at:%Y-%m-%d}{who}"


class CorrectionForm(ReportForm):
    retract = forms.BooleanField(
        required=False, label=_("Retract"),
        help_text=_("Withdraw the report instead of replacing it."),
    )
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}),
                             label=_("Why the correction"))
    field_order = [*ReportForm.field_order, "retract", "reason"]


class DeadlineChangeForm(DraftForm):
    obligation = forms.ModelChoiceField(
        Obligation.objects.filter(kind=V.DEADLINE).select_related("agreement"),
        label=_("Obligation"),
    )
    due_date = forms.DateField(label=_("Due date"),
                               help_text=_("The new local due date (YYYY-MM-DD)."))
    agreed_at = forms.CharField(label=_("Agreed at"),
                                help_text=_("When it was agreed (it holds from then)."))
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), label=_("Reason"))
    field_order = DraftForm.order("obligation", "due_date", "agreed_at", "reason")

    def __init__(self, *args, obligation: Obligation | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        if obligation is not None:  # editing a draft
            self.fields["version"].required = True
            self.fix_obligation(obligation)

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
        return cleaned


class DecisionForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput)
    reason = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
