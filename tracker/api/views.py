"""Public REST API v1. Thin: parse, call statuses/editorial, serialize.

Every read: `as_of` parsed once (400 on garbage), ETag checked before any data is
read (304), Cache-Control suited to the caller, JSON errors. Every list: stable
ordering (id breaks ties), capped page size, `?format=csv` streamed with the same
filters.
"""

from __future__ import annotations

from itertools import batched
from zoneinfo import ZoneInfo

from django.db import transaction
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.crypto import get_random_string
from django.utils.text import slugify
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
)
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import (
    MethodNotAllowed,
    NotAuthenticated,
    PermissionDenied,
    Throttled,
    ValidationError,
)
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.reverse import reverse

from deadlines.facts import fact_changes, with_facts
from tracker import (
    editorial,
    feeds,
    instants,
    knowledge,
    known_texts,
    query_names,
    scores,
    statuses,
    texts,
)
from tracker import vocabulary as V
from tracker.api import exports, filters, params, serializers
from tracker.api.claims import claims_for
from tracker.api.conditional import etag_for, matches
from tracker.api.exceptions import NotModified
from tracker.api.fastpath import FastObligationReads, FastReads
from tracker.api.pagination import Pagination
from tracker.api.params import AS_OF_HELP, KNOWN_AT_HELP
from tracker.api.relations import relations_for
from tracker.api.renderers import CSVRenderer, ICalendarRenderer, csv_lines
from tracker.api.throttles import AnonThrottle, ExportThrottle, UserThrottle
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

AS_OF = OpenApiParameter("as_of", OpenApiTypes.STR, description=AS_OF_HELP)
KNOWN_AT = OpenApiParameter("known_at", OpenApiTypes.STR, description=KNOWN_AT_HELP)
FORMAT = OpenApiParameter(
    "format", OpenApiTypes.STR, enum=["json", "csv"],
    description="`csv`: the whole filtered list as CSV, streamed, unpaginated.",
)
CSV_BATCH = 1000
# Where the scoring method is published (in the repository; no page serves it).
METHOD = "docs/method.md"


class ReadMixin:
    """What every endpoint here shares (see module docstring)."""

    pagination_class = Pagination
    throttle_classes = [AnonThrottle, UserThrottle]
    filter_backends = [filters.FilterBackend]
    supports_as_of = False
    # The point in time this request answers for, parsed in `initial` (None before).
    as_of: AsOf | None = None
    csv_columns: list[str] = []

    # The format a request with no Accept preference and no ?format= gets.
    default_format = "json"

    def get_throttles(self):
        throttles = super().get_throttles()
        renderer = getattr(self.request, "accepted_renderer", None)
        if getattr(self, "action", None) == "list" and getattr(renderer, "format", "") == "csv":
            throttles.append(ExportThrottle())  # an export not already prepared (exports.py)
        return throttles

    def get_renderers(self):
        # No action: a method the view lacks; negotiate anyway so the answer is a 405.
        if self.csv_columns and getattr(self, "action", None) in ("list", None):
            return [JSONRenderer(), CSVRenderer()]
        return [JSONRenderer()]

    def accepted_parameters(self) -> set[str]:
        """The query parameters this request may carry: the FilterSet's names (aliases
        are filters there too) and pagination on a list, `as_of` and `format` everywhere."""
        names = {"as_of", "known_at", "format"}
        if getattr(self, "action", None) == "changes":
            names |= {"since", "until"}
        if getattr(self, "action", None) == "list":
            if self.filterset_class is not None:
                names |= set(self.filterset_class.base_filters)
            if self.pagination_class is not None:
                names |= {"page", "page_size"}
        return names

    def _check_parameters(self, request) -> None:
        """A 400 naming every parameter this endpoint would ignore, or a `format` it
        cannot answer in, with what it accepts."""
        try:
            query_names.check(request.query_params, self.accepted_parameters())
        except query_names.UnknownParameters as exc:
            raise ValidationError({n: [exc.describe(n)] for n in exc.unknown}) from exc
        wanted = request.query_params.get("format")
        offered = [r.format for r in self.get_renderers()]
        if wanted is not None and wanted not in offered:
            raise ValidationError({"format": [
                _("Unknown format %(wanted)r; this endpoint answers in %(offered)s.")
                % {"wanted": wanted, "offered": ", ".join(offered)}
            ]})

    def initial(self, request, *args, **kwargs):
        if getattr(self, request.method.lower(), None) is None:
            # A method the view lacks is a 405 for everyone, before authentication (not a
            # 401 that suggests a token would help) and before any parameter is read.
            raise MethodNotAllowed(request.method)
        if request.method in ("GET", "HEAD"):
            self._check_parameters(request)
        super().initial(request, *args, **kwargs)
        raw = request.query_params.get("as_of")
        known = request.query_params.get("known_at")
        if not self.supports_as_of:
            for name, value in (("as_of", raw), ("known_at", known)):
                if value is not None:
                    raise ValidationError(
                        {name: [_("This endpoint does not travel in time.")]}
                    )
        self.as_of = params.as_of(raw, known)
        self.etag = None
        if request.method in ("GET", "HEAD"):
            self.etag = etag_for(request)
            if matches(request.headers.get("If-None-Match"), self.etag):
                raise NotModified()

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if isinstance(response, Response) and response.status_code >= 300:
            # Errors (and 304s) are JSON whatever format was asked for. Set after DRF's
            # finalize, which copies the negotiated renderer; rendering happens later.
            response.accepted_renderer = JSONRenderer()
            response.accepted_media_type = "application/json"
        etag = getattr(self, "etag", None)
        if etag and response.status_code in (200, 304):
            response["ETag"] = etag
            if request.user.is_authenticated:
                response["Cache-Control"] = "private, no-cache"
            else:
                response["Cache-Control"] = "public, max-age=60"
        elif "Cache-Control" not in response:
            response["Cache-Control"] = "no-store"
        label = self.as_of.label if self.as_of else None
        if label and response.status_code == 200 and "X-As-Of" not in response:
            response["X-As-Of"] = label
        if self.as_of is not None and response.status_code == 200:
            self._cite(request, response)
        patch_vary_headers(response, ["Authorization"])
        return response

    def learning_scope(self) -> QuerySet[Obligation] | None:
        """The obligations whose facts this answer shows (None: any), for telling whether
        the tracker has learned more since `known_at`."""
        return None

    def _cite(self, request, response) -> None:
        """A permalink pinning `as_of` and `known_at` (`Link: rel="canonical"`), and, for
        an answer pinned to an earlier `known_at` about which the tracker has published
        more since, today's view (`rel="latest-version"`) and `X-Learned-Since`."""
        asof = self.as_of
        as_of_text, known_text = asof.pinned()
        links = [f'<{_with_query(request, as_of=as_of_text, known_at=known_text)}>; '
                 'rel="canonical"']
        learned = (
            knowledge.learned_since(asof.known, self.learning_scope()) if asof.known else None
        )
        if learned is not None:
            links.append(f'<{_with_query(request, known_at=None)}>; rel="latest-version"')
            response["X-Learned-Since"] = learned.isoformat().replace("+00:00", "Z")
        response["Link"] = ", ".join(links)

    def not_yet_signed(self, agreement: Agreement) -> Response | None:
        """The answer at an `as_of` before `agreement` was signed: nothing from it held
        yet, and the body says so (None when it had been signed)."""
        if statuses.signed_by(agreement, self.as_of):
            return None
        when = self.as_of.label or ""
        return Response({
            "not_yet_signed": True,
            "as_of": when,
            "signed_at": agreement.signed_at,
            "detail": _("%(agreement)s was not yet signed at %(as_of)s: none of its terms "
                        "was in force or pending then.")
            % {"agreement": agreement.slug, "as_of": when},
        })

    def not_yet_published(self, unpublished: bool, name: str) -> Response | None:
        """The answer about an object (`name`: its slug or id) the tracker had not yet
        published at `known_at`: it said nothing of it then, and the body says so (None
        when it had published it)."""
        if not unpublished:
            return None
        when = self.as_of.known_label or ""
        return Response({
            "not_yet_published": True,
            "known_at": when,
            "detail": _("The tracker had not yet published %(name)s at %(known_at)s: it "
                        "said nothing of it then.") % {"name": name, "known_at": when},
        })

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        if getattr(self, "action", None) != "list":
            # Filters narrow lists; an object at its own address is found by its key
            # (and the queryset's visibility rules) alone. Building a FilterSet for it
            # cost more than reading the object.
            return queryset
        queryset = super().filter_queryset(queryset)
        ordering = list(queryset.query.order_by) or list(queryset.model._meta.ordering)
        if not {"id", "-id", "pk", "-pk"} & set(ordering):
            ordering.append("pk")  # stable pages: ties broken by id
        return queryset.order_by(*ordering)

    def prepare(self, rows: list) -> list:
        """Attach what serialization needs beyond the queryset (states, counts)."""
        return rows

    def get_serializer_context(self) -> dict:
        return {**super().get_serializer_context(), "as_of": self.as_of}

    def get_paginated_response(self, data) -> Response:
        return self.paginator.get_paginated_response(data, self.as_of)

    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        if request.accepted_renderer.format == "csv":
            return self.stream_csv(queryset)
        page = self.paginate_queryset(queryset)
        rows = self.prepare(list(page))
        return self.get_paginated_response(self.get_serializer(rows, many=True).data)

    def retrieve(self, request, *args, **kwargs):
        [obj] = self.prepare([self.get_object()])
        return Response(self.get_serializer(obj).data)

    def stream_csv(self, queryset: QuerySet) -> StreamingHttpResponse:
        slot = exports.take_slot()
        if slot is None:
            raise Throttled(
                wait=exports.RETRY_AFTER_SECONDS,
                detail="Other exports are being prepared right now; retry shortly.",
            )
        try:
            response = self._csv_response(queryset, slot)
        except BaseException:
            slot.close()
            raise
        return response

    def _csv_response(self, queryset: QuerySet, slot: exports.Slot) -> StreamingHttpResponse:
        ids = list(queryset.values_list("pk", flat=True))
        base = self.get_queryset()

        def rows():
            for chunk in batched(ids, CSV_BATCH):
                found = {o.pk: o for o in base.filter(pk__in=chunk).order_by()}
                ordered = self.prepare([found[i] for i in chunk if i in found])
                yield from self.get_serializer(ordered, many=True).data

        response = StreamingHttpResponse(content_type="text/csv; charset=utf-8")
        response.streaming_content = slot.wrap(csv_lines(self.csv_columns, rows()))
        response["Content-Disposition"] = f'attachment; filename="{self.basename}.csv"'
        return response


def _with_query(request, **changes: str | None) -> str:
    """This request's absolute URL with its query changed (None drops a key)."""
    query = request.query_params.copy()
    for key, value in changes.items():
        query.pop(key, None)
        if value is not None:
            query[key] = value
    encoded = query.urlencode(safe=":")
    return request.build_absolute_uri(request.path + (f"?{encoded}" if encoded else ""))


def _bounds(request) -> tuple:
    """`since` and `until` of a change log (`until` absent: now); 400 naming either."""
    try:
        since = instants.known(request.query_params.get("since"), "since")
        until = instants.known(request.query_params.get("until"), "until")
    except InstantError as exc:
        raise ValidationError({exc.parameter: [str(exc)]}) from exc
    return since, until or timezone.now()


def _changes_response(request, obligations: QuerySet[Obligation]) -> Response:
    since, until = _bounds(request)
    rows = knowledge.changes(obligations, since, until)
    body = {
        "since": since.isoformat() if since else None,
        "until": until.isoformat(),
        "changes": [
            {
                "at": c.at,
                "kind": c.kind,
                "label": c.label,
                "obligation": c.obligation.pk if c.obligation else None,
                "obligation_url": (
                    request.build_absolute_uri(
                        reverse("api:obligation-detail", args=[c.obligation.pk])
                    ) if c.obligation else None
                ),
                "old": _plain(c.old),
                "new": _plain(c.new),
                "reason": c.reason,
                "reviewed_by": c.reviewed_by,
                "report": c.report_id,
            }
            for c in rows
        ],
    }
    return Response(serializers.ChangesSerializer(body).data)


def _plain(value: dict | None) -> dict | None:
    return None if value is None else {k: knowledge.plain(v) for k, v in value.items()}


SINCE = OpenApiParameter(
    "since", OpenApiTypes.STR,
    description="Changes published after this instant (a date: the end of that day, UTC).",
)
UNTIL = OpenApiParameter(
    "until", OpenApiTypes.STR,
    description="Changes published up to this instant (default now; a date: end of day, UTC).",
)


def _as_of_views(*actions: str):
    return extend_schema_view(
        **{a: extend_schema(parameters=[AS_OF, KNOWN_AT]) for a in actions}
    )


@_as_of_views("list", "retrieve")
@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class AgreementViewSet(FastReads, ReadMixin, viewsets.ReadOnlyModelViewSet):
    """Agreements with counts of their obligations by status and by responsible party."""

    queryset = Agreement.objects.prefetch_related(
        "parties",
        *(Prefetch(name, queryset=AgreementRelation.objects.select_related(
            "agreement", "target_agreement", "target__agreement", "replacement__agreement"
        ).prefetch_related("sources")) for name in ("relations", "followed_by")),
    )
    serializer_class = serializers.AgreementSerializer
    filterset_class = filters.AgreementFilter
    lookup_field = "slug"
    supports_as_of = True
    csv_columns = ["slug", "title", "signed_at", "effective_at", "timezone", "parties",
                   "builds_on", "followed_by", "status_counts", "url", "page_url"]

    def filter_queryset(self, queryset: QuerySet) -> QuerySet:
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            queryset = queryset.filter(
                statuses.signed_q(self.as_of),
                known_texts.published(Agreement, self.as_of.known),
            )
        return queryset

    def learning_scope(self) -> QuerySet[Obligation] | None:
        if self.action in ("retrieve", "changes"):
            return Obligation.objects.filter(agreement__slug=self.kwargs.get("slug"))
        return None

    def retrieve(self, request, *args, **kwargs):
        agreement = self.get_object()
        unpublished = self.not_yet_published(
            bool(known_texts.overlay([agreement], self.as_of.known)), agreement.slug
        )
        if unpublished is not None:
            return unpublished
        if self.as_of.written is not None:
            unsigned = self.not_yet_signed(agreement)
            if unsigned is not None:
                return unsigned
        [agreement] = self.prepare([agreement])
        return Response(self.get_serializer(agreement).data)

    @extend_schema(parameters=[SINCE, UNTIL], responses=serializers.ChangesSerializer,
                   filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def changes(self, request, slug=None):
        """Every change to this agreement's published facts between two `known_at`
        instants (`since`, `until`): old and new value, reason, reviewer, when."""
        return _changes_response(request, Obligation.objects.filter(agreement=self.get_object()))

    def prepare(self, rows: list) -> list:
        # Their words and dates as published by `known_at` (the list left out the rest).
        known_texts.overlay(rows, self.as_of.known)
        self._counts = statuses.status_counts_many(rows, self.as_of)
        self._parties = statuses.party_compliance_many(rows, self.as_of)
        return rows

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        context["status_counts"] = getattr(self, "_counts", {})
        context["party_counts"] = getattr(self, "_parties", {})
        return context


@_as_of_views("list", "retrieve")
@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class ObligationViewSet(FastObligationReads, ReadMixin, viewsets.ReadOnlyModelViewSet):
    """Obligations with their status now, or as it stood at `as_of`."""

    serializer_class = serializers.ObligationSerializer
    filterset_class = filters.ObligationFilter
    supports_as_of = True
    csv_columns = [
        "id", "slug", "agreement", "clause", "title", "kind", "category", "responsible",
        "locations", "due_date", "due_at", "original_due_date", "deadline_changes", "status",
        "status_since", "days_remaining", "days_overdue", "term_ends_at", "notice_deadline",
        "unconfirmed", "as_of", "text_dispute", "replaced_by", "replaces", "sources", "url",
        "page_url",
    ]

    def get_queryset(self) -> QuerySet[Obligation]:
        # Related objects are read by `prepare` (tracker.api.relations), not prefetched.
        queryset = Obligation.objects.select_related("agreement", "clause")
        if self.as_of is not None and self.as_of.explicit:
            queryset = with_facts(queryset, self.as_of.known)
        return queryset

    def filter_queryset(self, queryset):
        if self.as_of.explicit:
            ordering = self.request.query_params.get("ordering", "")
            if "status" in ordering:
                raise ValidationError(
                    {"ordering": [_("Ordering by status is only available without as_of.")]}
                )
        queryset = super().filter_queryset(queryset)
        if self.action == "list":
            queryset = queryset.filter(
                statuses.signed_q(self.as_of, "agreement__"),
                known_texts.terms_published(self.as_of.known),
            )
        return queryset

    def learning_scope(self) -> QuerySet[Obligation] | None:
        if self.action in ("retrieve", "history", "changes"):
            return Obligation.objects.filter(pk=self.get_object().pk)
        return None

    @extend_schema(parameters=[SINCE, UNTIL], responses=serializers.ChangesSerializer,
                   filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def changes(self, request, pk=None):
        """Every change to this term's published facts between two `known_at` instants
        (`since`, `until`): old and new value, reason, reviewer, when."""
        return _changes_response(request, Obligation.objects.filter(pk=self.get_object().pk))

    def prepare(self, rows: list) -> list:
        # (states_for also sets the rows to what they were at `known_at`.)
        states = statuses.states_for(rows, self.as_of)
        # Parties and places as named at the instant answered for (today's without as_of).
        names_at = ({o.pk: states[o.pk].at for o in rows}
                    if self.as_of.written is not None else None)
        related = relations_for([o.pk for o in rows], names_at)
        clause_texts = texts.clause_texts([o.clause_id for o in rows], known_at=self.as_of.known)
        if self.as_of.explicit:
            # Only the deadline changes agreed by the instant answered for, as published
            # by `known_at`: a move agreed later is not shown before it was agreed.
            held = {
                pk for pk, oid, agreed in fact_changes(self.as_of.known)
                .filter(obligation_id__in=[o.pk for o in rows])
                .values_list("pk", "obligation_id", "agreed_at")
                if agreed <= states[oid].at
            }
            for rel in related.values():
                rel.deadline_changes = [c for c in rel.deadline_changes if c["id"] in held]
        claims = claims_for(rows, states, self.as_of)
        for o in rows:
            o.state = states[o.pk]
            o.relations = related[o.pk]
            o.clause_shown = clause_texts.get(o.clause_id)
            o.claims = claims[o.pk]
        return rows

    def retrieve(self, request, *args, **kwargs):
        # One read of the object (its facts prefetched) for both the signing check and
        # the answer.
        obligation = self.get_object()
        unpublished = self.not_yet_published(
            bool(known_texts.terms_as_known([obligation], self.as_of.known)), str(obligation.pk)
        )
        if unpublished is not None:
            return unpublished
        if self.as_of.written is not None:
            unsigned = self.not_yet_signed(obligation.agreement)
            if unsigned is not None:
                return unsigned
        [obligation] = self.prepare([obligation])
        response = Response(self.get_serializer(obligation).data)
        if response.data.get("as_of"):
            response["X-As-Of"] = response.data["as_of"]
        return response

    @extend_schema(parameters=[AS_OF, KNOWN_AT], responses=serializers.HistorySerializer,
                   filters=False)
    @action(detail=True, methods=["get"], filterset_class=None, pagination_class=None)
    def history(self, request, pk=None):
        """Every change of status from entry into force to `as_of` (default: now), with the
        report that decided it."""
        obligation = self.get_object()
        unpublished = self.not_yet_published(
            bool(known_texts.terms_as_known([obligation], self.as_of.known)), str(obligation.pk)
        )
        if unpublished is not None:
            return unpublished
        unsigned = self.not_yet_signed(obligation.agreement)
        if unsigned is not None:
            return unsigned
        transitions = statuses.timeline(obligation, self.as_of)
        report_ids = {t.report.id for t in transitions if t.report and t.report.id}
        reports = Report.objects.select_related("claimant").prefetch_related(
            "actors").in_bulk(report_ids)
        body = {
            "obligation": obligation.pk,
            "url": reverse("api:obligation-detail", args=[obligation.pk], request=request),
            "as_of": self.as_of.at(obligation.agreement.zone),
            "transitions": [
                {
                    "at": t.at,
                    "from_status": t.from_status,
                    "to_status": t.to_status,
                    "report": reports.get(t.report.id) if t.report else None,
                }
                for t in transitions
            ],
        }
        data = serializers.HistorySerializer(body, context={"request": request}).data
        response = Response(data)
        if self.as_of.explicit:
            response["X-As-Of"] = data["as_of"]
        return response


@_as_of_views("list")
@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class EventViewSet(FastReads, ReadMixin, viewsets.ReadOnlyModelViewSet):
    """Status transitions, newest first (the history and the feeds' source)."""

    queryset = StatusEvent.current.select_related("obligation__agreement").order_by(
        "-effective_at", "-id"
    )
    serializer_class = serializers.EventSerializer
    filterset_class = filters.EventFilter
    supports_as_of = True
    csv_columns = ["id", "obligation", "obligation_title", "agreement", "from_status",
                   "to_status", "effective_at", "detected_at", "cause", "report",
                   "obligation_url", "page_url"]

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.action != "list" and self.as_of.explicit:
            raise ValidationError({"as_of": [_("Only the list of events travels in time.")]})

    def get_queryset(self) -> QuerySet[StatusEvent]:
        # As published by `known_at` (now: the current history).
        known = statuses.events_known(self.as_of) if self.as_of else StatusEvent.current.all()
        return known.select_related("obligation__agreement").order_by("-effective_at", "-id")

    def filter_queryset(self, queryset):
        queryset = super().filter_queryset(queryset)
        return statuses.events_until(queryset, self.as_of)

    def prepare(self, rows: list) -> list:
        # Each term's title as the tracker had published it by `known_at`.
        known_texts.terms_as_known([e.obligation for e in rows], self.as_of.known)
        return rows


@extend_schema_view(
    list=extend_schema(parameters=[FORMAT]),
    create=extend_schema(
        request=serializers.ReportCreateSerializer,
        responses={
            201: serializers.ReportSerializer,
            400: serializers.ErrorSerializer,
            401: serializers.ErrorSerializer,
            403: serializers.ErrorSerializer,
        },
    ),
)
class ReportViewSet(
    FastReads, ReadMixin, mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Reports: published ones for everyone, drafts too for editors and reviewers.
    Editors POST drafts; reviewers publish or reject other people's drafts."""

    serializer_class = serializers.ReportSerializer
    filterset_class = filters.ReportFilter
    csv_columns = ["id", "obligation", "agreement", "claim", "occurred_at", "summary",
                   "actors", "claimant", "finding", "contests", "contested_by",
                   "sources", "unconfirmed", "review_state", "published_at", "written_by",
                   "reviewed_by", "superseded_at", "url", "page_url"]

    def _sees_drafts(self) -> bool:
        user = self.request.user
        return editorial.is_editor(user) or editorial.is_reviewer(user)

    def get_queryset(self) -> QuerySet[Report]:
        return self._reports(self._sees_drafts() or self.action in ("publish", "reject"))

    def _reports(self, drafts: bool) -> QuerySet[Report]:
        """Reports with what their representation reads, in a fixed number of queries per
        page; `drafts`: the reader may see drafts (editors; publish/reject, whose role
        check is editorial's and says 403, not 404)."""
        contesting = Report.objects.only("id", "contests_id")
        if not drafts:
            contesting = contesting.filter(review_state=V.PUBLISHED)
        queryset = Report.objects.select_related(
            "obligation__agreement", "author", "reviewer", "claimant"
        ).prefetch_related(
            "sources", "actors",
            Prefetch("contested_by", queryset=contesting, to_attr="visible_contested_by"),
        ).order_by("-occurred_at", "-id")
        if not drafts:
            queryset = queryset.filter(review_state=V.PUBLISHED)
        return queryset

    def get_serializer_class(self):
        if self.action == "create":
            return serializers.ReportCreateSerializer
        if self.action == "publish":
            return serializers.PublishSerializer
        if self.action == "reject":
            return serializers.RejectSerializer
        return serializers.ReportSerializer

    def _require_user(self):
        if not self.request.user.is_authenticated:
            raise NotAuthenticated()

    def create(self, request, *args, **kwargs):
        self._require_user()
        if not editorial.is_editor(request.user):
            raise PermissionDenied("Only editors can draft reports.")
        incoming = serializers.ReportCreateSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = dict(incoming.validated_data)
        obligation = data.pop("obligation")
        with transaction.atomic():
            sources = [
                s if isinstance(s, int) else _new_source(obligation, s) for s in data.pop("sources")
            ]
            report = editorial.create_report(
                author=request.user, obligation=obligation, sources=sources, **data
            )
        report = self.get_queryset().get(pk=report.pk)
        body = serializers.ReportSerializer(report, context=self.get_serializer_context()).data
        # `url` is DRF's Hyperlink, a str subclass that a WSGI server refuses as a header.
        location = str(body["url"])
        return Response(body, status=status.HTTP_201_CREATED, headers={"Location": location})

    @extend_schema(
        request=serializers.PublishSerializer,
        responses={200: serializers.ReportSerializer, 400: serializers.ErrorSerializer,
                   401: serializers.ErrorSerializer, 403: serializers.ErrorSerializer,
                   404: serializers.ErrorSerializer, 409: serializers.ErrorSerializer},
        filters=False,
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def publish(self, request, pk=None):
        """Publish a draft (reviewers only, never their own); the obligation is re-assessed."""
        self._require_user()
        body = serializers.PublishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = editorial.publish(
            self.get_object(), reviewer=request.user, version=body.validated_data["version"]
        )
        return self._report_response(report)

    @extend_schema(
        request=serializers.RejectSerializer,
        responses={200: serializers.ReportSerializer, 400: serializers.ErrorSerializer,
                   401: serializers.ErrorSerializer, 403: serializers.ErrorSerializer,
                   404: serializers.ErrorSerializer, 409: serializers.ErrorSerializer},
        filters=False,
    )
    @action(detail=True, methods=["post"], filterset_class=None)
    def reject(self, request, pk=None):
        """Reject a draft with a reason (reviewers only, never their own)."""
        self._require_user()
        body = serializers.RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        report = editorial.reject(
            self.get_object(), reviewer=request.user, reason=body.validated_data["reason"],
            version=body.validated_data["version"],
        )
        return self._report_response(report)

    def _report_response(self, report: Report) -> Response:
        report = self._reports(True).get(pk=report.pk)
        context = self.get_serializer_context()
        return Response(serializers.ReportSerializer(report, context=context).data)


def _new_source(obligation: Obligation, fields: dict) -> Source:
    """A source given inline in a report, kept with the obligation's agreement."""
    stem = slugify(fields.get("publisher") or "source")[:60] or "source"
    key = f"{stem}-{get_random_string(8).lower()}"
    return Source.objects.create(agreement=obligation.agreement, key=key, **fields)


class NamedAtMixin:
    """Parties and places, named as at `as_of`. They belong to no one agreement: a date
    is read in the zone of the agreement `?agreement=` names, else in UTC."""

    def get_serializer_context(self) -> dict:
        context = super().get_serializer_context()
        slug = self.request.query_params.get("agreement")
        zone = (Agreement.objects.filter(slug=slug).values_list("timezone", flat=True).first()
                if slug and self.as_of.written is not None else None)
        context["names_zone"] = ZoneInfo(zone) if zone else serializers.UTC_ZONE
        return context


@_as_of_views("list", "retrieve")
@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class LocationViewSet(FastReads, NamedAtMixin, ReadMixin, viewsets.ReadOnlyModelViewSet):
    """Places with every name form and alias, named as at `as_of` (default: today's
    names), with their former names."""

    queryset = Location.objects.all()
    serializer_class = serializers.LocationSerializer
    filterset_class = filters.LocationFilter
    lookup_field = "slug"
    supports_as_of = True
    csv_columns = ["slug", "kind", "name", "alt_name", "aliases", "latitude", "longitude",
                   "url", "page_url"]


@_as_of_views("list", "retrieve")
@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class PartyViewSet(FastReads, NamedAtMixin, ReadMixin, viewsets.ReadOnlyModelViewSet):
    """Signatories, guarantors and monitors, named as at `as_of` (default: today's
    names), with their former names."""

    queryset = Party.objects.all()
    serializer_class = serializers.PartySerializer
    filterset_class = filters.PartyFilter
    lookup_field = "slug"
    supports_as_of = True
    csv_columns = ["slug", "name", "kind", "url"]


@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class ClaimantViewSet(FastReads, ReadMixin, viewsets.ReadOnlyModelViewSet):
    """Who asserts reports: governments and ministries, monitors, the press, and the
    tracker's own editorial findings (kind `tracker`)."""

    queryset = Claimant.objects.select_related("party")
    serializer_class = serializers.ClaimantSerializer
    filterset_class = filters.ClaimantFilter
    lookup_field = "slug"
    csv_columns = ["slug", "name", "kind", "party", "url"]


@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class RelationViewSet(FastReads, ReadMixin, viewsets.ReadOnlyModelViewSet):
    """What later agreements do to earlier ones or to terms of them (implements, amends,
    supersedes, terminates), from an instant, with sources: the chain of agreements."""

    queryset = AgreementRelation.objects.select_related(
        "agreement", "target_agreement", "target__agreement", "replacement__agreement"
    ).prefetch_related("sources")
    serializer_class = serializers.RelationSerializer
    filterset_class = filters.RelationFilter
    csv_columns = ["id", "agreement", "kind", "ends", "target_agreement", "target",
                   "replacement", "at", "published_at", "unconfirmed", "note", "sources", "url"]


@extend_schema_view(list=extend_schema(parameters=[FORMAT]))
class SourceViewSet(FastReads, ReadMixin, viewsets.ReadOnlyModelViewSet):
    """Where each fact comes from."""

    queryset = Source.objects.select_related("agreement")
    serializer_class = serializers.SourceSerializer
    filterset_class = filters.SourceFilter
    csv_columns = ["id", "agreement", "key", "url", "publisher", "title", "published_at",
                   "language"]


class CalendarViewSet(FastReads, ReadMixin, viewsets.GenericViewSet):
    """Deadlines as an iCalendar feed (RFC 5545): one all-day event per deadline, per
    notice deadline and per term end."""

    serializer_class = serializers.ObligationSerializer
    filterset_class = filters.ObligationFilter
    pagination_class = None
    supports_as_of = True

    default_format = "ics"

    def get_throttles(self):
        throttles = super().get_throttles()
        renderer = getattr(self.request, "accepted_renderer", None)
        if getattr(self, "action", None) == "list" and getattr(renderer, "format", "") == "csv":
            throttles.append(ExportThrottle())  # an export not already prepared (exports.py)
        return throttles

    def get_renderers(self):
        return [ICalendarRenderer(), JSONRenderer()]

    def get_queryset(self) -> QuerySet[Obligation]:
        return Obligation.objects.filter(
            Q(kind=V.DEADLINE) | Q(term_years__isnull=False)
        ).select_related(
            "agreement", "clause"
        ).prefetch_related("responsible", "locations", "sources")

    @extend_schema(
        filters=True,
        parameters=[AS_OF, KNOWN_AT],
        responses={(200, "text/calendar"): OpenApiResponse(OpenApiTypes.STR)},
        description=feeds.CALENDAR_HELP,
    )
    def list(self, request, *args, **kwargs):
        queryset = self.filter_queryset(self.get_queryset())
        obligations = list(queryset.filter(
            statuses.signed_q(self.as_of, "agreement__"),
            known_texts.terms_published(self.as_of.known),
        ))
        body = feeds.calendar_for(obligations, request, self.as_of)
        response = HttpResponse(body, content_type="text/calendar; charset=utf-8")
        response["Content-Disposition"] = 'inline; filename="deadlines.ics"'
        return response


@extend_schema_view(
    retrieve=extend_schema(
        parameters=[
            AS_OF,
            KNOWN_AT,
            OpenApiParameter("agreement_slug", OpenApiTypes.STR, OpenApiParameter.PATH),
            OpenApiParameter("obligation_slug", OpenApiTypes.STR, OpenApiParameter.PATH),
        ],
        operation_id="obligation_by_slug",
    )
)
class ObligationBySlugViewSet(ObligationViewSet):
    """The same obligation at a human-readable address; its `url` stays the id one."""

    def get_object(self) -> Obligation:
        return get_object_or_404(
            self.get_queryset(),
            agreement__slug=self.kwargs["agreement_slug"],
            slug=self.kwargs["obligation_slug"],
        )


class ScoresView(ReadMixin, viewsets.GenericViewSet):
    """Each party's score (0-3, docs/method.md) at `as_of`, over every agreement or one,
    with every term behind it: its standing, points or the reason it is not scored, and
    links to the term and the report behind its standing."""

    queryset = Agreement.objects.all()  # what `agreement=` names
    serializer_class = serializers.ScoresSerializer
    filterset_class = filters.ScoresFilter
    pagination_class = None
    supports_as_of = True

    def accepted_parameters(self) -> set[str]:
        # One answer, not a list: no pages, and `agreement` is its only filter.
        return {"as_of", "known_at", "format", *filters.ScoresFilter.base_filters}

    @extend_schema(parameters=[AS_OF, KNOWN_AT], responses=serializers.ScoresSerializer,
                   filters=True)
    def retrieve(self, request, *args, **kwargs):
        params = filters.ScoresFilter(request.query_params, queryset=self.get_queryset())
        if not params.is_valid():
            raise ValidationError(params.errors)
        agreement = params.form.cleaned_data.get("agreement")
        body = {
            "as_of": self.as_of.label,
            "agreement": agreement.slug if agreement else None,
            "method": METHOD,
            "results": scores.party_scores(self.as_of, agreement),
        }
        return Response(serializers.ScoresSerializer(
            body, context=self.get_serializer_context()).data)
