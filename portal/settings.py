"""Settings for the AI Gateway billing portal, read once from the environment.

Every variable is listed, with its default and meaning, in `.env.example`. Development defaults run
everything embedded (SQLite, a file-system broker, mail written to files); production
(`DJANGO_DEBUG=false`) refuses to start without its secrets.
"""

from decimal import Decimal
from pathlib import Path

import environ
from celery.schedules import schedule
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env", overwrite=False)

DEBUG = env.bool("DJANGO_DEBUG", default=True)
# With DEBUG on, unknown URLs still get the portal's own 404 page unless this asks for Django's technical one.
DEBUG_TECHNICAL_404 = env.bool("DEBUG_TECHNICAL_404", default=False)


def secret(name: str, dev_default: str) -> str:
    """A secret from the environment; in production a missing secret stops the start-up."""
    value = env.str(name, default="")
    if value:
        return value
    if DEBUG:
        return dev_default
    raise ImproperlyConfigured(f"{name} must be set when DJANGO_DEBUG is false.")


SECRET_KEY = secret("DJANGO_SECRET_KEY", "dev-only-insecure-key-do-not-use-in-production-0123456789")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["localhost", "127.0.0.1", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("DJANGO_CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "portal.apps.PortalAdminConfig",  # django.contrib.admin, with a site that demands two-factor
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.humanize",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "axes",
    "csp",
    "ninja",  # the API's docs page from its own static files (without it, ninja loads them from a CDN)
    "billing",
    "portal.apps.PortalConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "portal.input_guard.RefuseNulMiddleware",
    # Every Cloudflare call a request makes ends within CLOUDFLARE_WEB_TIMEOUT (never a Retry-After's sleep).
    "portal.web_deadline.CloudflareDeadlineMiddleware",
    "portal.quiet_errors.PortalNotFoundMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_permissions_policy.PermissionsPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "portal.audit_requests.AuditRequestMiddleware",
    # A session whose person's access was removed since it signed in is signed out (billing/people/).
    "portal.access.AccessGenerationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "portal.two_factor.TwoFactorMiddleware",
    "portal.sudo.SudoMiddleware",
    # Every time on a page is in the signed-in person's own zone, and names it.
    "portal.time_zones.PersonTimeZoneMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a refused log-in into the lock-out page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "portal.urls"
WSGI_APPLICATION = "portal.wsgi.application"

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
                "billing.context_processors.portal",
            ],
        },
    },
    # One hot loop only (the overview's rows, see billing/views/overview.py); every page is a Django template.
    {
        "BACKEND": "django.template.backends.jinja2.Jinja2",
        "DIRS": [BASE_DIR / "templates" / "jinja2"],
        "APP_DIRS": False,
        "OPTIONS": {"autoescape": True, "environment": "portal.jinja2.environment"},
    },
]

# --- Database -----------------------------------------------------------------------------------
DATABASES = {"default": env.db("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'portal.sqlite3'}")}
DATABASES["default"].setdefault("CONN_MAX_AGE", env.int("DATABASE_CONN_MAX_AGE", default=60))
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a real Celery worker started by the tests sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / "test.sqlite3")}
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 20,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth ---------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "overview"
LOGOUT_REDIRECT_URL = "login"
AUTHENTICATION_BACKENDS = [
    # First, as django-axes asks: refuses locked usernames before any password is checked.
    "axes.backends.AxesStandaloneBackend",
    # Passwords, refused to all but superusers (break-glass) when SSO_ONLY is on.
    "portal.sso.PasswordBackend",
    # The OpenID Connect callback (answers nothing while single sign-on is off).
    "portal.sso.ProviderBackend",
]
# Failed log-ins (portal and admin alike) that lock a username, and how long the lock lasts, in seconds.
LOGIN_MAX_FAILURES = env.int("LOGIN_MAX_FAILURES", default=5)
LOGIN_FAILURE_WINDOW_SECONDS = env.int("LOGIN_FAILURE_WINDOW_SECONDS", default=900)
# django-axes, on the database (shared by every worker, SQLite or PostgreSQL, visible in the admin).
# Counted per username and per (username, address), never per address alone: behind a proxy everyone
# shares one address. The limits are read from the two settings above at each attempt.
AXES_HANDLER = "axes.handlers.database.AxesDatabaseHandler"
AXES_LOCKOUT_PARAMETERS = ["username", ["username", "ip_address"]]
AXES_FAILURE_LIMIT = "portal.signin.failure_limit"
AXES_COOLOFF_TIME = "portal.signin.cool_off"
AXES_LOCKOUT_CALLABLE = "portal.signin.lockout_response"
AXES_USERNAME_CALLABLE = "portal.signin.username_tried"
# A lock lasts the cool-off from the failure that caused it; refused attempts while locked do not extend it.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_RESET_ON_SUCCESS = True
# Successful log-ins are not logged by axes (that table would only grow); lock-outs go to the audit log.
AXES_DISABLE_ACCESS_LOG = True
# Two-factor sign-in (TOTP with recovery codes) is required of superusers, staff and account managers and
# admins when on; anyone may turn it on for themselves. On by default in production.
REQUIRE_2FA = env.bool("REQUIRE_2FA", default=not DEBUG)
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", default="AI Gateway billing")
# Seconds that turning two-factor off, new recovery codes, channel secrets (and role changes) stay allowed
# after the password and a current code were asked for again (portal/sudo.py).
SUDO_WINDOW_SECONDS = env.int("SUDO_WINDOW_SECONDS", default=300)

# --- Single sign-on (OpenID Connect, mozilla-django-oidc; portal/sso.py): its own module ---------
from portal.settings_sso import *  # noqa: E402, F403
from portal.settings_sso import SSO_FORM_TARGETS  # noqa: E402

# --- Locale and time ----------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TIME_ZONE", default="UTC")
USE_I18N = True
USE_TZ = True
USE_THOUSAND_SEPARATOR = False

# --- Static files -------------------------------------------------------------------------------
STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = BASE_DIR / "staticfiles"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Caches (rate limits, login throttling, cached figures) -------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        # Files, not memory, so that every web worker on the machine shares the log-in throttle.
        else {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    )
}

# --- Security (secure by default once DEBUG is off) ---------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("DJANGO_SECURE_SSL_REDIRECT", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("DJANGO_SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", default=not DEBUG)
SECURE_HSTS_PRELOAD = env.bool("DJANGO_SECURE_HSTS_PRELOAD", default=not DEBUG)
SESSION_COOKIE_SECURE = env.bool("DJANGO_SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("DJANGO_CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = env.int("DJANGO_SESSION_COOKIE_AGE", default=60 * 60 * 12)
# Pages carry no inline script or style: everything they run or style comes from static/. Charts are inline
# SVG elements (no data: URIs), the favicon is a static file.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        # Sign-out's form is answered with a redirect to the identity provider's end_session_endpoint.
        "form-action": [SELF, *SSO_FORM_TARGETS],
        "frame-ancestors": [NONE],
    }
}
# No page needs a device or a payment API of the browser: deny them all, also to anything framed.
PERMISSIONS_POLICY: dict[str, list[str]] = {
    feature: []
    for feature in (
        "accelerometer",
        "autoplay",
        "camera",
        "display-capture",
        "encrypted-media",
        "fullscreen",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
}

# --- Celery -------------------------------------------------------------------------------------
CELERY_BROKER_DIR = Path(env.str("CELERY_BROKER_DIR", default=str(VAR_DIR / "broker")))
CELERY_BROKER_URL = env.str("CELERY_BROKER_URL", default=REDIS_URL or "filesystem://")
if CELERY_BROKER_URL.startswith("filesystem://"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        # Producer and consumer share one folder: the file-system transport moves files between them.
        "data_folder_in": str(CELERY_BROKER_DIR / "queue"),
        "data_folder_out": str(CELERY_BROKER_DIR / "queue"),
        "processed_folder": str(CELERY_BROKER_DIR / "processed"),
        "store_processed": False,
        # The exchange table (bindings): kombu's default is `control/` in the working directory.
        "control_folder": str(CELERY_BROKER_DIR / "control"),
    }
    # kombu's file-system transport expects its folders to exist already.
    for folder in ("queue", "processed", "control"):
        (CELERY_BROKER_DIR / folder).mkdir(parents=True, exist_ok=True)
else:
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}
CELERY_RESULT_BACKEND = env.str("CELERY_RESULT_BACKEND", default="") or None
CELERY_TASK_IGNORE_RESULT = CELERY_RESULT_BACKEND is None
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_SOFT_TIME_LIMIT = env.int("CELERY_TASK_SOFT_TIME_LIMIT", default=240)
CELERY_TASK_TIME_LIMIT = env.int("CELERY_TASK_TIME_LIMIT", default=300)
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=False)
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_TASK_DEFAULT_QUEUE", default="celery")

# Job intervals, in seconds.
SYNC_BALANCE_INTERVAL = env.int("SYNC_BALANCE_INTERVAL", default=300)
SYNC_USAGE_INTERVAL = env.int("SYNC_USAGE_INTERVAL", default=3600)
SYNC_INVOICES_INTERVAL = env.int("SYNC_INVOICES_INTERVAL", default=6 * 3600)
SYNC_TOPUPS_INTERVAL = env.int("SYNC_TOPUPS_INTERVAL", default=30)
RETENTION_INTERVAL = env.int("RETENTION_INTERVAL", default=24 * 3600)
ALERTS_INTERVAL = env.int("ALERTS_INTERVAL", default=300)
OUTBOX_INTERVAL = env.int("OUTBOX_INTERVAL", default=30)
# The usage sweep runs every SYNC_USAGE_INTERVAL / SYNC_USAGE_SLICES seconds over one slice of the accounts
# (pk modulo the slices), so each account is synced once per interval without one burst of every account.
SYNC_USAGE_SLICES = env.int("SYNC_USAGE_SLICES", default=12)
# The invoice sweep likewise: every SYNC_INVOICES_INTERVAL / SYNC_INVOICES_SLICES seconds, one slice.
SYNC_INVOICES_SLICES = env.int("SYNC_INVOICES_SLICES", default=72)
# The invoices job follows Cloudflare's pages of each invoice type up to this many pages (50 invoices each).
SYNC_INVOICES_MAX_PAGES = env.int("SYNC_INVOICES_MAX_PAGES", default=20)
if SYNC_INVOICES_MAX_PAGES < 1:
    raise ImproperlyConfigured("SYNC_INVOICES_MAX_PAGES must be at least 1")
# A beat sweep sends its chunks spread over this fraction of its slot (chunk i after i / chunks of it), so its
# requests reach Cloudflare at an even pace instead of in one burst (0: all at once).
SYNC_SWEEP_SPREAD = env.float("SYNC_SWEEP_SPREAD", default=0.8)
# A healthy account (no open alert, auto top-up not failing, runway over this many days) has its balance
# fetched every SYNC_BALANCE_HEALTHY_EVERY balance sweeps; the others every sweep.
SYNC_BALANCE_HEALTHY_EVERY = env.int("SYNC_BALANCE_HEALTHY_EVERY", default=2)
SYNC_BALANCE_HEALTHY_RUNWAY_DAYS = env.int("SYNC_BALANCE_HEALTHY_RUNWAY_DAYS", default=3)
DIGEST_INTERVAL = env.int("DIGEST_INTERVAL", default=900)


def _slice_seconds(interval: int, slices: int) -> int:
    """How often beat sends a sliced sweep (as billing.sync.slots.slot_interval works it out)."""
    return max(1, interval // max(1, min(slices, interval)))


CELERY_BEAT_SCHEDULE = {
    "sync-balances": {"task": "billing.tasks.sync_balances", "schedule": schedule(SYNC_BALANCE_INTERVAL)},
    "sync-usage": {
        "task": "billing.tasks.sync_usage",
        "schedule": schedule(_slice_seconds(SYNC_USAGE_INTERVAL, SYNC_USAGE_SLICES)),
    },
    "sync-invoices": {
        "task": "billing.tasks.sync_invoices",
        "schedule": schedule(_slice_seconds(SYNC_INVOICES_INTERVAL, SYNC_INVOICES_SLICES)),
    },
    "poll-pending-topups": {
        "task": "billing.tasks.poll_pending_topups",
        "schedule": schedule(SYNC_TOPUPS_INTERVAL),
    },
    "apply-retention": {"task": "billing.tasks.apply_retention", "schedule": schedule(RETENTION_INTERVAL)},
    "evaluate-alerts": {"task": "billing.tasks.evaluate_alerts", "schedule": schedule(ALERTS_INTERVAL)},
    "send-outbox": {"task": "billing.tasks.send_outbox", "schedule": schedule(OUTBOX_INTERVAL)},
    "send-digests": {"task": "billing.tasks.send_digests", "schedule": schedule(DIGEST_INTERVAL)},
}

# --- Cloudflare ---------------------------------------------------------------------------------
CLOUDFLARE_API_BASE_URL = env.str("CLOUDFLARE_API_BASE_URL", default="https://api.cloudflare.com/client/v4")
CLOUDFLARE_API_TOKEN = env.str("CLOUDFLARE_API_TOKEN", default="")
# Accounts created on start-up: "id" or "id=Display name", comma separated.
CLOUDFLARE_ACCOUNT_IDS = env.list("CLOUDFLARE_ACCOUNT_IDS", default=[])
CLOUDFLARE_BALANCE_UNIT = env.str("CLOUDFLARE_BALANCE_UNIT", default="cents")
if CLOUDFLARE_BALANCE_UNIT not in ("cents", "dollars"):
    raise ImproperlyConfigured("CLOUDFLARE_BALANCE_UNIT must be 'cents' or 'dollars'.")
CLOUDFLARE_CONNECT_TIMEOUT = env.float("CLOUDFLARE_CONNECT_TIMEOUT", default=5.0)
CLOUDFLARE_READ_TIMEOUT = env.float("CLOUDFLARE_READ_TIMEOUT", default=30.0)
CLOUDFLARE_MAX_RETRIES = env.int("CLOUDFLARE_MAX_RETRIES", default=2)
# What a web request may wait on Cloudflare, all its calls together (portal.web_deadline): one attempt each,
# no Retry-After slept through; a lost answer is "we don't know yet". Well inside gunicorn's --timeout (60 s).
CLOUDFLARE_WEB_TIMEOUT = env.float("CLOUDFLARE_WEB_TIMEOUT", default=10.0)
# Requests allowed per token per period, shared by every process through Redis when REDIS_URL is set.
CLOUDFLARE_RATE_LIMIT = env.int("CLOUDFLARE_RATE_LIMIT", default=1200)
CLOUDFLARE_RATE_PERIOD = env.int("CLOUDFLARE_RATE_PERIOD", default=300)
# GraphQL analytics queries per token per period: Cloudflare's own quota, counted apart from the above.
CLOUDFLARE_GRAPHQL_RATE_LIMIT = env.int("CLOUDFLARE_GRAPHQL_RATE_LIMIT", default=300)
CLOUDFLARE_GRAPHQL_RATE_PERIOD = env.int("CLOUDFLARE_GRAPHQL_RATE_PERIOD", default=300)
CLOUDFLARE_DASHBOARD_URL = env.str("CLOUDFLARE_DASHBOARD_URL", default="https://dash.cloudflare.com/")
# Fernet keys (comma separated, newest first) that encrypt per-account API tokens at rest.
TOKEN_ENCRYPTION_KEYS = env.list("TOKEN_ENCRYPTION_KEYS", default=[])
if not TOKEN_ENCRYPTION_KEYS:
    # Never derived from SECRET_KEY: that key must be free to rotate without losing stored tokens.
    TOKEN_ENCRYPTION_KEYS = [secret("TOKEN_ENCRYPTION_KEYS", "ZGV2LW9ubHktdG9rZW4ta2V5LW5vdC1mb3ItcHJvZDA=")]

# --- Money-moving rules -------------------------------------------------------------------------
TOPUP_FEE_PERCENT = Decimal(env.str("TOPUP_FEE_PERCENT", default="5"))
# Hours after a UTC day ends before its ledger settles: a shortfall still there then does not balance.
LEDGER_SETTLE_HOURS = env.int("LEDGER_SETTLE_HOURS", default=36)
TOPUP_MAX_DOLLARS = Decimal(env.str("TOPUP_MAX_DOLLARS", default="10000"))
# The largest spending limit the portal sends; a limit beyond it is a typo, not a budget.
SPENDING_LIMIT_MAX_DOLLARS = Decimal(env.str("SPENDING_LIMIT_MAX_DOLLARS", default="100000"))
TOPUP_UNKNOWN_AFTER_MINUTES = env.int("TOPUP_UNKNOWN_AFTER_MINUTES", default=30)
# The largest budget, in dollars, the portal lets a person set on one gateway spend-limit rule.
GATEWAY_RULE_MAX_DOLLARS = Decimal(env.str("GATEWAY_RULE_MAX_DOLLARS", default="100000"))

# --- History ------------------------------------------------------------------------------------
USAGE_BACKFILL_DAYS = env.int("USAGE_BACKFILL_DAYS", default=90)
USAGE_BACKFILL_HOURS_DAYS = env.int("USAGE_BACKFILL_HOURS_DAYS", default=14)
STALE_AFTER_MINUTES = env.int("STALE_AFTER_MINUTES", default=15)
# Hours of the hour window fetched again on every usage sync, so that late data is corrected.
USAGE_HOUR_OVERLAP_HOURS = env.int("USAGE_HOUR_OVERLAP_HOURS", default=3)
# The balance sweep fetches an account's spending limit only when its row is older than this: one call per
# account per sweep keeps 1,000 accounts every 5 minutes inside 1,200 requests per 5 minutes per token.
SPENDING_LIMIT_REFRESH_SECONDS = env.int("SPENDING_LIMIT_REFRESH_SECONDS", default=3600)
# The usage job re-reads an account's gateways and spend-limit rules only when its copy is older than this.
GATEWAYS_REFRESH_SECONDS = env.int("GATEWAYS_REFRESH_SECONDS", default=3600)
# Days of hourly spend by gateway, model and provider read on the first sync and kept (days: 13 months).
GATEWAY_SPEND_BACKFILL_DAYS = env.int("GATEWAY_SPEND_BACKFILL_DAYS", default=14)
# Hours of gateway spend read again on every usage sync (analytics lag a few minutes).
GATEWAY_SPEND_OVERLAP_HOURS = env.int("GATEWAY_SPEND_OVERLAP_HOURS", default=3)
# A sweep is split into tasks of this many accounts; each task syncs its accounts on this many threads.
SYNC_CHUNK_SIZE = env.int("SYNC_CHUNK_SIZE", default=50)
SYNC_THREADS = env.int("SYNC_THREADS", default=8)
# A running (job, account) lock older than this belonged to a worker that died: it is taken over.
# Longer than the task hard time limit, so a live run's lock is never taken.
SYNC_LOCK_TIMEOUT_SECONDS = env.int("SYNC_LOCK_TIMEOUT_SECONDS", default=CELERY_TASK_TIME_LIMIT + 60)
# Finished sync runs older than this are deleted by the retention job (the last success per job is kept).
SYNC_RUN_RETENTION_DAYS = env.int("SYNC_RUN_RETENTION_DAYS", default=30)

# --- Email and alerts: their own module ---------------------------------------------------------
from portal.settings_email import *  # noqa: E402, F403

# --- The read-only API (/api/v1/) ----------------------------------------------------------------
# Requests one personal access token may make per minute; more answer 429 with Retry-After.
API_RATE_LIMIT_PER_MINUTE = env.int("API_RATE_LIMIT_PER_MINUTE", default=120)
# The longest life a person may give a token, in days.
API_TOKEN_MAX_DAYS = env.int("API_TOKEN_MAX_DAYS", default=365)
if API_RATE_LIMIT_PER_MINUTE < 1 or API_TOKEN_MAX_DAYS < 1:
    raise ImproperlyConfigured("API_RATE_LIMIT_PER_MINUTE and API_TOKEN_MAX_DAYS must be at least 1")

# --- Metrics ------------------------------------------------------------------------------------
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")

# --- Logging: plain lines to stderr; tokens are redacted where they could appear ----------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "filters": {"one_line_refusals": {"()": "portal.quiet_errors.OneLineForRefusals"}},
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain", "filters": ["one_line_refusals"]}
    },
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
    "loggers": {
        "django.db.backends": {"level": "WARNING"},
        # Django's own console handler would print a refused request's traceback again: one handler, ours.
        "django": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # django-axes logs every successful sign-in at INFO; lock-outs (WARNING) and the audit log remain.
        "axes": {"level": "WARNING"},
    },
}
