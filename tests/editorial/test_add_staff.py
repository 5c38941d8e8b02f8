"""`manage.py add_staff`: an editor or reviewer in one step, usable at once."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client

from tracker import editorial

pytestmark = pytest.mark.django_db


def test_add_staff_makes_an_editor_who_can_open_the_staff_pages(monkeypatch):
    monkeypatch.setenv("STAFF_PASSWORD", "a-long-test-password")
    call_command("add_staff", "edith", "--role", "editor", "--email", "e@example.org")
    user = User.objects.get(username="edith")
    assert user.is_staff and user.email == "e@example.org"
    assert editorial.is_editor(user) and not editorial.is_reviewer(user)
    client = Client()
    login = client.post("/admin/login/", {"username": "edith",
                                           "password": "a-long-test-password", "next": "/staff/"})
    assert login.status_code == 302 and login["Location"] == "/staff/"
    assert client.get("/staff/").status_code == 200


def test_add_staff_adds_a_role_to_an_existing_account_without_touching_its_password(
    monkeypatch,
):
    monkeypatch.delenv("STAFF_PASSWORD", raising=False)
    User.objects.create_user("rita", password="kept-password")
    call_command("add_staff", "rita", "--role", "reviewer", "--role", "editor")
    user = User.objects.get(username="rita")
    assert editorial.is_reviewer(user) and editorial.is_editor(user) and user.is_staff
    assert user.check_password("kept-password")


def test_a_new_account_without_a_password_cannot_log_in(monkeypatch, capsys):
    monkeypatch.delenv("STAFF_PASSWORD", raising=False)
    call_command("add_staff", "nopass", "--role", "editor")
    assert not User.objects.get(username="nopass").has_usable_password()
    assert "changepassword nopass" in capsys.readouterr().out


def test_an_unknown_role_is_refused_and_creates_nothing():
    with pytest.raises(CommandError):
        call_command("add_staff", "x", "--role", "publisher")
    assert not User.objects.filter(username="x").exists()
