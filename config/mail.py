"""The mailer Django 6.1 sends through (its MAILERS setting), from one URL.

`EMAIL_URL` is read with django-environ's email URL rules, limited to what it maps
without surprises: smtp:// (plain), smtp+tls:// (STARTTLS), smtp+ssl:// (TLS from the
first byte) and consolemail:// (development), with one option, `?timeout=` in seconds
(so that a stalled server cannot hold a worker). A user name or password holding
/ # ? @ or : must be URL-encoded. Anything else stops the start with the variable's
name, and the message never repeats the URL, which may hold a password.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import environ
from django.core.exceptions import ImproperlyConfigured

SCHEMES = ("smtp", "smtp+tls", "smtp+ssl", "consolemail")
_SMTP_OPTIONS = {"EMAIL_HOST": "host", "EMAIL_PORT": "port", "EMAIL_HOST_USER": "username",
                 "EMAIL_HOST_PASSWORD": "password", "EMAIL_USE_TLS": "use_tls",
                 "EMAIL_USE_SSL": "use_ssl"}


def _refuse(why: str) -> ImproperlyConfigured:
    return ImproperlyConfigured(f"Environment variable EMAIL_URL {why}")


def mailers_from_url(url: str) -> dict:
    """MAILERS for `url`: {"default": {"BACKEND": ..., "OPTIONS": {...}}}."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    if scheme not in SCHEMES:
        raise _refuse(f"must start with one of {', '.join(s + '://' for s in SCHEMES)}.")
    try:
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True, strict_parsing=bool(parts.query))
        config = environ.Env.email_url_config(parts._replace(query="").geturl())
    except (ValueError, TypeError, ImproperlyConfigured):
        # Not chained: the library's message may quote the password.
        raise _refuse("is malformed (URL-encode a user name or password that holds "
                      "/ # ? @ or :).") from None
    unknown = sorted(set(query) - {"timeout"})
    if unknown:
        raise _refuse(f"has options this project does not read: {', '.join(unknown)} "
                      "(only ?timeout=seconds).")
    options = {}
    if scheme != "consolemail":
        if not config.get("EMAIL_HOST"):
            raise _refuse("names no host.")
        options = {option: config[key] for key, option in _SMTP_OPTIONS.items()
                   if config.get(key) not in (None, "")}
        if "timeout" in query:
            timeout = query["timeout"][-1]
            if not (timeout.isascii() and timeout.isdigit() and int(timeout) > 0):
                raise _refuse("has a timeout that is not a whole number of seconds.")
            options["timeout"] = int(timeout)
    return {"default": {"BACKEND": config["EMAIL_BACKEND"], "OPTIONS": options}}
