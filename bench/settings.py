"""Production-like settings for the benchmark: the portal's own settings, read from the environment that
`bench/run.py` prepares (DJANGO_DEBUG=false and friends), with the static files collected under var/bench/
so that the benchmark never writes into the project's own STATIC_ROOT."""

from portal.settings import *  # noqa: F403
from portal.settings import VAR_DIR

STATIC_ROOT = VAR_DIR / "bench" / "static"

# Request and task logs would cost time on every request and drown the benchmark's own output.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
