"""Mail settings from the environment (Django 6.1's MAILERS, config/mail.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.mail import mailers_from_url
from tests.sqlite_run import ROOT, probe, sqlite_env

SMTP = "django.core.mail.backends.smtp.EmailBackend"


@pytest.mark.parametrize("url, options", [
    ("smtp+tls://bot:s3cret@mail.example.org:587",
     {"host": "mail.example.org", "port": 587, "username": "bot", "password": "s3cret",
      "use_tls": True}),
    # A password holding / @ : # ? and %, URL-encoded; TLS from the first byte; a timeout.
    ("smtp+ssl://bot:a%2Fb%40c%3Ad%23e%3Ff%25@mail.example.org:465?timeout=10",
     {"host": "mail.example.org", "port": 465, "username": "bot",
      "password": "a/b@c:d#e?f%", "use_ssl": True, "timeout": 10}),
    ("smtp://localhost:25", {"host": "localhost", "port": 25}),
])
def test_smtp_urls_become_the_default_mailer(url, options):
    assert mailers_from_url(url) == {"default": {"BACKEND": SMTP, "OPTIONS": options}}


def test_the_console_takes_no_options():
    assert mailers_from_url("consolemail://") == {"default": {
        "BACKEND": "django.core.mail.backends.console.EmailBackend", "OPTIONS": {}}}


@pytest.mark.parametrize("url, message", [
    ("smtp://", "names no host"),
    ("carrier-pigeon://coop", "must start with one of"),
    ("filemail:///tmp/mail", "must start with one of"),  # would fail only when sending
    ("smtp+tls://mail.example.org?email_use_ssl=false", "options this project does not read"),
    ("smtp://mail.example.org?timeout=soon", "not a whole number"),
    ("smtp://mail.example.org?timeout=\u00b2", "not a whole number"),  # a digit, not ASCII
    # An unencoded / in the password: refused, and the password is not repeated.
    ("smtp://bot:Secr3t/xyz@mail.example.org", "is malformed"),
    ("smtp://bot:Secr3t?xyz@mail.example.org", "is malformed"),
])
def test_a_bad_mail_url_is_refused_without_repeating_it(url, message):
    with pytest.raises(ImproperlyConfigured) as caught:
        mailers_from_url(url)
    text = str(caught.value)
    assert message in text and "EMAIL_URL" in text
    assert "Secr3t" not in text
    # Not chained to the parser's error, whose message may quote the password.
    exc = caught.value
    assert exc.__cause__ is None and (exc.__context__ is None or exc.__suppress_context__)


PRINT_MAIL = """
import json
from django.conf import settings
from django.core import mail
print(json.dumps({"admins": settings.ADMINS, "sender": settings.SERVER_EMAIL,
                  "backend": type(mail.mailers["default"]).__module__}))
"""


def test_the_environment_reaches_the_settings(tmp_path):
    out = probe(sqlite_env(tmp_path / "db.sqlite3",
                           EMAIL_URL="smtp+tls://bot:s3cret@mail.example.org:587",
                           ADMINS="ops@example.org,desk@example.org",
                           SERVER_EMAIL="tracker@example.org"), PRINT_MAIL)
    assert out == {"admins": ["ops@example.org", "desk@example.org"],
                   "sender": "tracker@example.org", "backend": "django.core.mail.backends.smtp"}


def test_development_mail_goes_to_the_console(tmp_path):
    out = probe(sqlite_env(tmp_path / "db.sqlite3"), PRINT_MAIL)  # DEBUG, no EMAIL_URL
    assert out["backend"] == "django.core.mail.backends.console" and out["admins"] == []


def test_a_bad_mail_url_stops_the_start(tmp_path):
    env = sqlite_env(tmp_path / "db.sqlite3", EMAIL_URL="smtp://bot:Secr3t/xyz@mail.example.org")
    done = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode != 0
    assert "EMAIL_URL is malformed" in done.stderr and "Secr3t" not in done.stderr
