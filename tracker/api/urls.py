"""/api/: the v1 index and resources, the calendar, the OpenAPI schema and its reference.

Anything else under /api/ is a JSON 404 (the last pattern).
"""

from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import (
    SpectacularAPIView,
    SpectacularSwaggerSplitView,
)
from rest_framework.routers import DefaultRouter

from tracker.api import views
from tracker.api.exceptions import not_found
from tracker.api.index import index

app_name = "api"

# Trailing slash optional: "/obligations" and "/obligations/" are the same resource.
router = DefaultRouter(trailing_slash="/?")
router.include_root_view = False
router.register("agreements", views.AgreementViewSet, basename="agreement")
router.register("obligations", views.ObligationViewSet, basename="obligation")
router.register("events", views.EventViewSet, basename="event")
router.register("reports", views.ReportViewSet, basename="report")
router.register("locations", views.LocationViewSet, basename="location")
router.register("parties", views.PartyViewSet, basename="party")
router.register("sources", views.SourceViewSet, basename="source")
router.register("claimants", views.ClaimantViewSet, basename="claimant")
router.register("relations", views.RelationViewSet, basename="relation")

calendar = views.CalendarViewSet.as_view({"get": "list"})
by_slug = views.ObligationBySlugViewSet.as_view({"get": "retrieve"})
scores = views.ScoresView.as_view({"get": "retrieve"})

urlpatterns = [
    path("v1/calendar.ics", calendar, name="calendar"),
    path("v1/scores/", scores, name="scores"),
    path(
        "v1/agreements/<slug:agreement_slug>/obligations/<slug:obligation_slug>/",
        by_slug,
        name="obligation-by-slug",
    ),
    path("v1/", index, name="index"),
    path("v1/", include(router.urls)),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start-up script from its own URL (CSP: no inline
    # script); the template gives its inline style the request's nonce. (No Redoc: it
    # needs a blob: worker, un-nonced inline styles and a logo from its CDN; old links
    # to /api/redoc/ land on Swagger UI.)
    path("docs/", SpectacularSwaggerSplitView.as_view(
        url_name="api:schema", template_name="api/swagger_ui.html"), name="docs"),
    path("redoc/", RedirectView.as_view(pattern_name="api:docs", permanent=True), name="redoc"),
    re_path(r"^[\s\S]*$", not_found),  # any path, one with an encoded newline too
]
