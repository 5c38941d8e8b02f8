"""JSON errors for every failure under /api/, never an HTML page, never a bare 500.

Shape: `{"detail": "<one sentence>", "code": "<machine word>", "errors": {field: [..]}}`
(`errors` only for bad input, one list of messages per field).
"""

from __future__ import annotations

import logging

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, HttpResponse, HttpResponsePermanentRedirect, JsonResponse
from django.urls import Resolver404, ResolverMatch, resolve
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from tracker.api.parsers import BodyTooLarge
from tracker.editorial import StaleEdit

log = logging.getLogger(__name__)


class NotModified(exceptions.APIException):
    """Raised before any data is read when the client's ETag is still current."""

    status_code = status.HTTP_304_NOT_MODIFIED
    default_detail = ""
    default_code = "not_modified"


def _django_validation_errors(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {field: [m for e in errs for m in e.messages] for field, errs in
                exc.error_dict.items()}
    return {"non_field_errors": list(exc.messages)}


def _field_errors(data) -> dict:
    if isinstance(data, dict):
        return {k: v if isinstance(v, list) else [v] for k, v in data.items()}
    if isinstance(data, list):
        return {"non_field_errors": data}
    return {"non_field_errors": [data]}


def _summary(errors: dict) -> str:
    parts = []
    for field, messages in errors.items():
        text = "; ".join(str(m) if not isinstance(m, dict) else str(m) for m in messages)
        parts.append(text if field == "non_field_errors" else f"{field}: {text}")
    return " ".join(parts) or _("Invalid input.")


def handle(exc: Exception, context: dict) -> Response | None:
    if isinstance(exc, NotModified):
        return Response(status=status.HTTP_304_NOT_MODIFIED)
    if isinstance(exc, StaleEdit):
        return Response(
            {"detail": exc.message, "code": "stale_edit"}, status=status.HTTP_409_CONFLICT
        )
    if isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_validation_errors(exc))
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied(str(exc) or None)
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, RequestDataTooBig):  # a form body over the limit
        exc = BodyTooLarge()
    elif isinstance(exc, SuspiciousOperation):  # too many form fields or files, as Django
        exc = exceptions.ParseError(str(exc) or None)

    response = exception_handler(exc, context)
    if response is None:
        # Anything unexpected is logged with its traceback and answered in JSON.
        log.exception("API error in %s", context.get("view"), exc_info=exc)
        return Response(
            {"detail": _("Internal error; it has been logged."), "code": "server_error"},
            status=status.HTTP_500_INTERNAL_SERVER_ERROR,
        )
    if isinstance(exc, exceptions.ValidationError):
        errors = _field_errors(response.data)
        response.data = {"detail": _summary(errors), "code": "invalid", "errors": errors}
    elif isinstance(exc, exceptions.APIException):
        codes = exc.get_codes()
        response.data = {
            "detail": str(exc.detail),
            "code": codes if isinstance(codes, str) else "error",
        }
    return response


@csrf_exempt  # a POST to an unknown path is a JSON 404, not an HTML CSRF page
def not_found(request, *args, **kwargs) -> HttpResponse:
    """Any unknown path under /api/: a JSON 404 (the URLconf's last pattern).

    The catch-all pattern stops CommonMiddleware's APPEND_SLASH, so it is done here:
    a read of `/api/v1/obligations` is redirected to `/api/v1/obligations/`.
    """
    if not request.path.endswith("/") and request.method in ("GET", "HEAD"):
        match = _resolves(request.path + "/")
        if match is not None and match.func is not not_found:
            target = request.path + "/"
            if request.META.get("QUERY_STRING"):
                target += "?" + request.META["QUERY_STRING"]
            return HttpResponsePermanentRedirect(target)
    return JsonResponse(
        {"detail": _("No API endpoint at %(path)s.") % {"path": request.path},
         "code": "not_found"},
        status=404,
    )


def _resolves(path: str) -> ResolverMatch | None:
    try:
        return resolve(path)
    except Resolver404:
        return None
