"""`manage.py add_staff USERNAME --role editor [--role reviewer]`: one step to an editor."""

from __future__ import annotations

import getpass
import os
import sys

from django.core.management.base import BaseCommand, CommandError

from tracker.accounts import UnknownRole, grant_roles
from tracker.editorial import ROLES


class Command(BaseCommand):
    help = (
        "Create a staff account (or update one) with editorial roles. The password comes "
        "from STAFF_PASSWORD, else a prompt when run in a terminal; without either a new "
        "account cannot log in until `manage.py changepassword USERNAME`."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--role", action="append", required=True, choices=ROLES,
                            help="editor, reviewer or admin; repeat for several")
        parser.add_argument("--email", default="")

    def handle(self, *args, username: str, role: list[str], email: str, **options) -> None:
        password = os.environ.get("STAFF_PASSWORD") or None
        if password is None and sys.stdin.isatty():
            password = getpass.getpass(f"Password for {username} (empty: none yet): ") or None
        try:
            user, created = grant_roles(username, role, email=email, password=password)
        except UnknownRole as exc:
            raise CommandError(str(exc)) from None
        roles = ", ".join(sorted(g.name for g in user.groups.all()))
        verb = "created" if created else "updated"
        self.stdout.write(f"{verb} staff account {username!r} with roles: {roles}")
        if not user.has_usable_password():
            self.stdout.write(
                f"it has no password yet: manage.py changepassword {username}"
            )
