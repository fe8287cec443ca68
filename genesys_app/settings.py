"""Settings of the screenpop deployment, all read from the environment (see README "Configuration").

No variable set: embedded defaults (SQLite in WAL mode, in-memory channel layer, local-memory cache, generated
secrets in `.local/`). `DATABASE_URL` switches to production (PostgreSQL; secrets must come from the environment);
`REDIS_URL` switches the channel layer and the cache to Redis.
"""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path

import dj_database_url

from genesys_app.env import (
    env_bool,
    env_float,
    env_int,
    env_list,
    env_str,
    local_secrets,
    required_secret,
)
from screenpop.regions import APPS_ORIGINS

BASE_DIR = Path(__file__).resolve().parent.parent
LOCAL_DIR = Path(env_str("SCREENPOP_LOCAL_DIR", str(BASE_DIR / ".local")))

DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = env_str("REDIS_URL")
PRODUCTION = bool(DATABASE_URL)

_generated = {} if PRODUCTION else local_secrets(LOCAL_DIR)
SECRET_KEY = required_secret("SECRET_KEY", production=PRODUCTION, fallback=_generated)
# Comma-separated Fernet keys: the first encrypts, all decrypt (rotation).
FIELD_ENCRYPTION_KEY = required_secret("FIELD_ENCRYPTION_KEY", production=PRODUCTION, fallback=_generated)

DEBUG = env_bool("DEBUG", False)
# Development features: the demo desktop and simulator hosts. `make run` turns them on; never in production.
SCREENPOP_DEV = env_bool("SCREENPOP_DEV", False)
SCREENPOP_ALLOW_SIMULATORS = env_bool("SCREENPOP_ALLOW_SIMULATORS", SCREENPOP_DEV)

PUBLIC_BASE_URL = env_str("PUBLIC_BASE_URL", "http://127.0.0.1:8000").rstrip("/")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [PUBLIC_BASE_URL])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "drf_spectacular",
    "oauth2_provider",
    "csp",
    "screenpop",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
]

ROOT_URLCONF = "genesys_app.urls"
ASGI_APPLICATION = "genesys_app.asgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "csp.context_processors.nonce",
            ],
        },
    },
]

if PRODUCTION:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=env_int("DB_CONN_MAX_AGE", 60))}
    DATABASES["default"].setdefault("OPTIONS", {})
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH", str(BASE_DIR / "db.sqlite3")),
            "OPTIONS": {
                # IMMEDIATE takes the write lock at BEGIN, so concurrent writers queue instead of failing with
                # "database is locked" half-way through a transaction; WAL lets readers run beside the writer.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=20000;",
            },
        }
    }

if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 times sockets out after 5 s by default, exactly the layer's blocking-receive timeout:
                # without a longer read timeout every idle consumer dies with "Timeout reading from ...".
                # redis-py 8's asyncio pool raises instead of waiting when its connections are all in use (200
                # panels closing at once did): allow more.
                "hosts": [
                    {"address": REDIS_URL, "socket_timeout": 30, "socket_connect_timeout": 5, "max_connections": 1000}
                ],
                "prefix": env_str("CHANNEL_LAYER_PREFIX", "screenpop"),
                # A process channel holding 100 undelivered messages drops the next ones silently: a storm of pops
                # for one process's panels must not lose pushes.
                "capacity": 1000,
            },
        }
    }
    CACHES = {
        "default": {
            # Django's RedisCache with one client (pools, redis.Redis objects) per process: screenpop/redis_pool.py.
            "BACKEND": "screenpop.redis_pool.ProcessRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "screenpop"),
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "screenpop",
            # Django's default of 300 entries evicted the lookup results of a few hundred callers (three times the
            # Freshdesk calls of the Redis configuration) and could evict the breakers and rate budgets, which share
            # this cache. Eviction is least-recently-used, and the breaker and budget keys are read on every call.
            "OPTIONS": {"MAX_ENTRIES": env_int("SCREENPOP_LOCAL_CACHE_ENTRIES", 50_000)},
        }
    }

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("es", "Español"),
    ("fr", "Français"),
    ("de", "Deutsch"),
    ("pt-br", "Português (Brasil)"),
    ("ja", "日本語"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "static_build"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # The agent panel serves Genesys's own front-end packages from node_modules (installed by `npm ci`), so nothing
    # loads from a CDN at run time: the Client App SDK's browser bundle, and Spark's lazy-loading build (it resolves
    # its chunks, icons and i18n files next to its entry module, i.e. under /static/vendor/spark/).
    ("vendor/client-app-sdk", BASE_DIR / "node_modules" / "purecloud-client-app-sdk" / "dist"),
    ("vendor/spark", BASE_DIR / "node_modules" / "genesys-spark-components" / "dist" / "genesys-webcomponents"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = not PRODUCTION

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Behind the TLS proxy in production.
if PRODUCTION:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
    if not SECURE_HSTS_PRELOAD:
        # Joining the browsers' HSTS preload list binds the whole domain for months: the operator's decision.
        SILENCED_SYSTEM_CHECKS = ["security.W021"]
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"

# The panel is framed by Genesys (apps.<env>); everything else may not be framed at all.
FRAME_ANCESTORS = env_list("FRAME_ANCESTORS", APPS_ORIGINS) + (["'self'"] if SCREENPOP_DEV else [])
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'", "https:", "wss:"] + (["http:", "ws:"] if SCREENPOP_DEV else []),
        "frame-src": ["'self'"],
        "frame-ancestors": ["'none'"],
        "object-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'self'"] + (["http:"] if SCREENPOP_DEV else []),
    }
}

REST_FRAMEWORK = {
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "screenpop.api.exceptions.exception_handler",
    "DEFAULT_AUTHENTICATION_CLASSES": [],
    "DEFAULT_PERMISSION_CLASSES": [],
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_PARSER_CLASSES": [
        "screenpop.api.parsers.JSONParserBounded",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "screenpop API",
    "DESCRIPTION": "Freshdesk ticket screen pops for Genesys Cloud: the webhook the Genesys data action calls, "
    "the agent panel's state, and the Freshdesk ticket-update webhook.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
}

# Django's hashers for people's passwords (PBKDF2 first), plus the one for machine-made webhook client secrets.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
    "screenpop.oauth.ClientSecretHasher",
]
# Keys of the HMAC that hashes webhook client secrets, comma-separated: the first hashes, all verify (rotation).
# Unset, one is derived from SECRET_KEY; set it explicitly in production, or rotating SECRET_KEY would make every
# webhook client's secret unverifiable (their Genesys credentials would need new secrets).
CLIENT_SECRET_HASH_KEYS = env_list("CLIENT_SECRET_HASH_KEYS") or [
    hmac.new(SECRET_KEY.encode(), b"screenpop.client-secret-hash", hashlib.sha256).hexdigest()
]
# /oauth/token/: past this many failed requests in a window, 429 until the window ends. Wrong secrets count against
# their client id, made-up ids against the client's address: uvicorn's, which is the proxy's unless uvicorn trusts
# the proxy's X-Forwarded-For (FORWARDED_ALLOW_IPS / --forwarded-allow-ips set to the proxy's addresses).
SCREENPOP_TOKEN_FAILURES_PER_CLIENT = env_int("SCREENPOP_TOKEN_FAILURES_PER_CLIENT", 10)
SCREENPOP_TOKEN_FAILURES_PER_ADDRESS = env_int("SCREENPOP_TOKEN_FAILURES_PER_ADDRESS", 30)
SCREENPOP_TOKEN_THROTTLE_SECONDS = env_int("SCREENPOP_TOKEN_THROTTLE_SECONDS", 60)

OAUTH2_PROVIDER = {
    "CLIENT_SECRET_HASHER": "hmac_sha256",
    "ACCESS_TOKEN_EXPIRE_SECONDS": env_int("WEBHOOK_TOKEN_SECONDS", 3600),
    "SCOPES": {"webhook": "Send Genesys events to the screenpop webhook"},
    "DEFAULT_SCOPES": ["webhook"],
    "OAUTH2_VALIDATOR_CLASS": "screenpop.oauth.WebhookOAuth2Validator",
    "PKCE_REQUIRED": True,
    # Only the client-credentials grant is used: every RFC 9700 hardening applies. Among them, only the SHA-256 of
    # access tokens is kept at rest; the webhook looks tokens up by that checksum.
    **{
        f"COMPLIANT_BCP_RFC9700_{name}": True
        for name in (
            "IMPLICIT_GRANT",
            "PASSWORD_GRANT",
            "PKCE_METHOD",
            "ACCESS_TOKEN_TRANSPORT",
            "AUTHZ_RESPONSE_ISS",
            "TOKEN_STORAGE",
            "REFRESH_TOKEN",
            "REDIRECT_URI_SCHEME",
            "REDIRECT_URI_MATCHING",
            "PKCE_REQUIRED",
        )
    },
    "REFRESH_TOKEN_REUSE_PROTECTION": True,
    "ALLOWED_REDIRECT_URI_SCHEMES": ["https"],
}

# Pipeline tuning (see README). Intervals are configurable so tests can run the retry timeline fast.
SCREENPOP_RETRY_DELAYS = [float(x) for x in env_list("SCREENPOP_RETRY_DELAYS", ["1", "5", "15"])]
SCREENPOP_BREAKER_FAILURES = env_int("SCREENPOP_BREAKER_FAILURES", 5)
# Short: after it, one probe tells whether Freshdesk is back, and the sweep then retries the recent "unavailable" pops.
SCREENPOP_BREAKER_COOLDOWN = env_float("SCREENPOP_BREAKER_COOLDOWN", 5.0)
# A screen pop's Freshdesk calls: connect and first-byte deadlines, and the time per call above which a lookup counts
# as a failure for the breaker even when it succeeded (a hung or crawling Freshdesk shows "unavailable" within ~2 s).
SCREENPOP_FRESHDESK_CONNECT_SECONDS = env_float("SCREENPOP_FRESHDESK_CONNECT_SECONDS", 1.0)
SCREENPOP_FRESHDESK_READ_SECONDS = env_float("SCREENPOP_FRESHDESK_READ_SECONDS", 1.2)
SCREENPOP_FRESHDESK_SLOW_SECONDS = env_float("SCREENPOP_FRESHDESK_SLOW_SECONDS", 1.0)
# "unavailable" pops received within this many seconds are looked up again once Freshdesk answers (the call is
# likely still live); older ones stay as they are.
SCREENPOP_UNAVAILABLE_RETRY_SECONDS = env_float("SCREENPOP_UNAVAILABLE_RETRY_SECONDS", 300.0)
# Lookups mostly wait on Freshdesk, so many run at once (bench/time_to_pop measures a 50 calls/s storm).
SCREENPOP_LOOKUP_CONCURRENCY = env_int("SCREENPOP_LOOKUP_CONCURRENCY", 32)
# Of those, how many may compute at once (the others wait on Freshdesk, the budget or a lock): the ack's event loop
# then competes for the GIL with this many threads at most (screenpop/cpu.py; bench/ack_storm's open loop).
SCREENPOP_BACKGROUND_CPU_SLOTS = env_int("SCREENPOP_BACKGROUND_CPU_SLOTS", 1)
# A screen pop is worth seconds: a dead process's pops come back within a lease and a sweep, and the process holding
# a pop renews its lease every quarter lease (screenpop/scheduler.py), however long its lookup takes.
SCREENPOP_LEASE_SECONDS = env_float("SCREENPOP_LEASE_SECONDS", 4.0)
SCREENPOP_SWEEP_SECONDS = env_float("SCREENPOP_SWEEP_SECONDS", 1.0)
# /readyz fails when the sweep has not succeeded, or due lookups have not progressed, for this many seconds.
SCREENPOP_STUCK_SECONDS = env_float("SCREENPOP_STUCK_SECONDS", 30.0)
# On shutdown, how long the lookups running may take to finish before the process lets go of its pops (uvicorn
# first waits up to its --timeout-graceful-shutdown for the requests in flight: serving.py).
SCREENPOP_SHUTDOWN_DRAIN_SECONDS = env_float("SCREENPOP_SHUTDOWN_DRAIN_SECONDS", 10.0)
SCREENPOP_CACHE_SECONDS = env_int("SCREENPOP_CACHE_SECONDS", 60)
SCREENPOP_MISS_CACHE_SECONDS = env_int("SCREENPOP_MISS_CACHE_SECONDS", 30)
SCREENPOP_PANEL_TOKEN_SECONDS = env_int("SCREENPOP_PANEL_TOKEN_SECONDS", 900)
SCREENPOP_INDEX_SYNC_SECONDS = env_int("SCREENPOP_INDEX_SYNC_SECONDS", 300)
# The local mirror of each tenant's callers and open tickets (screenpop/mirror/): how often a process runs a round of
# every tenant's sync; how often the live mirror asks Freshdesk for changed contacts and tickets; how often it
# reconciles (deletes, merges); the share of each per-minute limit the sync leaves to the pops; how long one process
# holds a tenant's sync; the mirror age after which a pop's tickets are refreshed with one call (budget allowing);
# and how often an unknown number may start a contacts sync (a caller created a minute ago).
SCREENPOP_MIRROR_TICK_SECONDS = env_float("SCREENPOP_MIRROR_TICK_SECONDS", 5.0)
SCREENPOP_MIRROR_SYNC_SECONDS = env_float("SCREENPOP_MIRROR_SYNC_SECONDS", 30.0)
SCREENPOP_MIRROR_RECONCILE_SECONDS = env_float("SCREENPOP_MIRROR_RECONCILE_SECONDS", 86_400.0)
SCREENPOP_MIRROR_BUDGET_RESERVE = env_float("SCREENPOP_MIRROR_BUDGET_RESERVE", 0.5)
SCREENPOP_MIRROR_LEASE_SECONDS = env_float("SCREENPOP_MIRROR_LEASE_SECONDS", 120.0)
SCREENPOP_MIRROR_REFRESH_SECONDS = env_float("SCREENPOP_MIRROR_REFRESH_SECONDS", 15.0)
SCREENPOP_MIRROR_MISS_SYNC_SECONDS = env_float("SCREENPOP_MIRROR_MISS_SYNC_SECONDS", 5.0)
# Event-log rows and pops older than this many days are deleted (screenpop/retention.py); 0 keeps everything.
SCREENPOP_RETENTION_DAYS = env_int("SCREENPOP_RETENTION_DAYS", 30)
SCREENPOP_RUN_WORKERS = env_bool("SCREENPOP_RUN_WORKERS", True)
SCREENPOP_WEBHOOK_MAX_BYTES = 64 * 1024
# Parallel group commits of the webhook on PostgreSQL (SQLite has one writer: always 1). One in flight did as well as
# two in the ack storm, with less CPU and a tighter tail (docs/performance.md).
SCREENPOP_WEBHOOK_WRITERS = env_int("SCREENPOP_WEBHOOK_WRITERS", 1)
# How long a process remembers a webhook token's client and tenant, and a tenant's queue filters (0: not at all).
SCREENPOP_AUTH_CACHE_SECONDS = env_float("SCREENPOP_AUTH_CACHE_SECONDS", 1.0)
# Wrap-up write-back (screenpop/writeback/): every process looks for due wrap-ups every POLL seconds and writes them
# one at a time for up to ROUND seconds; a wrap-up is leased for LEASE seconds (longer than its few Freshdesk calls
# with their timeouts). Freshdesk failures are retried after RETRY_DELAYS (the last one repeats) until GIVE_UP_HOURS,
# then shown as failed in the admin. The write-back leaves BUDGET_RESERVE of the account's per-minute budget to pops.
SCREENPOP_WRITEBACK_POLL_SECONDS = env_float("SCREENPOP_WRITEBACK_POLL_SECONDS", 1.0)
SCREENPOP_WRITEBACK_ROUND_SECONDS = env_float("SCREENPOP_WRITEBACK_ROUND_SECONDS", 20.0)
SCREENPOP_WRITEBACK_LEASE_SECONDS = env_float("SCREENPOP_WRITEBACK_LEASE_SECONDS", 120.0)
SCREENPOP_WRITEBACK_RETRY_DELAYS = [
    float(x) for x in env_list("SCREENPOP_WRITEBACK_RETRY_DELAYS", ["5", "30", "120", "600", "1800"])
]
SCREENPOP_WRITEBACK_GIVE_UP_HOURS = env_float("SCREENPOP_WRITEBACK_GIVE_UP_HOURS", 24.0)
SCREENPOP_WRITEBACK_BUDGET_RESERVE = env_float("SCREENPOP_WRITEBACK_BUDGET_RESERVE", 0.25)
# After a pop, its result is written on the caller's participant in Genesys (tenants with a sync client only).
SCREENPOP_PARTICIPANT_ATTRIBUTES = env_bool("SCREENPOP_PARTICIPANT_ATTRIBUTES", True)
GENESYS_SIMULATOR_URL = env_str("GENESYS_SIMULATOR_URL", "")
# The install wizard: the app's own Genesys OAuth client (authorization code + PKCE, redirect URI
# <PUBLIC_BASE_URL>/install/callback/) admins log in with, and the premium app's integration type id (a placeholder
# until Genesys approves the app), whose presence in an org's integration types means the org bought the app.
SCREENPOP_INSTALL_CLIENT_ID = env_str("SCREENPOP_INSTALL_CLIENT_ID", "")
SCREENPOP_PREMIUM_INTEGRATION_TYPE = env_str("SCREENPOP_PREMIUM_INTEGRATION_TYPE", "premium-widget-example")
# The demo desktop (/demo/, SCREENPOP_DEV only) creates its tenant against this Freshdesk simulator if none exists.
FRESHDESK_SIMULATOR_URL = env_str("FRESHDESK_SIMULATOR_URL", "")

# /metrics names Freshdesk accounts (breaker state): with a token set, Prometheus must send it as a bearer token;
# in production without one, /metrics is refused.
METRICS_TOKEN = env_str("METRICS_TOKEN", "")

LOG_LEVEL = env_str("LOG_LEVEL", "INFO")
# uvicorn's line per request: off, as `--no-access-log` (genesys_app/serving.py) has it, unless asked for here; this
# configuration would otherwise give the logger back the handler that option took away.
ACCESS_LOG = env_bool("ACCESS_LOG", False)
# One handler, and every logger on it: ours, Django's, uvicorn's (its server log names every WebSocket handshake's
# path and query; its access log every request line when turned on) and the rest through the root. The redacting
# filter is a second guard: no token should reach a log line in the first place (the panel's travels in a header).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "redact": {"()": "screenpop.logging.RedactingFilter"},
        "context": {"()": "screenpop.logging.ContextFilter"},
    },
    "formatters": {
        "plain": {
            "format": "%(asctime)s %(levelname)s %(name)s tenant=%(tenant)s conversation=%(conversation)s %(message)s"
        }
    },
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["redact", "context"]}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {
        "screenpop": {"handlers": ["console"], "level": LOG_LEVEL, "propagate": False},
        "django": {"handlers": ["console"], "level": "WARNING", "propagate": False},
        "uvicorn": {"handlers": ["console"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO", "propagate": True},
        "uvicorn.access": {"handlers": ["console"] if ACCESS_LOG else [], "level": "INFO", "propagate": False},
    },
}

# django-oauth-toolkit's swappable models, named so migrations of ours that point at them resolve.
OAUTH2_PROVIDER_APPLICATION_MODEL = "oauth2_provider.Application"
OAUTH2_PROVIDER_ACCESS_TOKEN_MODEL = "oauth2_provider.AccessToken"
OAUTH2_PROVIDER_REFRESH_TOKEN_MODEL = "oauth2_provider.RefreshToken"
OAUTH2_PROVIDER_ID_TOKEN_MODEL = "oauth2_provider.IDToken"
OAUTH2_PROVIDER_GRANT_MODEL = "oauth2_provider.Grant"
