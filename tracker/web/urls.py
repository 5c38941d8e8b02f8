from django.urls import path

from tracker.web import views

app_name = "web"
urlpatterns = [
    path("", views.overview, name="overview"),
    path("map/", views.map_view, name="map"),
    path("places/", views.places, name="places"),
    path("scores/", views.party_scores, name="scores"),
    path("agreements/<slug:slug>/", views.agreement, name="agreement"),
    path("changes/<slug:slug>/", views.agreement_changes, name="agreement-changes"),
    path("changes/<slug:slug>/<slug:obligation_slug>/", views.obligation_changes,
         name="obligation-changes"),
    path("agreements/<slug:slug>/<slug:obligation_slug>/", views.obligation, name="obligation"),
]
