"""Account safety: login throttling per account and address and per address, the
deployment checklist for sessions and CSRF, API tokens per user that admins revoke and
rotate."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.test import Client
from django.urls import reverse
from rest_framework.authtoken.models import Token, TokenProxy
from rest_framework.test import APIClient

from tests.editorial.conftest import PASSWORD
from tests.sqlite_run import MAIL_VARIABLES

LOGIN = "/admin/login/"


def attempt(client: Client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password, "next": "/admin/"},
                       REMOTE_ADDR=ip)


def test_the_nth_failed_admin_login_locks_that_account_from_that_address(users):
    limit = settings.AXES_FAILURE_LIMIT
    client = Client()
    for _ in range(limit - 1):
        response = attempt(client, "ada", "wrong")
        assert response.status_code == 200  # the form again, with an error
    locked = attempt(client, "ada", "wrong")  # the Nth failure
    assert locked.status_code == 429
    # Now even the right password is refused from that address…
    assert attempt(Client(), "ada", PASSWORD).status_code == 429
    # …while the same account from another address still logs in: nobody elsewhere can
    # lock an account out. That address is now locked for every account.
    assert attempt(Client(), "ada", PASSWORD, ip="10.0.0.2").status_code == 302
    assert attempt(Client(), "edith", PASSWORD).status_code == 429


def test_one_password_sprayed_over_many_accounts_locks_the_address(users):
    # One failure per name, never twice the same: only the per-address count sees it.
    limit = settings.AXES_FAILURE_LIMIT
    names = [f"nobody{i}" for i in range(limit - 1)]
    for name in names:
        assert attempt(Client(), name, "Winter2020!", ip="10.0.0.9").status_code == 200
    assert attempt(Client(), "ada", "Winter2020!", ip="10.0.0.9").status_code == 429
    # The address stays locked, even for a right password…
    assert attempt(Client(), "edith", PASSWORD, ip="10.0.0.9").status_code == 429
    # …and the accounts are not: from elsewhere they log in.
    assert attempt(Client(), "ada", PASSWORD, ip="10.0.0.3").status_code == 302
    assert attempt(Client(), "edith", PASSWORD, ip="10.0.0.3").status_code == 302


def test_a_successful_login_resets_the_failure_count(users):
    client = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        attempt(client, "rita", "wrong")
    assert attempt(Client(), "rita", PASSWORD).status_code == 302
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert attempt(Client(), "rita", "wrong").status_code == 200


def test_admin_forms_require_csrf(users):
    client = Client(enforce_csrf_checks=True)
    client.force_login(users.admin)
    response = client.post(reverse("admin:tracker_party_add"), {"slug": "x", "name": "X"})
    assert response.status_code == 403


def test_deploy_checklist_passes_for_sessions_and_csrf(tmp_path):
    """`check --deploy` with production-like settings: no warnings at all."""
    # The test process's environment carries test-only relaxations (config.test_settings
    # sets SECURE_SSL_REDIRECT; browser tests set DJANGO_ALLOW_ASYNC_UNSAFE), nor a
    # developer's own mail settings: not here.
    inherited = {k: v for k, v in os.environ.items()
                 if k not in ("SECURE_SSL_REDIRECT", *MAIL_VARIABLES)
                 and not k.startswith("DJANGO_")}
    env = {**inherited, "DEBUG": "false", "SECRET_KEY": secrets.token_urlsafe(60),
           "ALLOWED_HOSTS": "tracker.example.org", "DJANGO_SETTINGS_MODULE": "config.settings",
           "VAR_DIR": str(tmp_path)}
    root = Path(__file__).resolve().parents[2]
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=root, env=env, capture_output=True, text=True, timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_api_tokens_are_per_user_and_admins_rotate_and_revoke_them(users):
    old = Token.objects.create(user=users.editor)
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {old.key}")
    assert api.get("/api/v1/reports/").status_code == 200

    admin = Client()
    admin.force_login(users.admin)
    changelist = reverse("admin:authtoken_tokenproxy_changelist")
    assert admin.get(changelist).status_code == 200
    response = admin.post(changelist, {"action": "rotate_tokens", "_selected_action": [old.key]})
    assert response.status_code == 302
    new = Token.objects.get(user=users.editor)
    assert new.key != old.key
    assert api.get("/api/v1/reports/").status_code == 401  # the old key is dead
    api.credentials(HTTP_AUTHORIZATION=f"Token {new.key}")
    assert api.get("/api/v1/reports/").status_code == 200

    admin.post(changelist, {"action": "revoke_tokens", "_selected_action": [new.key]})
    assert not TokenProxy.objects.filter(user=users.editor).exists()
    assert api.get("/api/v1/reports/").status_code == 401

    # From the user list too: issue, then revoke.
    users_url = reverse("admin:auth_user_changelist")
    admin.post(users_url, {"action": "issue_api_tokens", "_selected_action": [users.editor.pk]})
    assert Token.objects.filter(user=users.editor).exists()
    admin.post(users_url, {"action": "revoke_api_tokens", "_selected_action": [users.editor.pk]})
    assert not Token.objects.filter(user=users.editor).exists()


def test_only_admins_manage_tokens(users):
    Token.objects.create(user=users.editor)
    for user in (users.editor, users.reviewer):
        client = Client()
        client.force_login(user)
        assert client.get(reverse("admin:authtoken_tokenproxy_changelist")).status_code == 403
