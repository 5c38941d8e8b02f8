"""Settings for the test suite: the real settings with test-friendly defaults.

Tests run on PostgreSQL and Redis (see the Makefile); only defaults are set here
so that an explicit environment still wins.
"""

import os

os.environ.setdefault("DEBUG", "true")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/tracker")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")
os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
# Tests that read only an export's headers never close it; tests of the bound set it.
os.environ.setdefault("API_EXPORTS_AT_ONCE", "1000")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast user factories
REST_FRAMEWORK = {  # noqa: F405
    **REST_FRAMEWORK,  # noqa: F405
    "DEFAULT_THROTTLE_RATES": {"anon": "10000/minute", "user": "10000/minute",
                               "export": "10000/minute"},
}
