"""A small world for the editorial tests: one agreement (Asia/Baku), a deadline
obligation due 20 November 2020, an ongoing one, sources, and a user per role."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime

import pytest
from django.contrib.auth.models import Group, User
from django.core.cache import cache

from deadlines.engine import due_instant
from tracker import vocabulary as V
from tracker.models import Agreement, Obligation, Source

SIGNED = datetime(2020, 11, 9, 21, tzinfo=UTC)
PASSWORD = "correct horse battery staple 42"


def ensure_roles() -> None:
    """The groups come from a data migration; a transactional test's flush drops them,
    so re-run the migration's own function on the historical app registry."""
    if Group.objects.filter(name="editor").exists():
        return
    from importlib import import_module

    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    migration = import_module("tracker.migrations.0002_roles")
    state = MigrationExecutor(connection).loader.project_state(("tracker", "0002_roles"))
    migration.create_roles(state.apps, None)


@dataclass
class World:
    agreement: Agreement
    aghdam: Obligation
    ceasefire: Obligation
    source: Source
    source2: Source
    other_source: Source  # belongs to another agreement


def make_world() -> World:
    agreement = Agreement.objects.create(
        slug="nov-2020", title="Trilateral statement", signed_at=SIGNED, effective_at=SIGNED,
        timezone="Asia/Baku",
    )
    other = Agreement.objects.create(
        slug="other", title="Other", signed_at=SIGNED, effective_at=SIGNED, timezone="UTC"
    )
    aghdam = Obligation.objects.create(
        agreement=agreement, slug="aghdam", title="Return of Aghdam district", kind=V.DEADLINE,
        category="withdrawal", due_date=date(2020, 11, 20), original_due_date=date(2020, 11, 20),
        due_at=due_instant(date(2020, 11, 20), agreement.zone),
    )
    ceasefire = Obligation.objects.create(
        agreement=agreement, slug="ceasefire", title="Complete ceasefire", kind=V.ONGOING,
        category="ceasefire", starts_at=SIGNED,
    )
    source = Source.objects.create(
        agreement=agreement, key="kremlin", url="https://example.org/kremlin", publisher="Kremlin"
    )
    source2 = Source.objects.create(
        agreement=agreement, key="mod", url="https://example.org/mod", publisher="MoD"
    )
    other_source = Source.objects.create(
        agreement=other, key="x", url="https://example.org/x", publisher="X"
    )
    return World(agreement, aghdam, ceasefire, source, source2, other_source)


@pytest.fixture
def world(db) -> World:
    return make_world()


@dataclass
class Users:
    editor: User
    editor2: User
    reviewer: User
    admin: User
    outsider: User  # staff account with no role


def make_users() -> Users:
    ensure_roles()
    cache.clear()  # axes and throttles keep state in the cache

    def user(name: str, *groups: str) -> User:
        u = User.objects.create_user(name, f"{name}@example.org", PASSWORD, is_staff=True)
        u.groups.set(Group.objects.filter(name__in=groups))
        return u

    return Users(
        editor=user("edith", "editor"),
        editor2=user("eddie", "editor"),
        reviewer=user("rita", "reviewer"),
        admin=user("ada", "admin"),
        outsider=user("otto"),
    )


@pytest.fixture
def users(db) -> Users:
    return make_users()


def completed_draft(world: World, author: User, **overrides):
    from tracker import editorial

    fields = {
        "obligation": world.aghdam,
        "claim": V.CLAIM_COMPLETED,
        "occurred_at": datetime(2020, 11, 19, 20, tzinfo=UTC),
        "summary": "Azerbaijani forces entered Aghdam.",
        "sources": [world.source],
    }
    fields.update(overrides)
    return editorial.create_report(author=author, **fields)


def admin_form_data(response, **changes) -> dict:
    """The POST body an admin change form would send back unchanged (inlines included),
    with `changes` applied: what a browser submits when a person edits those fields."""
    from django.forms import MultiWidget

    def put(data: dict, bf) -> None:
        value = bf.value()
        widget = bf.field.widget
        if isinstance(widget, MultiWidget):
            parts = widget.decompress(value) if not isinstance(value, list) else value
            for i, part in enumerate(parts):
                if hasattr(part, "strftime"):
                    part = part.strftime("%Y-%m-%d" if i == 0 else "%H:%M:%S")
                data[f"{bf.html_name}_{i}"] = "" if part is None else part
        elif isinstance(value, list | tuple):
            data[bf.html_name] = [str(v) for v in value]
        elif isinstance(value, bool):
            if value:
                data[bf.html_name] = "on"
        else:
            data[bf.html_name] = "" if value is None else str(value)

    data: dict = {}
    form = response.context["adminform"].form
    for bf in form:
        put(data, bf)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bf in formset.management_form:
            data[bf.html_name] = bf.value()
        for f in formset.forms:
            for bf in f:
                put(data, bf)
    for key, value in changes.items():
        data[key] = value
    return data


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


# Tests with concurrent writers in threads: pytest-django's SQLite test database is an
# in-memory shared cache, which answers "database table is locked" to a second writer
# instead of waiting; production SQLite (a file, transaction_mode IMMEDIATE) serialises
# writers, and the locking under test is PostgreSQL's row locks.
postgres_only = pytest.mark.skipif(
    _vendor() != "postgresql", reason="concurrent writers need PostgreSQL's row locks"
)
