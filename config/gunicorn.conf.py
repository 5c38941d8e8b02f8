"""gunicorn settings for the web service: the shape `bench/api.py` measures.

    gunicorn -c config/gunicorn.conf.py config.wsgi:application

Each value can be set from the environment (WEB_*); the defaults are for a machine of
two cores that also runs PostgreSQL (docs/performance.md, "API").

Why a cap on connections per worker: a worker holds every connection it accepts for as
long as the client keeps it alive, and serves them `threads` at a time. Without a cap,
one worker of three was seen holding 29 of 32 keep-alive clients while the others idled:
its clients queued behind each other (the slowest requests took several times as long)
while a core was free. At the cap a worker stops accepting, so further clients wait in
the shared accept queue for whichever worker frees a slot first, and a worker already
holding `worker_connections - threads` idle connections closes the next one it answers
(the client reconnects, usually to a less busy worker). A client that leaves a
connection idle holds a slot for at most `keepalive` seconds.
"""

import os


def _int(name: str, default: int) -> int:
    value = os.environ.get(name, "")
    try:
        return int(value) if value else default
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {value!r}") from None


bind = os.environ.get("WEB_BIND", "0.0.0.0:8000")
workers = _int("WEB_WORKERS", 3)
worker_class = "gthread"
threads = _int("WEB_THREADS", 2)
worker_connections = _int("WEB_WORKER_CONNECTIONS", 12)
keepalive = _int("WEB_KEEPALIVE", 5)


def post_worker_init(worker) -> None:
    """Load the URL configuration (it imports every view), then take what is loaded out
    of the garbage collector's sight. A full collection walks every object a worker
    holds and stops all its threads meanwhile: with Django, DRF and the app loaded, those
    pauses showed in the API's slowest responses under load; with the loaded objects
    frozen, a collection walks only what requests allocate (docs/performance.md, "API")."""
    import gc

    from django.urls import get_resolver

    get_resolver().url_patterns  # noqa: B018 - imported for its side effect
    gc.collect()
    gc.freeze()
