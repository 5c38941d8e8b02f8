from django.urls import path

from tracker.web import views

app_name = "web"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("map/", views.map_view, name="map"),
    path("places/", views.places, name="places"),
    path("scores/", views.party_scores, name="scores"),
    path("agreements/<slug:slug>/", views.agreement, name="agreement"),
    path("agreements/<slug:slug>/<slug:obligation_slug>/", views.obligation, name="obligation"),
]
