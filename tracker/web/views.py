from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from tracker.models import Agreement


def overview(request: HttpRequest) -> HttpResponse:
    return render(request, "web/overview.html", {"agreements": Agreement.objects.all()})
