"""Reads that lost their database connection halfway are answered on a new one.

CONN_HEALTH_CHECKS replaces a kept connection the server closed before a request
starts. A connection closed while a request runs (a restart, a failover, an operator's
pg_terminate_backend between two of its queries) still fails that request: the
view's error becomes a 500. For a GET or HEAD, which changes nothing, the view is run
once more on a fresh connection instead. Writes are never repeated: their client
gets the error and decides.
"""

from __future__ import annotations

import logging

from django.db import connection

log = logging.getLogger(__name__)

SAFE_METHODS = ("GET", "HEAD")


class RetryReadOnLostConnection:
    """Innermost middleware: it repeats the view alone (the request's user and session
    are already read)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            response.status_code == 500
            and request.method in SAFE_METHODS
            and connection.connection is not None
            and not connection.in_atomic_block
            and not connection.is_usable()
        ):
            log.warning("database connection lost during %s %s; answering on a new one",
                        request.method, request.path)
            connection.close()
            response = self.get_response(request)
        return response
