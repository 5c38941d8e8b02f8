"""A Redis server of a test's own, on its own port, that the test stops and starts
(the shared Redis on 6379 is never touched). No persistence: a restart is empty, as
a Redis that crashed without snapshots comes back."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time

import pytest

PORT = int(os.environ.get("OWN_REDIS_PORT", "6405"))


class OwnRedis:
    def __init__(self, port: int = PORT):
        self.port = port
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 0) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def start(self) -> None:
        server = shutil.which("redis-server")
        if server is None:
            pytest.fail("redis-server is not installed (apt-get install redis-server)")
        if self.answers():
            pytest.fail(f"port {self.port} already has a Redis: set OWN_REDIS_PORT")
        self.proc = subprocess.Popen(
            [server, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.answers():
            if time.monotonic() > deadline or self.proc.poll() is not None:
                pytest.fail(f"own redis-server on {self.port} did not start")
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None

    def keys(self, pattern: str = "*") -> list[bytes]:
        import redis

        client = redis.Redis.from_url(self.url())
        try:
            return client.keys(pattern)
        finally:
            client.close()


@pytest.fixture
def own_redis():
    server = OwnRedis()
    server.start()
    try:
        yield server
    finally:
        server.stop()
