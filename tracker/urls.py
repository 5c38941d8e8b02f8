"""Every URL of the app: the public dashboard, the API, feeds and the staff pages."""

from django.urls import include, path

from tracker.feeds import events_feed

urlpatterns = [
    path("api/", include("tracker.api.urls")),
    path("feeds/events.atom", events_feed, name="feed-events"),
    path("staff/", include("tracker.staff.urls")),
    path("", include("tracker.web.urls")),
]
