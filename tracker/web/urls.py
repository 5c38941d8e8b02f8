from django.urls import path

from tracker.web import views

app_name = "web"
urlpatterns = [path("", views.overview, name="overview")]
