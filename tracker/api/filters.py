"""One FilterSet per resource. Unknown values are a 400 with a message, never an empty 200."""

from __future__ import annotations

from datetime import datetime

from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django_filters import rest_framework as filters
from django_filters.fields import IsoDateTimeField
from django_filters.rest_framework import DjangoFilterBackend
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.exceptions import ValidationError

from tracker import instants, statuses
from tracker import vocabulary as V
from tracker.instants import AsOf, InstantError
from tracker.models import (
    Agreement,
    AgreementRelation,
    Claimant,
    Location,
    Obligation,
    Party,
    Report,
    Source,
    StatusEvent,
)
from tracker.query_names import places_matching, places_named
from tracker.search import fold, matching


class CommaChoiceField(forms.CharField):
    """`a,b,c` where every item must be one of `choices`."""

    def __init__(self, *args, allowed=(), **kwargs):
        self.valid = list(allowed)
        super().__init__(*args, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if not value:
            return []
        items = [v.strip() for v in value.split(",") if v.strip()]
        unknown = [v for v in items if v not in self.valid]
        if unknown:
            # The client's text goes in as a parameter: a '%' in it is not a format.
            raise forms.ValidationError(
                _("Unknown value(s) %(unknown)s; choose from %(valid)s."),
                params={"unknown": ", ".join(unknown), "valid": ", ".join(self.valid)},
            )
        return items


class CommaChoiceFilter(filters.Filter):
    field_class = CommaChoiceField


class InstantField(IsoDateTimeField):
    """An ISO 8601 instant with an offset, made UTC (`tracker.instants`: the database
    rejects odd offsets such as -21:12 and years before 1 AD in some zones)."""

    def to_python(self, value):
        if value in self.empty_values:
            return None
        # The message quotes the client's text: passed as a parameter, so a '%' in it is
        # not read as a format (django-filter formats the message with its params).
        try:
            parsed = instants.parse(value)
        except InstantError as exc:
            raise forms.ValidationError("%(message)s", params={"message": str(exc)}) from exc
        if not isinstance(parsed, datetime):
            raise forms.ValidationError("%(message)s",
                                        params={"message": str(InstantError(value))})
        return parsed


class InstantFilter(filters.IsoDateTimeFilter):
    field_class = InstantField


class FilterBackend(DjangoFilterBackend):
    """Hands the view's answered point in time to FilterSets that read statuses."""

    def get_filterset_kwargs(self, request, queryset, view) -> dict:
        kwargs = super().get_filterset_kwargs(request, queryset, view)
        filterset_class = self.get_filterset_class(view, queryset)
        if filterset_class is not None and issubclass(filterset_class, ObligationFilter):
            kwargs["as_of"] = view.as_of
        return kwargs


# The refusal for a slug that names nothing, per kind of thing.
SLUG_MESSAGES = {
    "Agreement": gettext_lazy("No agreement with that slug."),
    "Party": gettext_lazy("No party with that slug."),
    "Location": gettext_lazy("No location with that slug."),
    "Claimant": gettext_lazy("No claimant with that slug."),
}


def _slug_filter(model, label: str, field_name: str, **kw) -> filters.ModelChoiceFilter:
    return filters.ModelChoiceFilter(
        field_name=field_name,
        queryset=model.objects.all(),
        to_field_name="slug",
        label=label,
        error_messages={"invalid_choice": SLUG_MESSAGES[label.split()[0]]},
        **kw,
    )


def search_places(value: str) -> QuerySet[Location]:
    """Places any of whose names or aliases contain the query, folded or as its
    cross-script key (tracker.search: "Карабах" finds "Qarabağ")."""
    return places_matching(value)


class ObligationFilter(filters.FilterSet):
    """Obligations; `status` is read at the request's point in time (`as_of`)."""

    def __init__(self, *args, as_of: AsOf | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.as_of = as_of if as_of is not None else AsOf()

    agreement = _slug_filter(Agreement, "Agreement slug", "agreement")
    kind = filters.ChoiceFilter(choices=V.KINDS)
    category = filters.CharFilter(method="filter_category", label="Category (e.g. withdrawal)")
    party = _slug_filter(Party, "Party slug (a responsible party)", "responsible")
    responsible = _slug_filter(Party, "Party slug (alias of `party`)", "responsible")
    place = filters.CharFilter(
        method="filter_place",
        label="A place: its slug or any of its names or aliases, any case (e.g. Kelbajar)",
    )
    location = filters.CharFilter(method="filter_place", label="Alias of `place`")
    due_after = filters.DateFilter(field_name="due_date", lookup_expr="gte",
                                   label="Due on or after (local date)")
    due_before = filters.DateFilter(field_name="due_date", lookup_expr="lte",
                                    label="Due on or before (local date)")
    q = filters.CharFilter(
        method="filter_q",
        label="Search titles, descriptions and every place-name form and alias",
    )
    # Last, so it runs on the already narrowed rows (with as_of it may assess some).
    status = CommaChoiceFilter(
        method="filter_status", allowed=V.ALL_STATUSES,
        label="Status at as_of (comma-separated list)",
    )
    ordering = filters.OrderingFilter(
        fields=(
            ("due_date", "due_date"),
            ("due_at", "due_at"),
            ("title", "title"),
            ("position", "position"),
            ("status", "status"),
            ("status_since", "status_since"),
            ("id", "id"),
        ),
        label="Order by (prefix - to reverse; status orderings only without as_of)",
    )

    class Meta:
        model = Obligation
        fields: list[str] = []

    def filter_category(self, queryset, name, value):
        # Categories are open-ended slugs: a value no obligation has is an error, not an
        # empty list. The existence check stops at the first row; the list of known ones
        # is only read to explain a refusal.
        if not Obligation.objects.filter(category=value).exists():
            known = Obligation.objects.order_by("category").values_list(
                "category", flat=True
            ).distinct()
            raise ValidationError(
                {"category": [_("Unknown category %(value)r; one of %(known)s.")
                              % {"value": value, "known": ", ".join(known)}]}
            )
        return queryset.filter(category=value)

    def filter_place(self, queryset, name, value):
        places = list(places_named(value).values_list("pk", flat=True))
        if not places:
            raise ValidationError({name: [
                _("No place has a name or alias containing %(value)r; /api/v1/locations/ "
                  "lists every place with its names.") % {"value": value.strip()}
            ]})
        through = Obligation.locations.through.objects.filter(location__in=places)
        return queryset.filter(pk__in=through.values("obligation_id"))

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        folded = fold(value)
        through = Obligation.locations.through.objects.filter(
            location__in=search_places(value)
        ).values("obligation_id")
        return queryset.filter(
            Q(title__icontains=value)
            | Q(description__icontains=value)
            | Q(title__icontains=folded)
            | Q(description__icontains=folded)
            | matching("search_text", value)
            | Q(pk__in=through)
        )

    def filter_status(self, queryset, name, value):
        if not value:
            return queryset
        return statuses.filter_status(queryset, value, self.as_of)


class AgreementFilter(filters.FilterSet):
    party = _slug_filter(Party, "Party slug (signatory)", "parties")

    class Meta:
        model = Agreement
        fields: list[str] = []


class EventFilter(filters.FilterSet):
    agreement = _slug_filter(Agreement, "Agreement slug", "obligation__agreement")
    obligation = filters.NumberFilter(field_name="obligation_id", label="Obligation id")
    status = CommaChoiceFilter(field_name="to_status", lookup_expr="in",
                               allowed=V.ALL_STATUSES, label="New status (comma list)")
    cause = filters.ChoiceFilter(choices=V.EVENT_CAUSES)
    since = InstantFilter(field_name="effective_at", lookup_expr="gte",
                                      label="Effective at or after (ISO 8601)")
    until = InstantFilter(field_name="effective_at", lookup_expr="lt",
                                      label="Effective before (ISO 8601)")

    class Meta:
        model = StatusEvent
        fields: list[str] = []


class ReportFilter(filters.FilterSet):
    agreement = _slug_filter(Agreement, "Agreement slug", "obligation__agreement")
    obligation = filters.NumberFilter(field_name="obligation_id", label="Obligation id")
    claim = filters.ChoiceFilter(choices=V.CLAIMS)
    review_state = filters.ChoiceFilter(
        choices=V.REVIEW_STATES, label="Review state (drafts are visible to editors only)"
    )
    occurred_after = InstantFilter(field_name="occurred_at", lookup_expr="gte")
    occurred_before = InstantFilter(field_name="occurred_at", lookup_expr="lt")
    actor = filters.ModelChoiceFilter(
        method="filter_actor", queryset=Party.objects.all(), to_field_name="slug",
        label="Party slug: reports of its acts (naming it, or naming no actors on a term it "
        "is responsible for; a denial naming none is no act)",
        error_messages={"invalid_choice": SLUG_MESSAGES["Party"]},
    )
    claimant = _slug_filter(Claimant, "Claimant slug (who says so)", "claimant")
    claimant_kind = filters.ChoiceFilter(
        field_name="claimant__kind", choices=V.CLAIMANT_KINDS,
        label="Kind of claimant (tracker: editorial findings)",
    )

    class Meta:
        model = Report
        fields: list[str] = []

    @extend_schema_field(OpenApiTypes.STR)
    def filter_actor(self, queryset, name, party):
        # A report without actors is about the term's responsible parties (DESIGN.md);
        # a denial without actors names no act.
        named = Report.actors.through.objects.filter(party=party).values("report_id")
        unnamed = (Q(actors__isnull=True) & Q(obligation__responsible=party)
                   & ~Q(claim=V.CLAIM_DENIAL))
        implicit = Report.objects.filter(unnamed).values("pk")
        return queryset.filter(Q(pk__in=named) | Q(pk__in=implicit))


class LocationFilter(filters.FilterSet):
    agreement = _slug_filter(Agreement, "Agreement slug", "agreements")
    kind = filters.ChoiceFilter(choices=V.LOCATION_KINDS)
    q = filters.CharFilter(method="filter_q", label="Any name form or alias")

    class Meta:
        model = Location
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        return queryset.filter(pk__in=search_places(value.strip()).values("pk"))


class PartyFilter(filters.FilterSet):
    agreement = _slug_filter(Agreement, "Agreement slug", "agreements")
    kind = filters.ChoiceFilter(choices=V.PARTY_KINDS)
    q = filters.CharFilter(method="filter_q", label="Its name or a former name")

    class Meta:
        model = Party
        fields: list[str] = []

    def filter_q(self, queryset, name, value):
        # Search's one rule, as for places: folded, or by the cross-script key.
        return queryset.filter(matching("search_text", value.strip()))


class ClaimantFilter(filters.FilterSet):
    kind = filters.ChoiceFilter(choices=V.CLAIMANT_KINDS)
    party = _slug_filter(Party, "Party slug (whose government or ministry)", "party")

    class Meta:
        model = Claimant
        fields: list[str] = []


class RelationFilter(filters.FilterSet):
    agreement = _slug_filter(Agreement, "Agreement slug (the later agreement, which acts)",
                             "agreement")
    target_agreement = _slug_filter(
        Agreement, "Agreement slug (the earlier agreement, acted upon)", "target_agreement"
    )
    kind = filters.ChoiceFilter(choices=V.RELATION_KINDS)
    target = filters.NumberFilter(field_name="target_id", label="Obligation id (the term acted "
                                  "upon)")
    replacement = filters.NumberFilter(field_name="replacement_id",
                                       label="Obligation id (the term that replaces)")

    class Meta:
        model = AgreementRelation
        fields: list[str] = []


class ScoresFilter(filters.FilterSet):
    agreement = _slug_filter(Agreement, "Agreement slug (scores over its terms only)",
                             "slug", method="filter_agreement")

    @extend_schema_field(OpenApiTypes.STR)
    def filter_agreement(self, queryset, name, agreement):
        # The view reads the chosen agreement from the form; nothing to narrow here.
        return queryset

    class Meta:
        model = Agreement
        fields: list[str] = []


class SourceFilter(filters.FilterSet):
    agreement = _slug_filter(Agreement, "Agreement slug", "agreement")
    language = filters.CharFilter()

    class Meta:
        model = Source
        fields: list[str] = []
