"""The interface language: one place that reads `?lang=` and offers the switch.

Django's `LocaleMiddleware` picks the language from the cookie the switch sets, else
from `Accept-Language`. A `?lang=` in the address wins over both, so a link can be
shared in a language, and it is remembered in the cookie so the next page keeps it.
The API reads the same parameter: its identifiers stay English, its labels and
messages follow the language (docs/translations.md).
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlencode

from django.conf import settings
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, JsonResponse
from django.utils import translation

PARAMETER = "lang"
# Paths read by programs (API, calendar, feeds): ?lang= is not remembered there.
STATELESS = ("/api/", "/feeds/")


def codes() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


class LanguageParameterMiddleware:
    """`?lang=<code>` activates that language for this request and, on pages, keeps it
    in the language cookie; an unknown code is a 400 naming the parameter."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        raw = request.GET.get(PARAMETER)
        if raw is None:
            return self.get_response(request)
        code = raw.strip().lower()
        if code not in codes():
            message = (f"{PARAMETER}={raw[:20]!r} is not a language of the tracker; use one of "
                       + ", ".join(codes()) + ".")
            if request.path.startswith("/api/"):
                return JsonResponse(
                    {"detail": message, "code": "invalid", "errors": {PARAMETER: [message]}},
                    status=400,
                )
            return HttpResponseBadRequest(message, content_type="text/plain; charset=utf-8")
        translation.activate(code)
        request.LANGUAGE_CODE = code
        response = self.get_response(request)
        if request.path.startswith(STATELESS):
            return response  # each request of a machine client says its language
        response.set_cookie(
            settings.LANGUAGE_COOKIE_NAME, code,
            max_age=settings.LANGUAGE_COOKIE_AGE, path=settings.LANGUAGE_COOKIE_PATH,
            secure=settings.LANGUAGE_COOKIE_SECURE, httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
            samesite=settings.LANGUAGE_COOKIE_SAMESITE,
        )
        return response


def language_switch(request: HttpRequest) -> dict:
    """Links to this page in each language (plain links: no form, no script)."""
    current = translation.get_language() or settings.LANGUAGE_CODE
    params = [(k, v) for k, vs in request.GET.lists() for v in vs if k != PARAMETER]
    links = []
    for code, name in settings.LANGUAGES:
        query = urlencode([*params, (PARAMETER, code)])
        links.append({"code": code, "name": name, "url": f"{request.path}?{query}",
                      "current": code == current})
    return {"language_links": links}
