"""Settings shared by every environment; everything deployment-specific comes from the
environment (CONTRACT.md): DATABASE_URL, REDIS_URL, SECRET_KEY, ALLOWED_HOSTS, DEBUG.

No DATABASE_URL -> a SQLite file; no REDIS_URL -> Celery runs tasks eagerly in-process.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env("SECRET_KEY", default="insecure-dev-key-change-me-0123456789abcdefghijklmnopqrstuvwxyz")
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "import_export",
    # platform apps
    "eldercare.core",
    "eldercare.regions",
    "eldercare.accounts",
    "eldercare.audit",
    "eldercare.sheets",
    "eldercare.workflow",
    # domain apps
    "institutions",
    "contracts",
    "subsidies",
    "assessments",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "eldercare.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "eldercare.core.dataversion.RequestVersionsMiddleware",
    "eldercare.core.middleware.ChineseFirstMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "eldercare.accounts.middleware.IdleTimeoutMiddleware",
    "eldercare.accounts.middleware.AccountPolicyMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # axes must be last
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "eldercare.urls"
WSGI_APPLICATION = "eldercare.wsgi.application"

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
                "eldercare.core.context_processors.portal",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------
(BASE_DIR / "var").mkdir(exist_ok=True)
DATABASES = {
    "default": env.db("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'var' / 'db.sqlite3'}"),
}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("CONN_MAX_AGE", default=60))
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # SQLite: keep connections short-lived and make concurrent dev requests wait, not fail.
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {}).setdefault("timeout", 20)
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "eldercare.accounts.backends.PortalModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 8}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
    {"NAME": "eldercare.accounts.validators.CharacterClassValidator", "OPTIONS": {"min_classes": 3}},
]
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "accounts:login"

# Portal account policy (SECURITY.md; docs/adr/0004-account-policy.md)
PORTAL_PASSWORD_MAX_AGE_DAYS = env.int("PORTAL_PASSWORD_MAX_AGE_DAYS", default=90)
PORTAL_DORMANT_AFTER_DAYS = env.int("PORTAL_DORMANT_AFTER_DAYS", default=90)
PORTAL_IDLE_TIMEOUT_SECONDS = env.int("PORTAL_IDLE_TIMEOUT_SECONDS", default=30 * 60)
PORTAL_OTP_REQUIRED_ROLES = ("admin", "security", "auditor")
PORTAL_OTP_REQUIRED_FOR_ALL = env.bool("PORTAL_OTP_REQUIRED_FOR_ALL", default=False)
PORTAL_IP_FAILURE_LIMIT = env.int("PORTAL_IP_FAILURE_LIMIT", default=20)
PORTAL_API_TOKEN_HOURS = env.int("PORTAL_API_TOKEN_HOURS", default=8)
# Number of reverse proxies in front of the app whose X-Forwarded-For we trust (0: none).
PORTAL_TRUSTED_PROXY_COUNT = env.int("PORTAL_TRUSTED_PROXY_COUNT", default=0)

# django-axes: lock a username after 5 failures from anywhere for 15 minutes. The per-IP
# limit (20 across usernames) is enforced by the portal itself (eldercare.accounts.lockout),
# because a whole township office shares one NAT address.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_CLIENT_IP_CALLABLE = "eldercare.core.net.client_ip"
AXES_USERNAME_CALLABLE = "eldercare.accounts.lockout.axes_username"
AXES_LOCKOUT_CALLABLE = "eldercare.accounts.lockout.lockout_response"
AXES_VERBOSE = False
# axes.W006 asks for 'ip_address' among the lockout parameters; SECURITY.md forbids locking an IP
# at the username threshold (a township office shares one NAT address). The per-IP limit is the
# portal's own, at 20 (eldercare.accounts.lockout); docs/adr/0004-account-policy.md.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]
AXES_ENABLE_ADMIN = False

# Sessions: 30 minutes idle; the middleware slides the expiry at most once a minute.
SESSION_COOKIE_AGE = PORTAL_IDLE_TIMEOUT_SECONDS
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True

# --- I18n -----------------------------------------------------------------------------
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "Asia/Shanghai"
USE_I18N = True
# ISO-first date input formats (eldercare/formats/zh_Hans): <input type="date"> needs yyyy-mm-dd.
FORMAT_MODULE_PATH = ["eldercare.formats"]
USE_TZ = True

# --- Static ---------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.path("STATIC_ROOT", default=str(BASE_DIR / "var" / "staticfiles"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = env.path("MEDIA_ROOT", default=str(BASE_DIR / "var" / "media"))
# Uploads live outside the web root and are never served by URL (SECURITY.md).
PORTAL_UPLOAD_ROOT = env.path("PORTAL_UPLOAD_ROOT", default=str(BASE_DIR / "var" / "uploads"))
# Spreadsheet uploads (批量导入) above this size are refused before anything is parsed.
PORTAL_UPLOAD_MAX_BYTES = env.int("PORTAL_UPLOAD_MAX_MB", default=20) * 1024 * 1024
# Residents' ID numbers (SECURITY.md; subsidies/idcard.py): the encryption key and the lookup-hash
# key. Unset, each is derived from SECRET_KEY — development only; production sets both
# (docs/operations.md "Personal data keys"; rotating one needs `reencrypt_residents`).
PORTAL_ID_ENCRYPTION_KEY = env("PORTAL_ID_ENCRYPTION_KEY", default="")
PORTAL_ID_HASH_KEY = env("PORTAL_ID_HASH_KEY", default="")
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 21 * 1024 * 1024
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# --- Cache ----------------------------------------------------------------------------
REDIS_URL = env("REDIS_URL", default="")
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# Rendered fragments, permission sets and badge counts kept under data versions in the cache
# (eldercare/core/dataversion.py). Needs one cache shared by every server process: on here for
# development and tests (one process), off in production without REDIS_URL.
PORTAL_VERSIONED_CACHE = env.bool("PORTAL_VERSIONED_CACHE", default=True)

# --- Celery ---------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_TASK_TIME_LIMIT = 60 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 55 * 60
# Longer than the longest task, set on broker and result backend alike (SECURITY.md).
_VISIBILITY = {"visibility_timeout": 2 * 60 * 60}
CELERY_BROKER_TRANSPORT_OPTIONS = dict(_VISIBILITY)
# The result backend retries 20 times a second apart by default: with Redis down, a request
# that queues a task waited ~19 s before the outbox took it (tests/faults/test_redis_down.py).
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    **_VISIBILITY,
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.5},
}
CELERY_RESULT_EXPIRES = timedelta(days=1)
# Fail fast into the outbox when Redis is down instead of blocking the request.
CELERY_TASK_PUBLISH_RETRY_POLICY = {
    "max_retries": 1,
    "interval_start": 0,
    "interval_step": 0.2,
    "interval_max": 0.5,
}
CELERY_BROKER_CONNECTION_TIMEOUT = 2
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
# Task modules autodiscovery (`<app>.tasks`) does not find.
CELERY_IMPORTS = ("assessments.township_tasks",)
CELERY_BEAT_SCHEDULE = {
    "disable-dormant-accounts": {
        "task": "eldercare.accounts.tasks.disable_dormant_accounts",
        "schedule": timedelta(hours=24),
    },
    "flush-outbox": {"task": "eldercare.core.tasks.flush_outbox", "schedule": timedelta(minutes=1)},
    "health-check": {"task": "eldercare.core.tasks.health_check", "schedule": timedelta(minutes=15)},
    # Expired sessions (idle expiry, SECURITY.md) are deleted from the database nightly.
    "clear-sessions": {"task": "eldercare.core.tasks.clear_sessions", "schedule": crontab(hour=3, minute=30)},
    "cleanup-uploads": {"task": "sheets.cleanup_uploads", "schedule": timedelta(hours=24)},
    # Uploads holding personal data in clear (the residents roster's ID numbers) live an hour at
    # most while uncommitted (eldercare/sheets/engine.py cleanup_short_lived_uploads).
    "cleanup-short-lived-uploads": {
        "task": "sheets.cleanup_short_lived_uploads",
        "schedule": timedelta(minutes=10),
    },
    # A change dated in the future becomes the current copy on its day (ADR 0007).
    "refresh-current-copies": {
        "task": "institutions.refresh_current_copies",
        "schedule": crontab(hour=0, minute=10),
    },
    # Due-soon and overdue filings, one digest per officer, before the working day (ADR 0010).
    "filing-deadlines": {"task": "workflow.refresh_deadlines", "schedule": crontab(hour=6, minute=30)},
    # Contracts ending within 30 days: both parties' townships and civil affairs are told once.
    "contract-renewals": {"task": "contracts.notify_expiring", "schedule": crontab(hour=6, minute=40)},
    # A contract that began or ended yesterday changes a small home's stored warnings (ADR 0011).
    "contract-warnings": {"task": "contracts.refresh_warnings", "schedule": crontab(hour=0, minute=20)},
    # Townships without a submitted report: 7 and 1 days before the due date, weekly when overdue;
    # the county's officers a weekly overdue summary (assessments/township_reports.py remind).
    "township-report-reminders": {
        "task": "assessments.remind_township_reports",
        "schedule": crontab(hour=7, minute=0),
    },
    # Closed institutions: remaining subsidy installments stopped, paid ones flagged for recovery.
    "subsidies-stop-closed": {
        "task": "subsidies.stop_installments_of_closed",
        "schedule": crontab(hour=1, minute=0),
    },
}

# --- E-mail ---------------------------------------------------------------------------
# Production: EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and the SMTP settings
# below from the environment (docs/operations.md "Configure").
EMAIL_BACKEND = env("EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", default="portal@localhost")
SERVER_EMAIL = env("SERVER_EMAIL", default=DEFAULT_FROM_EMAIL)
EMAIL_HOST = env("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
EMAIL_USE_SSL = env.bool("EMAIL_USE_SSL", default=False)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=10)

# --- DRF ------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "eldercare.accounts.api.auth.VerifiedSessionAuthentication",
        "eldercare.accounts.api.auth.ExpiringTokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["eldercare.core.api.permissions.PortalPermission"],
    "DEFAULT_PAGINATION_CLASS": "eldercare.core.api.pagination.PortalPagination",
    "EXCEPTION_HANDLER": "eldercare.core.api.errors.exception_handler",  # one error shape
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "eldercare.core.api.schema.PortalAutoSchema",  # documents 400/403/404
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    # CONTRACT.md uses ?format=csv|xlsx for exports; DRF's renderer override must not claim it.
    "URL_FORMAT_OVERRIDE": "_format",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "医养结合服务平台 API",
    "DESCRIPTION": "County integrated medical and elderly care portal, API v1 (see CONTRACT.md).",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["eldercare.core.api.permissions.PortalAccessPermission"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "ENUM_NAME_OVERRIDES": {
        "FilingStatusEnum": "eldercare.workflow.machine.STATE_CHOICES",
        "TownshipReportActionEnum": [("submit", "submit"), ("accept", "accept"), ("reopen", "reopen")],
        "WorkflowActionEnum": [
            (a, a) for a in ("submit", "resubmit", "accept", "approve", "reject", "return", "withdraw")
        ],
        "TargetPlanActionEnum": [("create", "create"), ("update", "update"), ("unchanged", "unchanged")],
    },
    "COMPONENT_SPLIT_REQUEST": True,
}

# --- django-import-export (imports go through the portal's engine, SECURITY.md) --------
IMPORT_EXPORT_IMPORT_PERMISSION_CODE = "import"
IMPORT_EXPORT_EXPORT_PERMISSION_CODE = "export"
IMPORT_EXPORT_ESCAPE_FORMULAE_ON_EXPORT = True

# --- Security headers (see production.py for the transport-level ones) -----------------
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
PORTAL_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", default="INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

# --- Target-attainment reports (issue 7, ADR 0013) ------------------------------------
# Changes ask for a recompute of the counties and years they touched, debounced so a burst of
# edits (an import, a morning of approvals) starts one run. Without Redis (make run) the same
# code runs in-process at once.
PORTAL_REPORTS_AUTO_RECOMPUTE = env.bool("PORTAL_REPORTS_AUTO_RECOMPUTE", default=True)
PORTAL_REPORT_DEBOUNCE_SECONDS = env.int("PORTAL_REPORT_DEBOUNCE_SECONDS", default=30)
CELERY_BEAT_SCHEDULE["reports-due-recomputes"] = {
    "task": "assessments.run_due_recomputes",
    "schedule": timedelta(minutes=1),
}
CELERY_BEAT_SCHEDULE["reports-nightly"] = {
    "task": "assessments.nightly_reports",
    "schedule": crontab(hour=2, minute=0),
}
