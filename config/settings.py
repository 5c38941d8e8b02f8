"""Settings, read from the environment in one place.

Every knob is a typed environment variable with a default that suits `make run`
(SQLite and a filesystem broker under var/). A malformed value fails at start-up
with the variable's name, never later at request time.
"""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

from config.mail import mailers_from_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(environ.Env().str("VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()


def _env(reader, name: str, **kwargs):
    """Read one variable; turn a parse failure into an error that names it."""
    try:
        return reader(name, **kwargs)
    except (ValueError, TypeError) as exc:
        raise ImproperlyConfigured(f"Environment variable {name} is malformed: {exc}") from exc


DEBUG = _env(env.bool, "DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production-0123456789abcdef"

ALLOWED_HOSTS = _env(
    env.list, "ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "[::1]"] if DEBUG else []
)
CSRF_TRUSTED_ORIGINS = _env(env.list, "CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "corsheaders",
    "simple_history",
    "axes",
    "tracker",
    "deadlines",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # The language: ?lang= (a link shared in a language), then the cookie the switch
    # sets, then Accept-Language (tracker.i18n).
    "django.middleware.locale.LocaleMiddleware",
    "tracker.i18n.LanguageParameterMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "simple_history.middleware.HistoryRequestMiddleware",
    "axes.middleware.AxesMiddleware",
    "tracker.middleware.RetryReadOnLostConnection",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "tracker.i18n.language_switch",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.csp",
                "tracker.staff.context.staff_nav",
            ],
        },
    },
]

DATABASES = {
    "default": _env(
        env.db_url, "DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tracker.sqlite3'}"
    )
}
DATABASES["default"].setdefault("CONN_MAX_AGE", _env(env.int, "CONN_MAX_AGE", default=0))
# A persistent connection the server closed (restart, failover, pg_terminate_backend) is
# noticed and replaced at the start of the next request instead of failing it.
DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The web server, the worker and beat share one file in `make run`: wait for
    # the write lock instead of failing with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    )

# The API's hottest fixed reads are prepared once per connection (tracker.api.prepared);
# off behind a pooler that moves sessions between clients (PgBouncer transaction mode).
DATABASE_PREPARED_STATEMENTS = _env(env.bool, "DATABASE_PREPARED_STATEMENTS", default=True)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

LANGUAGE_CODE = "en"
# The interface's languages (docs/translations.md): names as their speakers write them.
LANGUAGES = [
    ("en", "English"),
    ("az", "Azərbaycanca"),
    ("hy", "Հայերեն"),
    ("ru", "Русский"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
# Date and number formats per language (config/formats/<code>/formats.py).
FORMAT_MODULE_PATH = ["config.formats"]
LANGUAGE_COOKIE_NAME = "tracker_language"
LANGUAGE_COOKIE_AGE = 365 * 24 * 3600
LANGUAGE_COOKIE_SAMESITE = "Lax"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEBUG
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = DEBUG

# --- Security (Django's deployment checklist; all on unless DEBUG) ----------
SECURE_SSL_REDIRECT = _env(env.bool, "SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes from inside the network speak plain HTTP
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = not DEBUG
LANGUAGE_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
SECURE_HSTS_SECONDS = _env(env.int, "SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
# Content-Security-Policy on every response: everything from this server only (no
# CDN, fonts or tiles, by design), no inline script or style without the request's
# nonce (templates: nonce="{{ csp_nonce }}"), no plugins, no framing, no <base>.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF, CSP.NONCE],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "font-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- Login throttling (django-axes): per account and address, and per address ------
# N failures for one account from one address lock that pair; N failures from one
# address over any accounts (one password sprayed over many names) lock the address.
# The same account from another address is never locked by them.
AXES_FAILURE_LIMIT = _env(env.int, "AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = 1  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True

# --- Mail: the admins hear when a webhook subscription is paused ---------------
ADMINS = _env(env.list, "ADMINS", default=[])
SERVER_EMAIL = env.str("SERVER_EMAIL", default="tracker@localhost")
# Django 6.1's MAILERS from one URL (config/mail.py): the console under DEBUG, else an
# SMTP server on localhost, Django's old default.
MAILERS = mailers_from_url(
    env.str("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
)

# --- Celery -------------------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    _queue_dir = VAR_DIR / "broker"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_queue_dir),
        "data_folder_out": str(_queue_dir),
        "processed_folder": str(VAR_DIR / "broker-processed"),
        "store_processed": False,
    }
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ALWAYS_EAGER = _env(env.bool, "CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TIMEZONE = "UTC"
# Keeps the worker alive when the broker drops while a task runs (config/worker.py).
CELERY_WORKER_CONSUMER = "config.worker:Consumer"
SWEEP_PERIOD_SECONDS = _env(env.int, "SWEEP_PERIOD_SECONDS", default=60)
if SWEEP_PERIOD_SECONDS < 1:
    raise ImproperlyConfigured("SWEEP_PERIOD_SECONDS must be at least 1.")
# Called (dotted paths, no arguments) after the sweep and re-assessment tasks and
# `manage.py sweep` store statuses: the overview's shared counts are recounted so the
# first page view after a change reads them (tracker/web/snapshot.py), and the count
# timeline the past overview reads is rebuilt when the data moved (tracker/count_timeline.py).
STATUSES_STORED_HOOKS = ["tracker.web.snapshot.refresh", "tracker.count_timeline.refresh"]
# How long a build of the count timeline may be read at most: bounds how long a change
# no data version records (a bulk update) can go unseen in past counts.
COUNT_TIMELINE_MAX_AGE_SECONDS = _env(env.int, "COUNT_TIMELINE_MAX_AGE_SECONDS", default=3600)
CELERY_BEAT_SCHEDULE = {
    "sweep-statuses": {
        "task": "deadlines.tasks.sweep",
        "schedule": float(SWEEP_PERIOD_SECONDS),
        # A sweep that waited longer than its period is stale: the next one covers it.
        "options": {"expires": max(1.0, SWEEP_PERIOD_SECONDS * 0.8)},
    },
    "deliver-webhooks": {
        "task": "deadlines.tasks.deliver_pending",
        "schedule": float(SWEEP_PERIOD_SECONDS),
        "options": {"expires": max(1.0, SWEEP_PERIOD_SECONDS * 0.8)},
    },
}

# Webhooks go to public addresses only (deadlines/targets.py); true lets a receiver on
# this machine or a private network through (development, tests).
WEBHOOK_ALLOW_PRIVATE_TARGETS = _env(env.bool, "WEBHOOK_ALLOW_PRIVATE_TARGETS", default=False)

# How published reports credit their author and reviewer (tracker/credits.py).
REPORT_CREDITS = env.str("REPORT_CREDITS", default="roles")
if REPORT_CREDITS not in ("roles", "names"):
    raise ImproperlyConfigured("Environment variable REPORT_CREDITS must be roles or names.")

# --- REST API -----------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticatedOrReadOnly"],
    "DEFAULT_THROTTLE_CLASSES": [
        "tracker.api.throttles.AnonThrottle",
        "tracker.api.throttles.UserThrottle",
    ],
    "EXCEPTION_HANDLER": "tracker.api.exceptions.handle",
    # JSON bodies bounded in bytes (DATA_UPLOAD_MAX_MEMORY_SIZE, a 413) and nesting.
    "DEFAULT_PARSER_CLASSES": [
        "tracker.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "tracker.api.pagination.Pagination",
    "DEFAULT_THROTTLE_RATES": {
        "anon": env.str("API_ANON_RATE", default="120/minute"),
        "user": env.str("API_USER_RATE", default="1200/minute"),
        # Whole-list CSV exports not already prepared, per account or address.
        "export": env.str("API_EXPORT_RATE", default="30/hour"),
    },
    # Proxies in front of the app that append to X-Forwarded-For. Unset, DRF would key
    # anonymous throttling on the X-Forwarded-For header as sent, which any client can vary.
    "NUM_PROXIES": _env(env.int, "NUM_PROXIES", default=0),
}
# Whole-list CSV exports one server process streams at once (tracker/api/exports.py).
API_EXPORTS_AT_ONCE = _env(env.int, "API_EXPORTS_AT_ONCE", default=2)
if API_EXPORTS_AT_ONCE < 1:
    raise ImproperlyConfigured("API_EXPORTS_AT_ONCE must be at least 1.")

SPECTACULAR_SETTINGS = {
    "TITLE": "Ceasefire-terms compliance tracker API",
    "DESCRIPTION": "Obligations of peace agreements, their deadlines and statuses, with sources.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    # Swagger UI asks validator.swagger.io for a badge unless told not to: nothing is
    # fetched from outside this server.
    "SWAGGER_UI_SETTINGS": {"deepLinking": True, "validatorUrl": None},
    # Every operation documents the JSON error shape (400/401/403/404/429).
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "tracker.api.schema.add_error_responses",
    ],
    "ENUM_NAME_OVERRIDES": {
        "StatusEnum": "tracker.vocabulary.STATUSES",
        "ClaimEnum": "tracker.vocabulary.CLAIMS",
        "ClaimantKindEnum": "tracker.vocabulary.CLAIMANT_KINDS",
        "RelationKindEnum": "tracker.vocabulary.RELATION_KINDS",
    },
}
CORS_URLS_REGEX = r"^/(api|feeds)/.*$"
CORS_ALLOW_ALL_ORIGINS = True
CORS_ALLOW_METHODS = ["GET", "HEAD", "OPTIONS"]
# Lets browser scripts read the answered instant, revalidate, and back off.
CORS_EXPOSE_HEADERS = ["ETag", "X-As-Of", "Retry-After", "Content-Disposition"]

CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
    if not REDIS_URL
    else {
        "BACKEND": "django.core.cache.backends.redis.RedisCache",
        "LOCATION": REDIS_URL,
        # A Redis host that vanished (no refusal, just silence) must cost a request a
        # second at most, after which tracker.outage skips it (docs/reliability.md).
        "OPTIONS": {"socket_connect_timeout": 1.0, "socket_timeout": 1.0},
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
