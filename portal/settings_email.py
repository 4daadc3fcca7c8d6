"""Settings of email and alerts (the mail backend, Slack and webhook deliveries, digests, invitations, the
dead man's ping), read from the environment like the rest of `portal.settings`, which imports them. Every
variable is in `.env.example`."""

from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

env = environ.Env()  # portal.settings has read .env into the environment before importing this module
DEBUG = env.bool("DJANGO_DEBUG", default=True)  # as portal.settings reads it
MAIL_DIR = Path(__file__).resolve().parent.parent / "var" / "mail"
EMAIL_CONFIG = env.email_url("EMAIL_URL", default="filemail://")
globals().update(EMAIL_CONFIG)
if EMAIL_CONFIG["EMAIL_BACKEND"].endswith("filebased.EmailBackend") and not EMAIL_CONFIG.get(
    "EMAIL_FILE_PATH"
):
    EMAIL_FILE_PATH = str(MAIL_DIR)
EMAIL_TIMEOUT = env.int("EMAIL_TIMEOUT", default=20)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="AI Gateway billing <billing@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
ALERT_OPERATOR_EMAILS = env.list("ALERT_OPERATOR_EMAILS", default=[])
# While the watchdog's portal-wide alert (background jobs stalled) stays open, a reminder this often; 0: off.
PORTAL_ALERT_REMINDER_HOURS = env.float("PORTAL_ALERT_REMINDER_HOURS", default=4.0)
PORTAL_BASE_URL = env.str("PORTAL_BASE_URL", default="http://127.0.0.1:8000").rstrip("/")
# Hours an emailed invitation link stays valid (it is single-use either way).
INVITATION_VALID_HOURS = env.int("INVITATION_VALID_HOURS", default=72)
if INVITATION_VALID_HOURS < 1:
    raise ImproperlyConfigured(f"INVITATION_VALID_HOURS must be at least 1, not {INVITATION_VALID_HOURS}")
# Slack and webhook deliveries: seconds to connect, and to wait for the answer.
ALERT_HTTP_CONNECT_TIMEOUT = env.float("ALERT_HTTP_CONNECT_TIMEOUT", default=5.0)
ALERT_HTTP_READ_TIMEOUT = env.float("ALERT_HTTP_READ_TIMEOUT", default=10.0)
# Slack and webhook channels send to public internet addresses only (not loopback, private, link-local such
# as a cloud's metadata service): an admin's URL must not reach inside the portal's network. Development
# allows them (a receiver on 127.0.0.1).
ALERT_ALLOW_PRIVATE_URLS = env.bool("ALERT_ALLOW_PRIVATE_URLS", default=DEBUG)
# Digests (billing/notifications/digests.py): what a person gets until they choose on Notifications.
DIGEST_MANAGER_DEFAULT = env.str("DIGEST_MANAGER_DEFAULT", default="daily")
if DIGEST_MANAGER_DEFAULT not in ("off", "daily", "weekly"):
    raise ImproperlyConfigured(
        f"DIGEST_MANAGER_DEFAULT must be off, daily or weekly, not {DIGEST_MANAGER_DEFAULT!r}"
    )
DIGEST_DEFAULT_HOUR = env.int("DIGEST_DEFAULT_HOUR", default=8)
if not 0 <= DIGEST_DEFAULT_HOUR <= 23:
    raise ImproperlyConfigured(f"DIGEST_DEFAULT_HOUR must be an hour from 0 to 23, not {DIGEST_DEFAULT_HOUR}")
# Pinged (GET) after each completed balance sweep chunk, e.g. a healthchecks.io check: a dead portal is
# noticed from outside. Empty: no ping.
DEADMAN_PING_URL = env.str("DEADMAN_PING_URL", default="")
