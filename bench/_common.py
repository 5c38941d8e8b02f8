"""What the benchmarks share: a PostgreSQL database of their own, made afresh or reused."""

from __future__ import annotations

import sys
from urllib.parse import urlsplit, urlunsplit


def database_names(url: str, prefix: str) -> tuple[str, str]:
    """(the bench's database, a URL to the `postgres` database) from DATABASE_URL; exits
    unless the name is `prefix` or `prefix_*`, since the bench drops that database."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not (name == prefix or name.startswith(prefix + "_")):
        sys.exit(f"refusing: the bench drops its database; name it {prefix}[_*], not {name!r}")
    return name, urlunsplit(parts._replace(path="/postgres"))


def prepare_database(admin_url: str, name: str, reuse: bool) -> bool:
    """Create database `name` (dropping an old one unless `reuse`); True when it must be
    (re)filled. `admin_url` points at a database to connect to meanwhile (postgres)."""
    import psycopg2

    conn = psycopg2.connect(admin_url)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
            exists = cur.fetchone() is not None
            if exists and reuse:
                return False
            if exists:
                cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            cur.execute(f'CREATE DATABASE "{name}"')
    finally:
        conn.close()
    return True
