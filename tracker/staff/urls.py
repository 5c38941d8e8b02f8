"""Staff pages: the status update form with a preview, corrections, the review queue."""

from django.urls import path

from tracker.staff import views

app_name = "staff"
urlpatterns = [
    path("", views.home, name="home"),
    path("reports/new/", views.report_new, name="report_new"),
    path("reports/<int:pk>/edit/", views.report_edit, name="report_edit"),
    path("reports/<int:pk>/correct/", views.correct, name="correct"),
    path("deadline-changes/new/", views.change_new, name="change_new"),
    path("deadline-changes/<int:pk>/edit/", views.change_edit, name="change_edit"),
    path("review/", views.review_queue, name="review"),
    path("review/<str:kind>/<int:pk>/", views.review_decide, name="decide"),
]
