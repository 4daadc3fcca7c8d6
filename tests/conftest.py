"""Shared fixtures: named people with different access, a real Celery worker, the Cloudflare sandbox."""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.core.cache import cache
from django.db import connection

from billing.models import Account, AccountAccess, Role

# Fixtures of the pages tests (the portal pointed at the sandbox, local history) and of the browser tests.
pytest_plugins = ["tests.pages_fixtures", "tests.browser_fixtures"]

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs about half a second per person a fixture creates; tests need none.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _receivers_on_loopback(settings):
    # The suite's Slack and webhook receivers listen on 127.0.0.1, which production refuses
    # (tests/test_channel_destinations.py turns the refusal back on).
    settings.ALERT_ALLOW_PRIVATE_URLS = True


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


# --- People and accounts -------------------------------------------------------------------------
PASSWORD = "correct-horse-battery-staple"


@pytest.fixture
def make_user(django_user_model):
    def make(username: str, **extra):
        return django_user_model.objects.create_user(
            username=username, email=f"{username}@example.com", password=PASSWORD, **extra
        )

    return make


@pytest.fixture
def account(db):
    return Account.objects.create(cloudflare_id="a" * 32, name="Acme Prod")


@pytest.fixture
def other_account(db):
    return Account.objects.create(cloudflare_id="b" * 32, name="Other Team")


def grant(user, account, role):
    AccountAccess.objects.create(user=user, account=account, role=role)
    return user


@pytest.fixture
def viewer(make_user, account):
    return grant(make_user("vera-viewer"), account, Role.VIEWER)


@pytest.fixture
def manager(make_user, account):
    return grant(make_user("max-manager"), account, Role.MANAGER)


@pytest.fixture
def admin_user(make_user, account):
    return grant(make_user("ada-admin"), account, Role.ADMIN)


@pytest.fixture
def superuser(make_user):
    return make_user("sam-super", is_superuser=True, is_staff=True)


@pytest.fixture
def outsider(make_user, other_account):
    """Has access to another account only."""
    return grant(make_user("olga-outsider"), other_account, Role.MANAGER)


# --- A real Celery worker on Redis ---------------------------------------------------------------
def _database_url_for_subprocess() -> str:
    """The URL of the database the tests are using right now (the test database)."""
    params = connection.settings_dict
    if params["ENGINE"].endswith("sqlite3"):
        return f"sqlite:///{params['NAME']}"
    user = params.get("USER") or "postgres"
    password = f":{params['PASSWORD']}" if params.get("PASSWORD") else ""
    host = params.get("HOST") or "127.0.0.1"
    port = params.get("PORT") or 5432
    return f"postgres://{user}{password}@{host}:{port}/{params['NAME']}"


@pytest.fixture
def celery_worker_on_redis(transactional_db, settings, monkeypatch):
    """Starts `celery worker` as a separate process on Redis, using the test database.

    Yields a function `start(extra_env={}, concurrency=2, beat=False)` that returns the Celery app configured
    to send to that worker, and `start.beat(extra_env={})` that starts a separate `celery beat` sending to the
    same queue; every process started is stopped at the end of the test.
    """
    from celery import Celery

    redis.Redis.from_url(REDIS_URL, socket_connect_timeout=3).ping()
    # Celery prefers the CELERY_BROKER_URL environment variable to any configured broker: make this
    # process and the worker agree on one.
    monkeypatch.setenv("CELERY_BROKER_URL", REDIS_URL)
    queue = f"test-{uuid.uuid4().hex[:8]}"
    # Beat keeps its schedule file under var/, which a fresh clone (CI) does not have yet.
    (ROOT / "var").mkdir(exist_ok=True)
    processes: list[subprocess.Popen] = []
    # A separate app to send with, so the portal's own app and its connection pool stay untouched.
    app = Celery("portal-tests", broker=REDIS_URL, backend=REDIS_URL)
    app.conf.update(task_default_queue=queue, broker_transport_options={"visibility_timeout": 60})

    def environment(extra_env: dict | None) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": _database_url_for_subprocess(),
            "CELERY_BROKER_URL": REDIS_URL,
            "CELERY_RESULT_BACKEND": REDIS_URL,
            "CELERY_TASK_DEFAULT_QUEUE": queue,  # what a beat of this test sends goes to its workers only
            "CLOUDFLARE_API_BASE_URL": settings.CLOUDFLARE_API_BASE_URL,
            "CLOUDFLARE_API_TOKEN": settings.CLOUDFLARE_API_TOKEN,
            "ALERT_ALLOW_PRIVATE_URLS": "true",  # its receivers are on loopback
            **(extra_env or {}),
        }

    def start(extra_env: dict | None = None, concurrency: int = 2, beat: bool = False):
        env = environment(extra_env)
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "-Q",
            queue,
            "--concurrency",
            str(concurrency),
            "--loglevel",
            "WARNING",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "-n",
            f"{queue}-{len(processes)}@%h",
        ]
        if beat:
            command += ["-B", "--schedule", str(ROOT / "var" / f"{queue}-beat")]
        process = subprocess.Popen(command, cwd=ROOT, env=env)
        processes.append(process)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if app.control.ping(
                destination=[f"{queue}-{len(processes) - 1}@{os.uname().nodename}"], timeout=0.5
            ):
                return app
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {process.returncode}")
        raise RuntimeError("celery worker did not start within 60 s")

    def start_beat(extra_env: dict | None = None) -> subprocess.Popen:
        schedule = ROOT / "var" / f"{queue}-beat-{len(processes)}"
        command = [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "WARNING"]
        process = subprocess.Popen(
            [*command, "--schedule", str(schedule)], cwd=ROOT, env=environment(extra_env)
        )
        processes.append(process)
        return process

    start.beat = start_beat
    yield start

    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    for schedule in (ROOT / "var").glob(f"{queue}-beat*"):
        schedule.unlink(missing_ok=True)
    app.close()


@pytest.fixture
def eager_tasks():
    """Tasks run inline where they are sent (as if a worker took them at once), errors propagated."""
    from portal.celery import app

    saved = app.conf.task_always_eager, app.conf.task_eager_propagates
    app.conf.task_always_eager, app.conf.task_eager_propagates = True, True
    yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


# --- A real SMTP server on loopback (alerts and mail tests) ----------------------------------------
@pytest.fixture
def smtp_server(settings):
    """aiosmtpd on 127.0.0.1 and a free port, with Django's SMTP backend pointed at it."""
    from tests.smtp_sink import SmtpSink

    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield sink
    sink.stop()


# --- The portal's client pointed at the Cloudflare sandbox (sync, tasks and metrics tests) ----------
@pytest.fixture
def cloudflare(sandbox, settings):
    """The sandbox, reset to "empty", with the portal's settings pointing at it; yields its SandboxControl.

    The local request budget is lifted so that the suite's calls never wait on one another's budget.
    """
    from billing import clients

    settings.CLOUDFLARE_API_BASE_URL = sandbox.base_url
    settings.CLOUDFLARE_API_TOKEN = sandbox.token
    settings.CLOUDFLARE_RATE_LIMIT = 100_000
    clients.reset_clients()
    yield sandbox
    clients.reset_clients()
