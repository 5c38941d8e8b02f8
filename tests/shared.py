"""Rows built once for all the tests of a module that ask for them, as Django's
`TestCase.setUpTestData` does for a class.

Building a world (an agreement file loaded and swept, or the ORM worlds of
tests/web and tests/api) costs far more than most tests that read it. `shared_rows`
makes a module-scoped fixture that builds the rows inside a transaction left open
(never committed); each test that asks for them runs inside it in pytest-django's
own savepoint, so whatever the test writes is rolled back and the next one finds
the rows exactly as built. Each test gets its own deep copy of the Python objects,
as `setUpTestData` gives, so changes to them in memory do not leak either.

Only the tests that ask for the rows see them: before any other test starts (one of
the same module that does not ask, a transactional one, one with a live server or a
worker process) `close_unless_wanted` rolls the transaction back, and the next test
that asks builds them again. A transactional test that asks gets rows built for it
alone, committed and flushed like any transactional test's.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from typing import Any, ClassVar

import pytest


def transactional(item: pytest.Item) -> bool:
    """Whether pytest-django runs `item` as a TransactionTestCase (its own rule)."""
    marker = item.get_closest_marker("django_db")
    if marker is not None and (marker.kwargs.get("transaction")
                               or marker.kwargs.get("reset_sequences")):
        return True
    names = getattr(item, "fixturenames", ())
    return any(name in names for name in
               ("transactional_db", "live_server", "django_db_reset_sequences"))


class SharedRows:
    """One module's rows and the open transaction that holds them."""

    alive: ClassVar[list[SharedRows]] = []  # fixtures set up and not yet torn down
    current: ClassVar[pytest.Item | None] = None  # the test being set up

    def __init__(self, name: str, build: Callable[[], Any], blocker: Any):
        self.name, self.build, self.blocker = name, build, blocker
        self.value: Any = None
        self._atomic: Any = None

    @property
    def is_open(self) -> bool:
        return self._atomic is not None

    def wanted_by(self, item: pytest.Item) -> bool:
        return self.name in getattr(item, "fixturenames", ()) and not transactional(item)

    def open(self) -> None:
        if self._atomic is not None:
            return
        from django.db import transaction

        with self.blocker.unblock():
            atomic = transaction.atomic()
            atomic.__enter__()
            try:
                self.value = self.build()
            except BaseException:
                transaction.set_rollback(True)
                atomic.__exit__(None, None, None)
                raise
        self._atomic = atomic

    def close(self) -> None:
        if self._atomic is None:
            return
        from django.db import transaction

        atomic, self._atomic, self.value = self._atomic, None, None
        with self.blocker.unblock():
            transaction.set_rollback(True)
            atomic.__exit__(None, None, None)

    def copy(self) -> Any:
        """The rows' Python objects, copied for one test."""
        return copy.deepcopy(self.value)


def shared_rows(build: Callable[[], Any]):
    """A module-scoped fixture holding `build()`'s rows (see the module's docstring).

    Use it from a function-scoped fixture that also asks for `db`:
    `rows.copy() if rows.is_open else build()`.
    """

    @pytest.fixture(scope="module")
    def fixture(request, django_db_setup, django_db_blocker) -> Iterator[SharedRows]:
        rows = SharedRows(request.fixturename, build, django_db_blocker)
        SharedRows.alive.append(rows)
        try:
            # Module fixtures are set up before any test's own (`db` among them), so
            # the transaction opened here is the outer one.
            if SharedRows.current is not None and rows.wanted_by(SharedRows.current):
                rows.open()
            yield rows
        finally:
            rows.close()
            SharedRows.alive.remove(rows)

    return fixture


def before_each_test(item: pytest.Item) -> None:
    """Called before any fixture of `item` is set up (tests/conftest.py's hook): close
    the rows `item` must not see, and (re)open those it asks for."""
    SharedRows.current = item
    wanted = [rows for rows in SharedRows.alive if rows.wanted_by(item)]
    # Innermost first: a transaction opened later is nested in those opened before it.
    for rows in reversed(SharedRows.alive):
        if rows not in wanted:
            rows.close()
    if len([rows for rows in SharedRows.alive if rows.is_open or rows in wanted]) > 1:
        pytest.fail("a test can use the rows of one shared fixture at most")
    for rows in wanted:
        rows.open()


def shared_live_site(build: Callable[[], Any]):
    """A module-scoped fixture: `build()`'s rows, committed, behind a live server of the
    module's own; its value is the server's URL. For modules whose tests only read what
    a browser is shown: the rows are loaded once instead of for each test, and the
    tables are flushed after the module's last test, as after a transactional test.

    Its tests must be marked `django_db` (a plain one): pytest-django then sets up the
    test database and lets the server's thread read it while each test runs.
    """

    @pytest.fixture(scope="module")
    def fixture(django_db_setup, django_db_blocker) -> Iterator[str]:
        from django.core.management import call_command
        from django.db import connection
        from django.test.utils import modify_settings
        from pytest_django.live_server_helper import LiveServer

        try:
            with django_db_blocker.unblock():
                build()
            server = LiveServer("localhost")
            try:
                with modify_settings(ALLOWED_HOSTS={"append": "localhost"}):
                    yield server.url
            finally:
                server.stop()
        finally:
            with django_db_blocker.unblock():
                call_command("flush", verbosity=0, interactive=False)
                # Opened beside Playwright's event loop, this connection is not the one
                # pytest-django closes before dropping the test database.
                connection.close()

    return fixture
