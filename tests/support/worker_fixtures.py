"""A real Celery worker (and beat) on Redis using the test database, and eager tasks (registered by
tests/conftest.py).

A test that asks for `celery_worker_on_redis` must be marked `worker` (tests/conftest.py checks it).
"""

import os
import subprocess
import sys
import time
import uuid
from collections import Counter

import pytest
import redis
from django.db import connection
from kombu.exceptions import ChannelError

from tests.support.paths import ROOT

REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")


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
    same queue; every process started is stopped at the end of the test. What the workers did is read through
    `start.taken()` (a Counter of the tasks they took, by name) and `start.idle()` (nothing queued, reserved
    or running): a test waits on those, never for a number of seconds.
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
    workers: list[str] = []  # their node names
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
        workers.append(f"{queue}-{len(processes) - 1}@{os.uname().nodename}")
        # A generous bound: a worker takes seconds to start, many more on a busy machine.
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            if app.control.ping(destination=[workers[-1]], timeout=0.5):
                return app
            if process.poll() is not None:
                raise RuntimeError(f"celery worker exited with {process.returncode}")
        raise RuntimeError("celery worker did not start within 120 s")

    def start_beat(extra_env: dict | None = None) -> subprocess.Popen:
        schedule = ROOT / "var" / f"{queue}-beat-{len(processes)}"
        command = [sys.executable, "-m", "celery", "-A", "portal", "beat", "--loglevel", "WARNING"]
        process = subprocess.Popen(
            [*command, "--schedule", str(schedule)], cwd=ROOT, env=environment(extra_env)
        )
        processes.append(process)
        return process

    def inspect():
        return app.control.inspect(destination=workers, timeout=5, limit=len(workers))

    def taken() -> Counter:
        """How many tasks of each name the workers have taken since they started."""
        stats = inspect().stats() or {}
        return sum((Counter(stats[node].get("total", {})) for node in stats), Counter())

    def idle() -> bool:
        """True when every worker answered with nothing running, reserved or scheduled, and the queue is
        empty, twice in a row (a message is briefly in neither while a worker fetches it)."""
        return _idle_once() and _idle_once()

    def _idle_once() -> bool:
        view = inspect()
        answers = [view.active(), view.reserved(), view.scheduled()]
        if any(answer is None or set(answer) != set(workers) for answer in answers):
            return False  # a worker that did not answer may be busy
        if any(tasks for answer in answers for tasks in answer.values()):
            return False
        with app.connection_for_read() as connection:
            try:
                return connection.default_channel.queue_declare(queue, passive=True).message_count == 0
            except ChannelError:  # Redis keeps no key for an empty queue
                return True

    start.beat = start_beat
    start.taken = taken
    start.idle = idle
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
