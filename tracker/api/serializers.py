"""Read shapes of the public API, and the one write shape (a draft report).

Obligation status fields are read from `obj.state` (the `deadlines.engine.Assessment`
the view attaches from `tracker.statuses`): the stored status now, or the engine's
answer for `as_of`. The answered point in time (`tracker.instants.AsOf`) comes in the
context as `as_of`.
"""

from __future__ import annotations

import functools
from urllib.parse import urlencode

from django.urls import reverse as django_reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from tracker import instants, texts
from tracker import vocabulary as V
from tracker.api.relations import date_text as _date
from tracker.api.relations import instant_text as _instant
from tracker.credits import credits
from tracker.instants import InstantError
from tracker.models import (
    Agreement,
    DeadlineChange,
    Location,
    Obligation,
    Party,
    Report,
    Source,
    StatusEvent,
)
from tracker.numbers import whole_number

STATUS_CHOICES = V.STATUSES


def status_label(status: str) -> str:
    """A status's label in the active language ("" for none): identifiers stay English."""
    return str(V.STATUS_LABELS.get(status, status)) if status else ""


def _language_of(context: dict) -> str:
    """The language the request asked for (Accept-Language or ?lang=), read once per
    serializer run."""
    if "text_language" not in context:
        context["text_language"] = texts.requested_language()
    return context["text_language"]


def _reverse(viewname, args=None, kwargs=None, request=None, format=None, **extra) -> str:
    """An object's own address. DRF's reverse would carry the request's `?format=csv`
    into every link of a CSV export, and the JSON-only detail answers that with 404."""
    path = django_reverse(viewname, args=args, kwargs=kwargs)
    return request.build_absolute_uri(path) if request is not None else path


class Link(serializers.HyperlinkedIdentityField):
    """The object's API address, whatever format the request asked for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reverse = _reverse


class RelatedLink(serializers.HyperlinkedRelatedField):
    """A related object's API address, whatever format the request asked for."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.reverse = _reverse


def page_link(request, viewname: str, *args: str, query: str = "", anchor: str = "") -> str:
    """The dashboard page a reader can cite for a thing (absolute when `request` is
    given)."""
    path = django_reverse(viewname, args=args) + (f"?{query}" if query else "") + anchor
    return request.build_absolute_uri(path) if request is not None else path


@extend_schema_field(OpenApiTypes.URI)
class PageLink(serializers.Field):
    """`page_url`: the dashboard page for the object, from `page(obj)` → (view name,
    args, query, anchor)."""

    def __init__(self, page, **kwargs) -> None:
        self.page = page
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, obj) -> str:
        viewname, args, query, anchor = self.page(obj)
        return page_link(self.context.get("request"), viewname, *args, query=query,
                         anchor=anchor)


def _obligation_page(obligation: Obligation, anchor: str = "") -> tuple:
    return ("web:obligation", (obligation.agreement.slug, obligation.slug), "", anchor)


class PartyRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Party
        fields = ["slug", "name"]


class LocationRefSerializer(serializers.ModelSerializer):
    name = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)

    class Meta:
        model = Location
        fields = ["slug", "name", "alt_name", "label"]


class SourceRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Source
        fields = ["id", "key", "url", "publisher", "title", "published_at", "language"]


class TextFields(serializers.Serializer):
    """`title` and `description` in the request's language, English where that language
    has none; `language` says which language each was given in."""

    title = serializers.SerializerMethodField(
        help_text="The title in the request's language (Accept-Language or ?lang=), or "
        "English where none is recorded: `language.title` says which."
    )
    description = serializers.SerializerMethodField(
        help_text="The description in the request's language, or English where none is "
        "recorded: `language.description` says which."
    )
    language = serializers.SerializerMethodField(
        help_text="The language each text field was actually given in (a code: en, az, hy, "
        "ru); English where the language asked for has no text."
    )

    def _shown(self, obj) -> dict[str, texts.Shown]:
        lang = _language_of(self.context)
        return {"title": texts.title(obj, lang), "description": texts.description(obj, lang)}

    def get_title(self, obj) -> str:
        return self._shown(obj)["title"].text

    def get_description(self, obj) -> str:
        return self._shown(obj)["description"].text

    @extend_schema_field(serializers.DictField(child=serializers.CharField()))
    def get_language(self, obj) -> dict:
        return texts.languages_of(self._shown(obj))


class ClauseTextSerializer(serializers.Serializer):
    number = serializers.CharField()
    text = serializers.CharField()
    translation = serializers.BooleanField(
        help_text="True: no text published in this language was found; this is a "
        "translation.")
    note = serializers.CharField()
    sources = SourceRefSerializer(many=True)


class PartySerializer(serializers.ModelSerializer):
    url = Link(view_name="api:party-detail", lookup_field="slug")

    class Meta:
        model = Party
        fields = ["slug", "name", "kind", "url"]


class LocationSerializer(serializers.ModelSerializer):
    url = Link(view_name="api:location-detail", lookup_field="slug")
    page_url = PageLink(
        lambda loc: ("web:places", (), urlencode({"q": loc.name}), ""),
        help_text="The dashboard's page for the place (the places page, found by name).",
    )
    name = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    names = serializers.DictField(child=serializers.CharField(), read_only=True)
    aliases = serializers.ListField(child=serializers.CharField(), read_only=True)

    class Meta:
        model = Location
        fields = [
            "slug", "kind", "name", "label", "names", "alt_name", "aliases", "latitude",
            "longitude", "coordinates_note", "url", "page_url",
        ]


class SourceSerializer(serializers.ModelSerializer):
    agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)

    class Meta:
        model = Source
        fields = [
            "id", "agreement", "key", "url", "publisher", "title", "published_at", "language",
        ]


class DeadlineChangeSerializer(serializers.ModelSerializer):
    sources = SourceRefSerializer(many=True, read_only=True)

    class Meta:
        model = DeadlineChange
        fields = ["id", "due_date", "agreed_at", "reason", "unconfirmed", "note", "sources"]


class PartyCountsSerializer(serializers.Serializer):
    party = serializers.CharField(source="party.slug")
    name = serializers.CharField(source="party.name")
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())


class AgreementSerializer(TextFields, serializers.ModelSerializer):
    url = Link(view_name="api:agreement-detail", lookup_field="slug")
    page_url = PageLink(lambda a: ("web:agreement", (a.slug,), "", ""),
                        help_text="The agreement's dashboard page.")
    parties = PartyRefSerializer(many=True, read_only=True)
    status_counts = serializers.SerializerMethodField()
    party_counts = serializers.SerializerMethodField()
    as_of = serializers.SerializerMethodField()
    obligations = serializers.SerializerMethodField()

    class Meta:
        model = Agreement
        fields = [
            "slug", "title", "description", "language", "signed_at", "effective_at",
            "timezone", "warning_days", "parties", "status_counts", "party_counts", "as_of",
            "obligations", "url", "page_url",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_status_counts(self, obj: Agreement) -> dict:
        return self.context["status_counts"].get(obj.pk, {})

    @extend_schema_field(PartyCountsSerializer(many=True))
    def get_party_counts(self, obj: Agreement) -> list:
        return PartyCountsSerializer(self.context["party_counts"].get(obj.pk, []), many=True).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_as_of(self, obj: Agreement) -> str | None:
        return self.context["as_of"].label

    @extend_schema_field(OpenApiTypes.URI)
    def get_obligations(self, obj: Agreement) -> str:
        base = reverse("api:obligation-list", request=self.context.get("request"))
        return f"{base}?agreement={obj.slug}"


class ObligationSerializer(TextFields, serializers.ModelSerializer):
    url = Link(view_name="api:obligation-detail")
    history_url = Link(view_name="api:obligation-history")
    page_url = PageLink(lambda o: _obligation_page(o),
                        help_text="The obligation's dashboard page.")
    agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    timezone = serializers.CharField(source="agreement.timezone", read_only=True)
    clause = serializers.SlugRelatedField(slug_field="number", read_only=True, allow_null=True)
    clause_text = serializers.SerializerMethodField(
        help_text="The text of the obligation's clause in the request's language: as "
        "published in it (with its sources), or a translation marked as one, or the "
        "English text where that language has none (`language.clause_text` says which)."
    )
    responsible = PartyRefSerializer(many=True, read_only=True)
    monitors = PartyRefSerializer(many=True, read_only=True)
    locations = LocationRefSerializer(many=True, read_only=True)
    sources = SourceRefSerializer(many=True, read_only=True)
    deadline_changes = DeadlineChangeSerializer(
        many=True, read_only=True, source="public_changes"
    )
    # The state at the answered instant (see module docstring).
    status = serializers.ChoiceField(choices=STATUS_CHOICES, source="state.status",
                                     read_only=True)
    status_label = serializers.SerializerMethodField(
        help_text="The status in the request's language (Accept-Language or ?lang=); "
        "`status` is the identifier."
    )
    status_since = serializers.DateTimeField(source="state.status_since", read_only=True,
                                             allow_null=True)
    due_date = serializers.DateField(source="state.due_date", read_only=True, allow_null=True)
    due_at = serializers.DateTimeField(source="state.due_at", read_only=True, allow_null=True)
    days_remaining = serializers.IntegerField(source="state.days_remaining", read_only=True,
                                              allow_null=True)
    days_overdue = serializers.IntegerField(source="state.days_overdue", read_only=True,
                                            allow_null=True)
    term_ends_at = serializers.DateTimeField(source="state.term_ends_at", read_only=True,
                                             allow_null=True)
    notice_deadline = serializers.DateTimeField(source="state.notice_deadline", read_only=True,
                                                allow_null=True)
    status_report = serializers.IntegerField(
        source="state.report_id", read_only=True, allow_null=True,
        help_text="Id of the report that decided the status (given with as_of only).",
    )
    unconfirmed = serializers.BooleanField(source="state.unconfirmed", read_only=True)
    as_of = serializers.SerializerMethodField(
        help_text="The instant the status is answered for; null: the stored current status."
    )

    class Meta:
        model = Obligation
        fields = [
            "id", "slug", "agreement", "timezone", "clause", "clause_text", "title",
            "description", "language", "kind", "category", "responsible", "monitors",
            "locations", "due_date", "due_at",
            "original_due_date", "deadline_changes", "starts_at", "ends_at", "term_years",
            "renews_years", "notice_months", "status", "status_label", "status_since",
            "days_remaining",
            "days_overdue", "term_ends_at", "notice_deadline", "status_report", "unconfirmed",
            "as_of", "assessed_at", "sources", "url", "history_url", "page_url",
        ]

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_as_of(self, obj: Obligation) -> str | None:
        return _instant(obj.state.at) if self.context["as_of"].explicit else None

    def get_status_label(self, obj: Obligation) -> str:
        return status_label(obj.state.status)

    def _shown(self, obj: Obligation) -> dict[str, texts.Shown]:
        shown = super()._shown(obj)
        if obj.clause_id:
            lang = _language_of(self.context)
            attached = getattr(obj, "clause_shown", None)  # read for a page by the view
            shown["clause_text"] = attached or texts.clause_text(obj.clause, lang)
        return shown

    @extend_schema_field(ClauseTextSerializer(allow_null=True))
    def get_clause_text(self, obj: Obligation, shown: texts.Shown | None = None) -> dict | None:
        shown = shown or self._shown(obj).get("clause_text")
        if shown is None:
            return None
        return {"number": obj.clause.number, "text": shown.text,
                "translation": shown.translation, "note": shown.note,
                "sources": SourceRefSerializer(shown.sources, many=True).data}

    def to_representation(self, obj: Obligation) -> dict:
        """The declared fields above are the schema; the values are built here directly
        (a list page, a detail and a CSV export are the API's hottest paths, and DRF's
        per-field machinery cost more than the queries). `obj` carries `state`
        (`deadlines.engine.Assessment`) and `relations`
        (`tracker.api.relations.Relations`), attached by the view.
        `tests/api/test_representation.py` checks the two agree field for field."""
        state, rel, agreement = obj.state, obj.relations, obj.agreement
        base = self._base_url()
        shown = self._shown(obj)
        return {
            "id": obj.pk,
            "slug": obj.slug,
            "agreement": agreement.slug,
            "timezone": agreement.timezone,
            "clause": obj.clause.number if obj.clause_id else None,
            "clause_text": self.get_clause_text(obj, shown.get("clause_text")),
            "title": shown["title"].text,
            "description": shown["description"].text,
            "language": texts.languages_of(shown),
            "kind": obj.kind,
            "category": obj.category,
            "responsible": rel.responsible,
            "monitors": rel.monitors,
            "locations": rel.locations,
            "due_date": _date(state.due_date),
            "due_at": _instant(state.due_at),
            "original_due_date": _date(obj.original_due_date),
            "deadline_changes": rel.deadline_changes,
            "starts_at": _instant(obj.starts_at),
            "ends_at": _instant(obj.ends_at),
            "term_years": obj.term_years,
            "renews_years": obj.renews_years,
            "notice_months": obj.notice_months,
            "status": state.status,
            "status_label": status_label(state.status),
            "status_since": _instant(state.status_since),
            "days_remaining": state.days_remaining,
            "days_overdue": state.days_overdue,
            "term_ends_at": _instant(state.term_ends_at),
            "notice_deadline": _instant(state.notice_deadline),
            "status_report": state.report_id,
            "unconfirmed": state.unconfirmed,
            "as_of": self.get_as_of(obj),
            "assessed_at": _instant(obj.assessed_at),
            "sources": rel.sources,
            "url": f"{base}{obj.pk}/",
            "history_url": f"{base}{obj.pk}/history/",
            "page_url": self._page_url(agreement.slug, obj.slug),
        }

    def _page_url(self, agreement_slug: str, slug: str) -> str:
        # As `_base_url`: the dashboard's path reversed once, filled per row.
        if not hasattr(self, "_page_base"):
            self._page_base = page_link(self.context.get("request"), "web:obligation",
                                        "AGREEMENT", "OBLIGATION")
        return self._page_base.replace("AGREEMENT", agreement_slug, 1).replace(
            "OBLIGATION", slug, 1)

    def _base_url(self) -> str:
        # The detail URLs are the list URL plus "<id>/" (a DRF router's shape): reversed
        # once per serializer instead of twice per row. Django's reverse, not DRF's,
        # which would carry a `?format=csv` of the request into every link.
        if not hasattr(self, "_base"):
            path = _obligations_path()
            request = self.context.get("request")
            self._base = request.build_absolute_uri(path) if request is not None else path
        return self._base


@functools.cache
def _obligations_path() -> str:
    return django_reverse("api:obligation-list")


class ReportRefSerializer(serializers.ModelSerializer):
    url = Link(view_name="api:report-detail")

    class Meta:
        model = Report
        fields = ["id", "claim", "summary", "url"]


class TransitionSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    from_status = serializers.CharField(allow_blank=True)
    to_status = serializers.ChoiceField(choices=STATUS_CHOICES)
    report = ReportRefSerializer(allow_null=True)


class HistorySerializer(serializers.Serializer):
    obligation = serializers.IntegerField()
    url = serializers.URLField()
    as_of = serializers.DateTimeField()
    transitions = TransitionSerializer(many=True)


class ChangeSerializer(serializers.Serializer):
    at = serializers.DateTimeField(help_text="When the tracker published the change.")
    kind = serializers.ChoiceField(
        choices=["published", "corrected", "retracted", "deadline_moved", "relation", "edited"]
    )
    label = serializers.CharField()
    obligation = serializers.IntegerField(allow_null=True)
    obligation_url = serializers.CharField(allow_null=True)
    old = serializers.JSONField(allow_null=True, help_text="The value before (null: none).")
    new = serializers.JSONField(allow_null=True, help_text="The value after (null: withdrawn).")
    reason = serializers.CharField(allow_blank=True)
    reviewed_by = serializers.CharField(allow_null=True)
    report = serializers.IntegerField(allow_null=True)


class ChangesSerializer(serializers.Serializer):
    """Every change to published facts between two `known_at` instants."""

    since = serializers.CharField(allow_null=True)
    until = serializers.CharField()
    changes = ChangeSerializer(many=True)


class NotSignedSerializer(serializers.Serializer):
    """The answer about an agreement (or one of its terms) at an `as_of` before it was
    signed: nothing held yet."""

    not_yet_signed = serializers.BooleanField()
    as_of = serializers.CharField()
    signed_at = serializers.DateTimeField()
    detail = serializers.CharField()


class EventSerializer(serializers.ModelSerializer):
    obligation = serializers.PrimaryKeyRelatedField(read_only=True)
    obligation_title = serializers.CharField(source="obligation.title", read_only=True)
    obligation_url = RelatedLink(
        source="obligation", view_name="api:obligation-detail", read_only=True
    )
    agreement = serializers.CharField(source="obligation.agreement.slug", read_only=True)
    report = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    from_status_label = serializers.SerializerMethodField()
    to_status_label = serializers.SerializerMethodField()
    page_url = PageLink(lambda e: _obligation_page(e.obligation),
                        help_text="The dashboard page of the obligation whose status changed.")

    class Meta:
        model = StatusEvent
        fields = [
            "id", "obligation", "obligation_title", "obligation_url", "agreement",
            "from_status", "from_status_label", "to_status", "to_status_label",
            "effective_at", "detected_at", "cause", "report", "page_url",
        ]

    def get_from_status_label(self, obj: StatusEvent) -> str:
        return status_label(obj.from_status)

    def get_to_status_label(self, obj: StatusEvent) -> str:
        return status_label(obj.to_status)


class ReportSerializer(serializers.ModelSerializer):
    url = Link(view_name="api:report-detail")
    page_url = PageLink(lambda r: _obligation_page(r.obligation, f"#report-{r.pk}"),
                        help_text="The report on its obligation's dashboard page.")
    obligation = serializers.PrimaryKeyRelatedField(read_only=True)
    obligation_url = RelatedLink(
        source="obligation", view_name="api:obligation-detail", read_only=True
    )
    agreement = serializers.CharField(source="obligation.agreement.slug", read_only=True)
    sources = SourceRefSerializer(many=True, read_only=True)
    supersedes = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)
    written_by = serializers.SerializerMethodField(
        help_text="Who wrote it: a role or a name (REPORT_CREDITS), or the agreement file."
    )
    reviewed_by = serializers.SerializerMethodField(
        help_text="Who reviewed and published it; null while it is not published."
    )

    class Meta:
        model = Report
        fields = [
            "id", "obligation", "obligation_url", "agreement", "claim", "occurred_at",
            "occurred_date_only", "summary", "sources", "unconfirmed", "note", "review_state",
            "published_at", "written_by", "reviewed_by", "rejection_reason", "supersedes",
            "retracts", "correction_reason", "superseded_at", "version", "url", "page_url",
        ]

    def get_written_by(self, obj: Report) -> str:
        return credits(obj).written_by

    def get_reviewed_by(self, obj: Report) -> str | None:
        return credits(obj).reviewed_by


# ---------------------------------------------------------------- writes


class NewSourceSerializer(serializers.Serializer):
    url = serializers.URLField(max_length=1000)
    publisher = serializers.CharField(max_length=200)
    title = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
    published_at = serializers.DateField(required=False, allow_null=True, default=None)
    language = serializers.CharField(max_length=16, required=False, allow_blank=True,
                                     default="")


@extend_schema_field(
    {
        "oneOf": [
            {"type": "integer", "description": "Id of an existing source of the agreement."},
            {
                "type": "object",
                "description": "A new source, created with the report.",
                "properties": {
                    "url": {"type": "string", "format": "uri"},
                    "publisher": {"type": "string"},
                    "title": {"type": "string"},
                    "published_at": {"type": "string", "format": "date", "nullable": True},
                    "language": {"type": "string"},
                },
                "required": ["url", "publisher"],
            },
        ]
    }
)
class SourceInputField(serializers.Field):
    """An existing source id, or a new source's fields."""

    default_error_messages = {"invalid": "Give a source id, or an object with url and publisher."}

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, int | str):
            # ASCII digits only: "²" or "٣" pass str.isdigit but are no id a client meant.
            number = whole_number(data)
            if number is None:
                self.fail("invalid")
            return number
        if isinstance(data, dict):
            nested = NewSourceSerializer(data=data)
            nested.is_valid(raise_exception=True)
            return dict(nested.validated_data)
        self.fail("invalid")

    def to_representation(self, value):
        return value


@extend_schema_field(
    {
        "type": "string",
        "description": "An ISO 8601 instant with offset, or a date (counts from 00:00 local).",
        "example": "2020-11-20T10:00:00+04:00",
    }
)
class InstantOrDateField(serializers.Field):
    default_error_messages = {"invalid": instants.EXPECTED}

    def to_internal_value(self, data):
        try:
            return instants.parse(data)
        except InstantError as exc:
            raise serializers.ValidationError(str(exc), code="invalid") from exc

    def to_representation(self, value):
        return value.isoformat()


class ReportCreateSerializer(serializers.Serializer):
    obligation = serializers.PrimaryKeyRelatedField(queryset=Obligation.objects.all())
    claim = serializers.ChoiceField(choices=V.CLAIMS)
    # Whether the report is date-only follows from `occurred_at` (a plain date or an
    # instant), so it is not an input: a flag contradicting a timed instant would make
    # the exporter drop the time.
    occurred_at = InstantOrDateField()
    summary = serializers.CharField()
    sources = serializers.ListField(child=SourceInputField(), allow_empty=False)
    unconfirmed = serializers.BooleanField(required=False, default=False)
    note = serializers.CharField(required=False, allow_blank=True, default="")


class PublishSerializer(serializers.Serializer):
    version = serializers.IntegerField(
        help_text="The `version` of the draft you reviewed (required): if it changed since, "
        "the answer is 409 and nothing happens."
    )


class RejectSerializer(PublishSerializer):
    reason = serializers.CharField()


class ErrorSerializer(serializers.Serializer):
    detail = serializers.CharField()
    code = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(), required=False)
