"""Huoyan settings, read from the environment (django-environ).

The embedded default (no environment at all) is SQLite with no Redis, so a first look needs
nothing installed. Production sets DATABASE_URL (PostgreSQL) and CELERY_BROKER_URL (Redis).
"""

from pathlib import Path

import environ

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env(
    DEBUG=(bool, False),
    ALLOWED_HOSTS=(list, ["localhost", "127.0.0.1", "[::1]", "testserver"]),
)
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env("DEBUG")
# The fallback key only ever serves the embedded demo; production must set SECRET_KEY.
SECRET_KEY = env("SECRET_KEY", default="huoyan-insecure-embedded-default-key-change-me")
ALLOWED_HOSTS = env("ALLOWED_HOSTS")

INSTALLED_APPS = [
    # Django's admin with a site that asks for the second factor (accounts.admin_site).
    "accounts.admin_apps.HuoyanAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "csp",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "accounts",
    "audit",
    "alerts",
    "workflow",
    "cases",
    "screening",
    "assessment",
    "web",
    "demo",
    "ops",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Serves static files (Swagger UI, screens' assets) without a separate web server.
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    # Pushes the inactivity expiry back at most every few minutes, instead of a write per request.
    "web.middleware.SessionRefreshMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks request.user verified when the session's login passed the TOTP code.
    "django_otp.middleware.OTPMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes requires: it turns a lockout into a clear refusal.
    "axes.middleware.AxesMiddleware",
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
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "web.access.navigation",
                "web.context_processors.inbox",
            ],
        },
    },
]

DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}")}
DATABASES["default"].setdefault("ATOMIC_REQUESTS", False)
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # The embedded default: wait on a busy database instead of failing at once.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
    # Covering-index columns (INCLUDE) are a PostgreSQL read optimisation; SQLite ignores them.
    SILENCED_SYSTEM_CHECKS = ["models.W040"]
else:
    # Persistent connections (checked before reuse) instead of a new one per request.
    DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
    DATABASES["default"].setdefault("CONN_HEALTH_CHECKS", True)
    # The app's queries are short: PostgreSQL's JIT spends longer compiling them than running
    # them (6 s of a 15 s dashboard before the rollups). Reports in psql keep it.
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = (options.get("options", "") + " -c jit=off").strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
# Checked wherever a person chooses a password (password change, admin); the demo seed sets
# its password directly. The last entry only revokes API tokens when a password changes.
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": env.int("HUOYAN_PASSWORD_MIN_LENGTH", default=10)}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "accounts.tokens.RevokeTokensOnPasswordChange"},
]
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/accounts/login/"
AUTHENTICATION_BACKENDS = [
    # First, so a locked-out user/IP is refused before the password is even checked.
    "accounts.backends.LockoutBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# ----- security -----
# Login guessing: lock a username+IP pair after 5 failures for 30 minutes; an administrator
# can unlock earlier (admin "Access attempts", or `manage.py axes_reset_username NAME`).
# Optional TOTP two-factor login for leaders and admins (accounts/two_factor.py).
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", default="Huoyan")
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = env.float("AXES_COOLOFF_HOURS", default=0.5)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False
# Sessions end after 30 minutes without activity; login always starts a new session (Django
# rotates the session key on login).
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", default=30 * 60)
# Sliding expiry: web.middleware.SessionRefreshMiddleware saves the session (and so pushes its
# expiry back) at most every SESSION_REFRESH_SECONDS, not on every request.
SESSION_SAVE_EVERY_REQUEST = False
SESSION_REFRESH_SECONDS = env.int("SESSION_REFRESH_SECONDS", default=min(300, SESSION_COOKIE_AGE // 6))
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
# Behind HTTPS (production) set HUOYAN_HTTPS=true: secure cookies, HSTS, redirect to https.
HTTPS = env.bool("HUOYAN_HTTPS", default=False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = HTTPS
SECURE_SSL_REDIRECT = HTTPS
SECURE_HSTS_SECONDS = 31536000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
if env.bool("HUOYAN_BEHIND_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        # No inline scripts anywhere: every script is a file served by the app.
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
    }
}

LANGUAGE_CODE = env("LANGUAGE_CODE", default="zh-hans")
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = env("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"] if (BASE_DIR / "static").is_dir() else []
# Serve straight from the apps' static folders too, so the embedded default needs no collectstatic.
WHITENOISE_USE_FINDERS = True
# Evidence and datasets live outside the web root and are served only by permission-checked views.
MEDIA_ROOT = env("MEDIA_ROOT", default=str(BASE_DIR / "media"))

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        # Expiring API tokens of people (accounts.tokens); source systems use Api-Key on the
        # intake and dataset-rows endpoints only.
        "api.auth.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_PARSER_CLASSES": [
        "api.parsers.SafeJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PAGINATION_CLASS": "api.pagination.Pagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "api.errors.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    # The client address for throttles is REMOTE_ADDR, or behind our proxy the address it
    # appended to X-Forwarded-For: a header the client writes itself is never trusted.
    "NUM_PROXIES": 1 if env.bool("HUOYAN_BEHIND_PROXY", default=False) else 0,
}

# API tokens of people expire after this many hours without use (each use moves it on).
HUOYAN_API_TOKEN_TTL_HOURS = env.float("HUOYAN_API_TOKEN_TTL_HOURS", default=8.0)
# Per-request limits (api/throttles.py), counted in Django's cache: token requests per
# address, API-key requests per source system, wrong API keys per address.
HUOYAN_THROTTLE_RATES = {
    "auth_token": env("HUOYAN_THROTTLE_AUTH_TOKEN", default="20/min"),
    "api_key": env("HUOYAN_THROTTLE_API_KEY", default="600/min"),
    "api_key_failures": env("HUOYAN_THROTTLE_API_KEY_FAILURES", default="20/hour"),
}
# The cache holds the throttles' counters: one Redis for all workers in production
# (CACHE_URL=redis://…/1); the embedded default is per process.
CACHES = {"default": env.cache("CACHE_URL", default="locmemcache://")}

SPECTACULAR_SETTINGS = {
    "TITLE": "Huoyan API",
    "DESCRIPTION": "Closed-loop supervision alerts: intake, lifecycle, timeline and statistics.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Swagger UI assets come from drf-spectacular-sidecar so the docs work offline.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    "ENUM_NAME_OVERRIDES": {
        "AlertStatusEnum": "alerts.states.Status",
        "ActionKindEnum": "alerts.states.ActionKind",
        "ScreeningModelStatusEnum": "screening.models.ModelStatus",
        "ScreeningRunStatusEnum": "screening.models.RunStatus",
        # Sending back (evaluation) and reopening (re-check) name the same earlier stages.
        "EarlierStageEnum": "alerts.states.SEND_BACK_CHOICES",
        "ReportScheduleEnum": "assessment.models.AnalysisReport.Schedule",
        "ScreeningScheduleEnum": "screening.models.Schedule",
    },
}

CELERY_BROKER_URL = env("CELERY_BROKER_URL", default="")
REDIS_REQUIRED = env.bool("HUOYAN_REQUIRE_SERVICES", default=False)

# ----- Deadlines, escalation, notifications, Celery (workflow; see docs/deadlines.md) -----
HUOYAN_CALENDAR_TZ = "Asia/Shanghai"
# Yellow starts this many hours before a deadline, unless the stage's policy says otherwise.
HUOYAN_DEADLINE_WARNING_HOURS = env.int("HUOYAN_DEADLINE_WARNING_HOURS", default=24)
# The escalation ladder: hours after the deadline at which step 1 (reminder to the assignee),
# step 2 (yellow card to the unit supervisor) and step 3 (督办 red card, leader notified,
# alert flagged supervised) are recorded while the alert stays in the stage.
HUOYAN_ESCALATION_AFTER_HOURS = env.list("HUOYAN_ESCALATION_AFTER_HOURS", cast=float, default=[0, 24, 72])
# Working days after a reply's due date at which each rung of its reminder ladder is reached:
# reminder to the issuer, yellow card to the unit's supervisors, 督办 red card to its leaders.
HUOYAN_ORDER_REMINDER_WORKING_DAYS = env.list("HUOYAN_ORDER_REMINDER_WORKING_DAYS", cast=int, default=[1, 3, 5])
# Rows claimed per sweep transaction.
HUOYAN_SWEEP_BATCH = env.int("HUOYAN_SWEEP_BATCH", default=500)
# Outbox: a delivery the after-commit task has not sent is retried by the sweep after this many
# seconds, then with exponential backoff, up to HUOYAN_DELIVERY_MAX_ATTEMPTS attempts.
HUOYAN_DELIVERY_GRACE_SECONDS = env.int("HUOYAN_DELIVERY_GRACE_SECONDS", default=60)
HUOYAN_DELIVERY_MAX_ATTEMPTS = env.int("HUOYAN_DELIVERY_MAX_ATTEMPTS", default=8)
HUOYAN_WEBHOOK_TIMEOUT_SECONDS = env.float("HUOYAN_WEBHOOK_TIMEOUT_SECONDS", default=5.0)
# Webhooks go to https addresses on the public internet only (core/outbound.py). Plain http and
# receiving systems on the office network must be allowed explicitly (networks as CIDR).
HUOYAN_WEBHOOK_ALLOW_HTTP = env.bool("HUOYAN_WEBHOOK_ALLOW_HTTP", default=False)
HUOYAN_WEBHOOK_ALLOWED_NETWORKS = env.list("HUOYAN_WEBHOOK_ALLOWED_NETWORKS", default=[])
# Unit-level escalation (docs/assessment.md): a unit with at least this share of its open alerts
# overdue, and at least this many overdue, gets a supervision notice once per crossing.
HUOYAN_UNIT_ESCALATION_SHARE = env.float("HUOYAN_UNIT_ESCALATION_SHARE", default=0.2)
HUOYAN_UNIT_ESCALATION_MIN_OVERDUE = env.int("HUOYAN_UNIT_ESCALATION_MIN_OVERDUE", default=5)
# Domains the "四风 periodic analysis" report preset covers.
HUOYAN_FOUR_WINDS_DOMAINS = env.list("HUOYAN_FOUR_WINDS_DOMAINS", default=["four_winds"])

EMAIL_BACKEND = env(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend" if not CELERY_BROKER_URL
    else "django.core.mail.backends.smtp.EmailBackend",
)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="huoyan@localhost")

# Without a broker (the embedded default) tasks run in-process; `manage.py run_sweeper` sweeps.
CELERY_TASK_ALWAYS_EAGER = not CELERY_BROKER_URL
CELERY_TASK_EAGER_PROPAGATES = False
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_ACKS_LATE = True  # tasks are idempotent: a redelivered one finds its work done
CELERY_TASK_REJECT_ON_WORKER_LOST = True  # a killed worker's task goes back to the queue
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TASK_IGNORE_RESULT = True
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Unacknowledged tasks of a dead worker come back after this long (Redis transport).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600),
    "unacked_restore_interval": env.int("CELERY_UNACKED_RESTORE_INTERVAL", default=10),
    "unacked_restore_throttle": env.int("CELERY_UNACKED_RESTORE_THROTTLE", default=10),
    "socket_connect_timeout": 2,
    "socket_timeout": 5,
}
CELERY_BEAT_SCHEDULE = {
    "sweep-deadlines": {
        "task": "workflow.tasks.sweep_deadlines",
        "schedule": env.float("HUOYAN_SWEEP_EVERY_SECONDS", default=60.0),
        # A sweep nobody ran within a minute is superseded by the next one.
        "options": {"expires": 55},
    },
    # Scheduled screening models (daily / weekly embedded indicators) whose time has come.
    # Unit-level escalation and scheduled analysis reports (the assessment app).
    "assessment-unit-escalations": {
        "task": "assessment.unit_escalations",
        "schedule": env.float("HUOYAN_SWEEP_EVERY_SECONDS", default=60.0),
        "options": {"expires": 55},
    },
    "assessment-scheduled-reports": {
        "task": "assessment.reports_due",
        "schedule": 3600.0,
        "options": {"expires": 3500},
    },
    # Background exports: expired files deleted, interrupted jobs marked failed, lost ones requeued.
    "export-jobs-sweep": {
        "task": "workflow.export_jobs_sweep",
        "schedule": env.float("HUOYAN_SWEEP_EVERY_SECONDS", default=60.0),
        "options": {"expires": 55},
    },
    "screening-scheduled-runs": {
        "task": "screening.run_due_scheduled_models",
        "schedule": env.float("HUOYAN_SCHEDULED_RUNS_EVERY_SECONDS", default=300.0),
        "options": {"expires": 290},
    },
}

# Alert exports (workflow/exports.py, workflow/export_jobs.py): an export of more rows than this
# is written by the worker (a thread of the web process on the embedded default) with a progress
# page and a download link; smaller ones download at once. The file is kept this many hours.
HUOYAN_EXPORT_BACKGROUND_ROWS = env.int("HUOYAN_EXPORT_BACKGROUND_ROWS", default=20_000)
HUOYAN_EXPORT_KEEP_HOURS = env.float("HUOYAN_EXPORT_KEEP_HOURS", default=72.0)
# A running export whose progress has not moved for this long is marked failed (worker lost).
HUOYAN_EXPORT_STALE_MINUTES = env.float("HUOYAN_EXPORT_STALE_MINUTES", default=15.0)
HUOYAN_EXPORT_TIME_LIMIT_SECONDS = env.int("HUOYAN_EXPORT_TIME_LIMIT_SECONDS", default=1800)

# Upload limits for findings' evidence.
HUOYAN_EVIDENCE_MAX_BYTES = env.int("HUOYAN_EVIDENCE_MAX_BYTES", default=20 * 1024 * 1024)
HUOYAN_INTAKE_MAX_BATCH = 1000
# Seconds a process keeps the source system it found by an API key's prefix (alerts/sources.py);
# the key's hash is still compared on every request. A deactivated or rotated key stops working
# in every process within this time (at once in the process that saved the change). 0: off.
HUOYAN_API_KEY_CACHE_SECONDS = env.float("HUOYAN_API_KEY_CACHE_SECONDS", default=5.0)

# Untrusted work is bounded (docs/screening.md, "Limits"). Uploads: a row cap and, for XLSX, a cap
# on the unpacked size, both checked before the file is parsed; a file with more rows than
# HUOYAN_DATASET_INLINE_ROWS is imported by the worker while the screen shows its progress.
HUOYAN_DATASET_MAX_ROWS = env.int("HUOYAN_DATASET_MAX_ROWS", default=2_000_000)
HUOYAN_XLSX_MAX_UNPACKED_BYTES = env.int("HUOYAN_XLSX_MAX_UNPACKED_BYTES", default=256 * 1024 * 1024)
HUOYAN_DATASET_INLINE_ROWS = env.int("HUOYAN_DATASET_INLINE_ROWS", default=50_000)
# DuckDB limits of a factory preview (in the web request, on a sample) and of a model run (in the
# worker). A query over a limit stops and says which one; timeouts interrupt the running statement.
HUOYAN_SCREENING_LIMITS = {
    "preview": {
        "timeout_seconds": env.float("HUOYAN_PREVIEW_TIMEOUT_SECONDS", default=10.0),
        "memory_limit": env("HUOYAN_PREVIEW_MEMORY_LIMIT", default="512MB"),
        "threads": env.int("HUOYAN_PREVIEW_THREADS", default=1),
        "max_join_rows": env.int("HUOYAN_PREVIEW_MAX_JOIN_ROWS", default=1_000_000),
        "max_rows": 1_000,
        "sample_rows": env.int("HUOYAN_PREVIEW_SAMPLE_ROWS", default=10_000),
    },
    "run": {
        "timeout_seconds": env.float("HUOYAN_RUN_TIMEOUT_SECONDS", default=200.0),  # below the task's soft limit
        "memory_limit": env("HUOYAN_RUN_MEMORY_LIMIT", default="512MB"),  # past it, spill to disk
        "threads": env.int("HUOYAN_RUN_THREADS", default=2),
        "max_join_rows": env.int("HUOYAN_RUN_MAX_JOIN_ROWS", default=20_000_000),
        "max_rows": 100_000,
        "sample_rows": None,
    },
}
# The most hits one model run may raise; a rule finding more fails, before any evidence is collected,
# with a message asking to tighten it.
HUOYAN_SCREENING_MAX_HITS = env.int("HUOYAN_SCREENING_MAX_HITS", default=50_000)
# DuckDB's memory and threads while an upload becomes a dataset (worker or request); past the
# memory limit it spills into the import's own work directory.
HUOYAN_IMPORT_LIMITS = {
    "memory_limit": env("HUOYAN_IMPORT_MEMORY_LIMIT", default="512MB"),
    "threads": env.int("HUOYAN_IMPORT_THREADS", default=2),
}
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=10 * 1024 * 1024)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
HUOYAN_INTAKE_MAX_DETAILS_CHARS = env.int("HUOYAN_INTAKE_MAX_DETAILS_CHARS", default=200_000)
