"""Mail settings from the environment (Django 6.1's MAILERS): read in a subprocess, as a
deployment would start, since settings are evaluated once per process."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.sqlite_run import ROOT, sqlite_env

PRINT_MAIL = """
import json, django
django.setup()
from django.conf import settings
from django.core import mail
print(json.dumps({"mailers": settings.MAILERS, "admins": settings.ADMINS,
                  "backend": type(mail.mailers["default"]).__module__}))
"""


def settings_with(tmp_path, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", PRINT_MAIL], cwd=ROOT, text=True,
                          capture_output=True, timeout=60,
                          env=sqlite_env(tmp_path / "db.sqlite3", **env))


def test_an_smtp_url_becomes_the_default_mailer_and_admins_are_a_list(tmp_path):
    done = settings_with(tmp_path, EMAIL_URL="smtp+tls://bot:s3cret@mail.example.org:587",
                         ADMINS="ops@example.org,desk@example.org")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["mailers"]["default"] == {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {"host": "mail.example.org", "port": 587, "username": "bot",
                    "password": "s3cret", "use_tls": True},
    }
    assert out["admins"] == ["ops@example.org", "desk@example.org"]
    assert out["backend"] == "django.core.mail.backends.smtp"


def test_development_mail_goes_to_the_console(tmp_path):
    done = settings_with(tmp_path)  # DEBUG, no EMAIL_URL
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["backend"] == "django.core.mail.backends.console"
    assert out["admins"] == []


@pytest.mark.parametrize("url, message", [
    ("smtp://", "EMAIL_URL names no host"),
    ("carrier-pigeon://coop", "EMAIL_URL is malformed"),
])
def test_a_bad_mail_url_stops_the_start_and_is_named(tmp_path, url, message):
    done = settings_with(tmp_path, EMAIL_URL=url)
    assert done.returncode != 0
    assert message in done.stderr
