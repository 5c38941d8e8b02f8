"""Read shapes of the public API, and the one write shape (a draft report).

Obligation status fields are read from `obj.state` (the `deadlines.engine.Assessment`
the view attaches from `tracker.statuses`): the stored status now, or the engine's
answer for `as_of`. The answered point in time (`tracker.instants.AsOf`) comes in the
context as `as_of`.
"""

from __future__ import annotations

import functools
from datetime import datetime
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.urls import reverse as django_reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers
from rest_framework.reverse import reverse

from tracker import instants, naming, texts
from tracker import vocabulary as V
from tracker.api.claims import Claims, claims_for
from tracker.api.relations import date_text as _date
from tracker.api.relations import instant_text as _instant
from tracker.api.relations import replacements
from tracker.credits import credits
from tracker.instants import InstantError
from tracker.models import (
    Agreement,
    AgreementRelation,
    Claimant,
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
# Parties and places belong to no one agreement: a date `as_of` is read in UTC for them,
# unless their list is narrowed to one agreement (`views.NamedAtMixin`).
UTC_ZONE = ZoneInfo("UTC")


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


class ClaimantRefSerializer(serializers.ModelSerializer):
    class Meta:
        model = Claimant
        fields = ["slug", "name", "kind"]


class ClaimantSerializer(serializers.ModelSerializer):
    url = Link(view_name="api:claimant-detail", lookup_field="slug")
    party = serializers.SlugRelatedField(
        slug_field="slug", read_only=True, allow_null=True,
        help_text="The party whose government or ministry this is (null for the press, "
        "monitors that are no party, and the tracker).",
    )
    kind_label = serializers.SerializerMethodField(
        help_text="The kind in the request's language; `kind` is the identifier."
    )

    class Meta:
        model = Claimant
        fields = ["slug", "name", "kind", "kind_label", "party", "url"]

    def get_kind_label(self, obj: Claimant) -> str:
        return str(dict(V.CLAIMANT_KINDS).get(obj.kind, obj.kind))


def _term_ref(obligation: Obligation | None, request) -> dict | None:
    """A term of an agreement as a relation names it: ids, slugs and both addresses."""
    if obligation is None:
        return None
    agreement = obligation.agreement.slug
    return {
        "id": obligation.pk,
        "agreement": agreement,
        "slug": obligation.slug,
        "title": obligation.title,
        "url": _reverse("api:obligation-detail", args=[obligation.pk], request=request),
        "page_url": page_link(request, "web:obligation", agreement, obligation.slug),
    }


TERM_REF_SCHEMA = {
    "type": "object",
    "nullable": True,
    "properties": {
        "id": {"type": "integer"},
        "agreement": {"type": "string"},
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "url": {"type": "string", "format": "uri"},
        "page_url": {"type": "string", "format": "uri"},
    },
}


class RelationSerializer(serializers.ModelSerializer):
    """What a later agreement does to an earlier one (or to one term of it), from `at`."""

    url = Link(view_name="api:relation-detail")
    agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    target_agreement = serializers.SlugRelatedField(slug_field="slug", read_only=True)
    kind_label = serializers.SerializerMethodField(
        help_text="The kind in the request's language; `kind` is the identifier."
    )
    ends = serializers.SerializerMethodField(
        help_text="The status it gives the terms it ends from `at` (superseded, terminated); "
        "null for a relation that only links (implements, amends)."
    )
    target = serializers.SerializerMethodField(
        help_text="The term of the earlier agreement it concerns; null: the agreement as a "
        "whole (every term of it)."
    )
    replacement = serializers.SerializerMethodField(
        help_text="The later agreement's term that takes the target's place (supersedes only)."
    )
    sources = SourceRefSerializer(many=True, read_only=True)

    class Meta:
        model = AgreementRelation
        fields = ["id", "agreement", "kind", "kind_label", "ends", "target_agreement", "target",
                  "replacement", "at", "published_at", "note", "unconfirmed", "sources", "url"]

    def get_kind_label(self, obj: AgreementRelation) -> str:
        return str(dict(V.RELATION_KINDS).get(obj.kind, obj.kind))

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_ends(self, obj: AgreementRelation) -> str | None:
        return V.RELATION_ENDINGS.get(obj.kind)

    @extend_schema_field(TERM_REF_SCHEMA)
    def get_target(self, obj: AgreementRelation) -> dict | None:
        return _term_ref(obj.target, self.context.get("request"))

    @extend_schema_field(TERM_REF_SCHEMA)
    def get_replacement(self, obj: AgreementRelation) -> dict | None:
        return _term_ref(obj.replacement, self.context.get("request"))


def _names_at(context: dict, zone: ZoneInfo = UTC_ZONE) -> datetime | None:
    """The instant whose names the answer shows (`tracker.naming`): None, today's,
    unless `as_of` was given; a date is read in `zone`."""
    return naming.instant(context.get("as_of"), zone)


class FormerPartyNameSerializer(serializers.Serializer):
    name = serializers.CharField()
    until = serializers.DateTimeField(help_text="Before this instant it had this name.")
    sources = serializers.ListField(child=serializers.URLField(),
                                    help_text="Texts that report the renaming.")
    note = serializers.CharField()


class FormerPlaceNameSerializer(serializers.Serializer):
    names = serializers.DictField(child=serializers.CharField(),
                                  help_text="The names of the time by language.")
    name = serializers.CharField(help_text="The English name of the time.")
    alt_name = serializers.CharField(help_text="The other side's name of the time.")
    until = serializers.DateTimeField(help_text="Before this instant it had these names.")
    sources = serializers.ListField(child=serializers.URLField(),
                                    help_text="Texts that report the renaming.")
    note = serializers.CharField()


def _former_names(obj: Party | Location, at: datetime | None) -> list[dict]:
    """The dated names as the API shows them, oldest first (every key present): those
    given up by `at` (None: every one), no renaming still to come."""
    out = []
    for entry in naming.ended_by(obj.former_names, at):
        row = {**entry, "until": _instant(naming.until_of(entry)), "note": entry.get("note", "")}
        if "names" in entry:
            row.update(name=entry["names"].get("en", ""), alt_name=entry.get("alt_name", ""))
        out.append(row)
    return out


class NamedAt(serializers.Serializer):
    """A party or a place named as at the request's `as_of` (today's names without it)."""

    def names_at(self) -> datetime | None:
        return _names_at(self.context, self.context.get("names_zone", UTC_ZONE))

    def to_representation(self, instance):
        return super().to_representation(naming.named_at(instance, self.names_at()))


class PartySerializer(NamedAt, serializers.ModelSerializer):
    url = Link(view_name="api:party-detail", lookup_field="slug")
    name = serializers.CharField(
        read_only=True, help_text="Its name at `as_of` (today's name without it).")
    former_names = serializers.SerializerMethodField(
        help_text="Its earlier names, each with the instant it stopped being used "
        "(`until`) and the texts that report the renaming, oldest first; with `as_of`, "
        "those given up by then.")

    class Meta:
        model = Party
        fields = ["slug", "name", "kind", "former_names", "url"]

    @extend_schema_field(FormerPartyNameSerializer(many=True))
    def get_former_names(self, obj: Party) -> list[dict]:
        return _former_names(obj, self.names_at())


class LocationSerializer(NamedAt, serializers.ModelSerializer):
    url = Link(view_name="api:location-detail", lookup_field="slug")
    page_url = PageLink(
        lambda loc: ("web:places", (), urlencode({"q": loc.name}), ""),
        help_text="The dashboard's page for the place (the places page, found by name).",
    )
    name = serializers.CharField(read_only=True)
    label = serializers.CharField(read_only=True)
    names = serializers.DictField(
        child=serializers.CharField(), read_only=True,
        help_text="Its names by language at `as_of` (today's without it).")
    aliases = serializers.ListField(child=serializers.CharField(), read_only=True)
    former_names = serializers.SerializerMethodField(
        help_text="Its earlier names, each with the instant they stopped being used "
        "(`until`) and the texts that report the renaming, oldest first; with `as_of`, "
        "those given up by then.")

    class Meta:
        model = Location
        fields = [
            "slug", "kind", "name", "label", "names", "alt_name", "aliases", "former_names",
            "latitude", "longitude", "coordinates_note", "url", "page_url",
        ]

    @extend_schema_field(FormerPlaceNameSerializer(many=True))
    def get_former_names(self, obj: Location) -> list[dict]:
        return _former_names(obj, self.names_at())


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
    name = serializers.SerializerMethodField(help_text="Its name at `as_of`.")
    total = serializers.IntegerField()
    counts = serializers.DictField(child=serializers.IntegerField())
    as_actor = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Of `counts`, the breaches charged to the party as the actor on a term "
        "that does not bind it (docs/method.md); also counted in `counts` and `total`.",
    )

    def get_name(self, obj) -> str:
        return naming.name_at(obj.party, self.context.get("names_at"))


class AgreementSerializer(TextFields, serializers.ModelSerializer):
    url = Link(view_name="api:agreement-detail", lookup_field="slug")
    page_url = PageLink(lambda a: ("web:agreement", (a.slug,), "", ""),
                        help_text="The agreement's dashboard page.")
    parties = serializers.SerializerMethodField(
        help_text="Its parties, named as at `as_of` (today's names without it).")
    status_counts = serializers.SerializerMethodField()
    party_counts = serializers.SerializerMethodField()
    as_of = serializers.SerializerMethodField()
    obligations = serializers.SerializerMethodField()
    titles = serializers.DictField(
        child=serializers.CharField(), read_only=True,
        help_text="The title in other languages ({language: title}); `title` is English.",
    )
    descriptions = serializers.DictField(child=serializers.CharField(), read_only=True)
    builds_on = RelationSerializer(
        many=True, read_only=True, source="relations",
        help_text="What this agreement does to earlier ones (implements, amends, supersedes "
        "or terminates them or terms of them), oldest first.",
    )
    followed_by = RelationSerializer(
        many=True, read_only=True,
        help_text="What later agreements did to this one, oldest first.",
    )

    class Meta:
        model = Agreement
        fields = [
            "slug", "title", "description", "language", "titles", "descriptions",
            "signed_at", "effective_at", "timezone", "warning_days", "parties", "builds_on",
            "followed_by", "status_counts", "party_counts", "as_of", "obligations", "url",
            "page_url",
        ]

    @extend_schema_field(serializers.DictField(child=serializers.IntegerField()))
    def get_status_counts(self, obj: Agreement) -> dict:
        return self.context["status_counts"].get(obj.pk, {})

    @extend_schema_field(PartyRefSerializer(many=True))
    def get_parties(self, obj: Agreement) -> list[dict]:
        at = _names_at(self.context, obj.zone)
        return [{"slug": p.slug, "name": naming.name_at(p, at)} for p in obj.parties.all()]

    @extend_schema_field(PartyCountsSerializer(many=True))
    def get_party_counts(self, obj: Agreement) -> list:
        return PartyCountsSerializer(self.context["party_counts"].get(obj.pk, []), many=True,
                                     context={"names_at": _names_at(self.context, obj.zone)}
                                     ).data

    @extend_schema_field(serializers.CharField(allow_null=True))
    def get_as_of(self, obj: Agreement) -> str | None:
        return self.context["as_of"].label

    @extend_schema_field(OpenApiTypes.URI)
    def get_obligations(self, obj: Agreement) -> str:
        base = reverse("api:obligation-list", request=self.context.get("request"))
        return f"{base}?agreement={obj.slug}"


class TermLinkSerializer(serializers.Serializer):
    """A term of another agreement that a relation links an obligation to."""

    relation = serializers.IntegerField(help_text="Id of the relation (/api/v1/relations/).")
    at = serializers.DateTimeField(help_text="From when the relation holds.")
    id = serializers.IntegerField()
    agreement = serializers.CharField()
    slug = serializers.CharField()
    title = serializers.CharField()
    url = serializers.URLField()
    page_url = serializers.URLField()


class SourceShape(serializers.Serializer):
    id = serializers.IntegerField()
    key = serializers.CharField()
    url = serializers.URLField()
    publisher = serializers.CharField()
    title = serializers.CharField()
    published_at = serializers.DateField(allow_null=True)
    language = serializers.CharField()


class AccountSerializer(serializers.Serializer):
    """One account of a disputed term: a published report with whose act it reports,
    who says so and its sources."""

    id = serializers.IntegerField()
    claim = serializers.ChoiceField(choices=V.CLAIMS)
    claim_label = serializers.CharField()
    occurred_at = serializers.DateTimeField()
    summary = serializers.CharField()
    actors = serializers.ListField(child=serializers.CharField())
    claimant = ClaimantRefSerializer(allow_null=True)
    finding = serializers.BooleanField()
    contests = serializers.IntegerField(allow_null=True)
    unconfirmed = serializers.BooleanField()
    sources = SourceShape(many=True)
    url = serializers.URLField()


class DisputeSerializer(serializers.Serializer):
    reason = serializers.ChoiceField(
        choices=["claims", "text"],
        help_text="`claims`: published claims conflict and no finding settles them; "
        "`text`: the term exists only in some versions of the text.",
    )
    reason_label = serializers.CharField()
    since = serializers.DateTimeField(allow_null=True)
    text = serializers.CharField(help_text="For `text`: which versions carry the term.")
    accounts = AccountSerializer(many=True, help_text="Every account, each with its claimant "
                                 "and sources (for `claims`).")


class ReplacementSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    agreement = serializers.CharField()
    slug = serializers.CharField()
    title = serializers.CharField()
    url = serializers.URLField()
    page_url = serializers.URLField()


class EndingSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=["superseded", "overtaken", "terminated"])
    status_label = serializers.CharField()
    at = serializers.DateTimeField()
    by = serializers.ChoiceField(
        choices=["relation", "report", "term"],
        help_text="What ended it: a later agreement's relation, a reported fact (overtaken "
        "by events, ended early), or the term's own end.",
    )
    by_label = serializers.CharField()
    cause = serializers.CharField(help_text="The relation's note or the report's summary.")
    report = serializers.IntegerField(allow_null=True)
    report_url = serializers.URLField(allow_null=True)
    relation = serializers.IntegerField(allow_null=True)
    relation_url = serializers.URLField(allow_null=True)
    replacement = ReplacementSerializer(allow_null=True)


class StandingSerializer(serializers.Serializer):
    """One party's standing on the term (docs/method.md)."""

    party = serializers.CharField(help_text="Party slug (/api/v1/parties/).")
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    status_label = serializers.CharField()
    responsible = serializers.BooleanField(
        help_text="The term binds it; false: a party whose act on the term was reported.")
    charged = serializers.BooleanField(help_text="Its standing is a breach charged to it.")
    report = serializers.IntegerField(allow_null=True)


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
    titles = serializers.DictField(
        child=serializers.CharField(), read_only=True,
        help_text="The title in other languages ({language: title}); `title` is English.",
    )
    descriptions = serializers.DictField(child=serializers.CharField(), read_only=True)
    text_dispute = serializers.CharField(
        read_only=True,
        help_text="Non-empty when the term exists only in some versions of the text: which "
        "carry it and which do not. Such a term is `disputed`, never a breach.",
    )
    replaced_by = serializers.SerializerMethodField(
        help_text="Terms of later agreements that superseded this one, each with the "
        "relation that says so and the instant from which it holds."
    )
    replaces = serializers.SerializerMethodField(
        help_text="Terms of earlier agreements this one superseded."
    )
    standings = serializers.SerializerMethodField(
        help_text="Each party's standing on the term at the answered instant: its responsible "
        "parties, and a party not bound by it once its act on it was reported."
    )
    dispute = serializers.SerializerMethodField(
        help_text="When `disputed`: why, since when, and every account."
    )
    ending = serializers.SerializerMethodField(
        help_text="When superseded, overtaken or terminated: how, when and why."
    )

    class Meta:
        model = Obligation
        fields = [
            "id", "slug", "agreement", "timezone", "clause", "clause_text", "title",
            "description", "language", "titles", "descriptions", "text_dispute", "kind",
            "category", "responsible", "monitors", "locations", "due_date", "due_at",
            "original_due_date", "deadline_changes", "starts_at", "ends_at", "term_years",
            "renews_years", "notice_months", "status", "status_label", "status_since",
            "days_remaining",
            "days_overdue", "term_ends_at", "notice_deadline", "status_report", "unconfirmed",
            "as_of", "assessed_at", "standings", "dispute", "ending", "replaced_by",
            "replaces", "sources", "url", "history_url", "page_url",
        ]

    def _claims(self, obj: Obligation) -> Claims:
        found = getattr(obj, "claims", None)
        if found is None:
            found = claims_for([obj], {obj.pk: obj.state}, self.context["as_of"])[obj.pk]
        return found

    @extend_schema_field(StandingSerializer(many=True))
    def get_standings(self, obj: Obligation) -> list[dict]:
        return self._claims(obj).standings

    @extend_schema_field(DisputeSerializer(allow_null=True))
    def get_dispute(self, obj: Obligation) -> dict | None:
        return self._dispute(self._claims(obj).dispute)

    @extend_schema_field(EndingSerializer(allow_null=True))
    def get_ending(self, obj: Obligation) -> dict | None:
        return self._ending(self._claims(obj).ending)

    def _address(self, name: str, pk: int | None) -> str | None:
        # As `_base_url`: a list's address reversed once, the id appended per row.
        if pk is None:
            return None
        if not hasattr(self, "_bases"):
            self._bases: dict[str, str] = {}
        if name not in self._bases:
            path = django_reverse(f"api:{name}-list")
            request = self.context.get("request")
            self._bases[name] = request.build_absolute_uri(path) if request else path
        return f"{self._bases[name]}{pk}/"

    def _dispute(self, dispute: dict | None) -> dict | None:
        if dispute is None:
            return None
        accounts = [{**a, "url": self._address("report", a["id"])} for a in dispute["accounts"]]
        return {**dispute, "accounts": accounts}

    def _ending(self, ending: dict | None) -> dict | None:
        if ending is None:
            return None
        new = ending["replacement"]
        return {
            **{k: v for k, v in ending.items() if k not in ("replacement",)},
            "report_url": self._address("report", ending["report"]),
            "relation_url": self._address("relation", ending["relation"]),
            "replacement": None if new is None else {
                **new, "url": self._address("obligation", new["id"]),
                "page_url": self._page_url(new["agreement"], new["slug"])},
        }

    @extend_schema_field(serializers.DateTimeField(allow_null=True))
    def get_as_of(self, obj: Obligation) -> str | None:
        return _instant(obj.state.at) if self.context["as_of"].explicit else None

    @extend_schema_field(TermLinkSerializer(many=True))
    def get_replaced_by(self, obj: Obligation) -> list[dict]:
        return self._linked(replacements([obj.pk])[obj.pk][0])

    @extend_schema_field(TermLinkSerializer(many=True))
    def get_replaces(self, obj: Obligation) -> list[dict]:
        return self._linked(replacements([obj.pk])[obj.pk][1])

    def _linked(self, links: list[dict]) -> list[dict]:
        """`tracker.api.relations.term_link` dicts with the term's two addresses."""
        base = self._base_url()
        return [{**link, "url": f"{base}{link['id']}/",
                 "page_url": self._page_url(link["agreement"], link["slug"])} for link in links]

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
            "titles": obj.titles,
            "descriptions": obj.descriptions,
            "text_dispute": obj.text_dispute,
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
            "standings": obj.claims.standings,
            "dispute": self._dispute(obj.claims.dispute),
            "ending": self._ending(obj.claims.ending),
            "replaced_by": self._linked(rel.replaced_by),
            "replaces": self._linked(rel.replaces),
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
    actors = serializers.SlugRelatedField(slug_field="slug", many=True, read_only=True)
    claimant = ClaimantRefSerializer(read_only=True, allow_null=True)
    contests = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = Report
        fields = ["id", "claim", "summary", "actors", "claimant", "contests", "url"]


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
    claim_label = serializers.SerializerMethodField(
        help_text="The claim in the request's language; `claim` is the identifier."
    )
    actors = serializers.SlugRelatedField(
        slug_field="slug", many=True, read_only=True,
        help_text="The parties whose act it reports; empty: the term's responsible parties.",
    )
    claimant = ClaimantRefSerializer(
        read_only=True, allow_null=True,
        help_text="Who says so (null: not said). Kind `tracker`: an editorial finding.",
    )
    finding = serializers.SerializerMethodField(
        help_text="An editorial finding (claimant kind `tracker`): it settles a dispute."
    )
    contests = serializers.PrimaryKeyRelatedField(
        read_only=True, allow_null=True,
        help_text="Id of the report on the same term that this one contests.",
    )
    contested_by = serializers.SerializerMethodField(
        help_text="Ids of the reports that contest this one (those the reader may see)."
    )

    class Meta:
        model = Report
        fields = [
            "id", "obligation", "obligation_url", "agreement", "claim", "claim_label",
            "occurred_at", "occurred_date_only", "summary", "actors", "claimant", "finding",
            "contests", "contested_by", "sources", "unconfirmed", "note", "review_state",
            "published_at", "written_by", "reviewed_by", "rejection_reason", "supersedes",
            "retracts", "correction_reason", "superseded_at", "version", "url", "page_url",
        ]

    def get_claim_label(self, obj: Report) -> str:
        return str(dict(V.CLAIMS).get(obj.claim, obj.claim))

    def get_finding(self, obj: Report) -> bool:
        return obj.claimant_id is not None and obj.claimant.kind == V.CLAIMANT_TRACKER

    @extend_schema_field(serializers.ListField(child=serializers.IntegerField()))
    def get_contested_by(self, obj: Report) -> list[int]:
        # The viewset prefetches the visible ones into `visible_contested_by`.
        found = getattr(obj, "visible_contested_by", None)
        if found is None:
            found = obj.contested_by.filter(review_state=V.PUBLISHED)
        return sorted(r.pk for r in found)

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
    actors = serializers.ListField(
        child=serializers.SlugField(), required=False, default=list,
        help_text="Slugs of the parties whose act it reports, each a party of the "
        "obligation's agreement; none: the term's responsible parties.",
    )
    claimant = serializers.SlugField(
        required=False, allow_null=True, default=None,
        help_text="Slug of who says so (/api/v1/claimants/); `tracker` makes the report an "
        "editorial finding, which must cite sources.",
    )
    contests = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1,
        help_text="Id of the report on the same obligation this one contests (required for "
        "a `denial`).",
    )


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


# ---------------------------------------------------------------- scores


class TermScoreSerializer(serializers.Serializer):
    """One party's points on one term (docs/method.md), with links to the term and the
    report behind its standing."""

    obligation = serializers.IntegerField(source="obligation_id")
    agreement = serializers.CharField(source="agreement_slug")
    slug = serializers.CharField(source="obligation_slug")
    status = serializers.ChoiceField(choices=STATUS_CHOICES)
    status_label = serializers.SerializerMethodField()
    points = serializers.IntegerField(allow_null=True, help_text="0-3; null: not scored.")
    responsible = serializers.BooleanField(
        help_text="The term binds the party; false: a breach by a party it does not bind.")
    reason = serializers.CharField(help_text="Why it is scored so, or not scored.")
    reason_label = serializers.SerializerMethodField()
    report = serializers.IntegerField(source="report_id", allow_null=True)
    url = serializers.SerializerMethodField()
    page_url = serializers.SerializerMethodField()
    report_url = serializers.SerializerMethodField()

    def get_status_label(self, obj) -> str:
        return status_label(obj.status)

    def get_reason_label(self, obj) -> str:
        from tracker.scores import REASON_LABELS

        return str(REASON_LABELS.get(obj.reason, obj.reason))

    @extend_schema_field(OpenApiTypes.URI)
    def get_url(self, obj) -> str:
        return _reverse("api:obligation-detail", args=[obj.obligation_id],
                        request=self.context.get("request"))

    @extend_schema_field(OpenApiTypes.URI)
    def get_page_url(self, obj) -> str:
        return page_link(self.context.get("request"), "web:obligation", obj.agreement_slug,
                         obj.obligation_slug)

    @extend_schema_field(serializers.URLField(allow_null=True))
    def get_report_url(self, obj) -> str | None:
        if obj.report_id is None:
            return None
        return _reverse("api:report-detail", args=[obj.report_id],
                        request=self.context.get("request"))


class PartyScoreSerializer(serializers.Serializer):
    party = serializers.CharField()
    name = serializers.CharField()
    score = serializers.FloatField(
        allow_null=True, help_text="Mean of the scored terms' points (0-3); null: none scored.")
    scored = serializers.SerializerMethodField(help_text="How many terms are scored.")
    terms = TermScoreSerializer(many=True)

    def get_scored(self, obj) -> int:
        return sum(1 for t in obj.terms if t.points is not None)


class ScoresSerializer(serializers.Serializer):
    as_of = serializers.CharField(allow_null=True)
    agreement = serializers.CharField(allow_null=True)
    method = serializers.CharField(
        help_text="Where the method is published: the file in the project's repository.")
    results = PartyScoreSerializer(many=True)
