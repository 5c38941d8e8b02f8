"""How many whole-list CSV exports one server process streams at once.

An export of every obligation is tens of megabytes and many seconds of a worker
thread: without a bound, a handful of concurrent exports hold every thread and the
site stops answering. Each process streams at most `settings.API_EXPORTS_AT_ONCE`
exports (the rest of its threads stay free for ordinary reads); an export asked for
while all slots are taken gets 429 with Retry-After, which `curl --retry` honours.
Exports already prepared (cached bodies, see views._kept_while_streamed) take no slot.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator

from django.conf import settings

# What an export turned away is told to wait (seconds): about one large export's time.
RETRY_AFTER_SECONDS = 20

_lock = threading.Lock()
_slots: dict[int, threading.BoundedSemaphore] = {}


def _semaphore() -> threading.BoundedSemaphore:
    size = settings.API_EXPORTS_AT_ONCE
    with _lock:
        return _slots.setdefault(size, threading.BoundedSemaphore(size))


class Slot:
    """An export's place; iterate the body through it, and it is freed when the server
    closes the response (finished, failed or abandoned by the client)."""

    def __init__(self, semaphore: threading.BoundedSemaphore):
        self._semaphore = semaphore
        self._held = True
        self._chunks: Iterable[bytes] = ()

    def wrap(self, chunks: Iterable[bytes]) -> Slot:
        self._chunks = chunks
        return self

    def __iter__(self) -> Iterator[bytes]:
        return iter(self._chunks)

    def close(self) -> None:
        close = getattr(self._chunks, "close", None)
        if close is not None:
            close()
        with _lock:
            held, self._held = self._held, False
        if held:
            self._semaphore.release()


def take_slot() -> Slot | None:
    """A free export slot of this process, or None when all are streaming."""
    semaphore = _semaphore()
    return Slot(semaphore) if semaphore.acquire(blocking=False) else None
