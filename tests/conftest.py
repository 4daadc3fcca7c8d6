"""What every test shares: the fixture modules of tests/support/, quick and isolated settings, one moment at
which every test starts, and the rule that a test starting a process says so with a marker (`worker`,
`browser` or `process`)."""

import multiprocessing.process
import subprocess

import pytest
import time_machine
from django.core.cache import cache

# Helpers in tests/support/ assert too: their failures are reported with the values, as in a test. (Registered
# before anything imports them.)
pytest.register_assert_rewrite("tests.support")

from tests.support.clock import SUITE_NOW  # noqa: E402

pytest_plugins = [
    "tests.support.people_fixtures",
    "tests.support.sandbox_fixtures",
    "tests.support.sync_fixtures",
    "tests.support.billed_usage",
    "tests.support.worker_fixtures",
    "tests.support.browser_fixtures",
    "tests.support.smtp_sink",
    "tests.support.http_receiver",
    "tests.support.two_factor_steps",
    "tests.support.oidc_fixtures",
    "tests.support.api_fixtures",
]

# The markers of tests that start a process, and the fixtures that start one (their tests need the marker).
PROCESS_MARKERS = ("worker", "browser", "process")
MARKER_OF_FIXTURE = {"celery_worker_on_redis": "worker", "chromium": "browser", "oidc_provider": "process"}


@pytest.fixture(autouse=True)
def _the_same_moment_every_run(request):
    """Every test starts at SUITE_NOW, and its clock runs on from there: no test depends on the hour, day or
    month the suite happens to run in (a day boundary between a test's data and the figures it reads, a
    month's fraction of a spending limit). A test that starts a process keeps the real clock, which that
    process reads too."""
    if any(request.node.get_closest_marker(marker) for marker in PROCESS_MARKERS):
        yield
        return
    with time_machine.travel(SUITE_NOW, tick=True):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # PBKDF2's deliberate slowness costs about half a second per person a fixture creates; tests need none.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _receivers_on_loopback(settings):
    # The suite's Slack and webhook receivers listen on 127.0.0.1, which production refuses
    # (tests/notifications/test_destinations.py turns the refusal back on).
    settings.ALERT_ALLOW_PRIVATE_URLS = True


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


def pytest_collection_modifyitems(items):
    """Refuses to run a test that uses a process-starting fixture without that fixture's marker."""
    unmarked = [
        f"{item.nodeid} (uses {name}: mark it {marker})"
        for item in items
        for name, marker in MARKER_OF_FIXTURE.items()
        if name in getattr(item, "fixturenames", ()) and item.get_closest_marker(marker) is None
    ]
    if unmarked:
        raise pytest.UsageError("tests that start a process without its marker:\n" + "\n".join(unmarked))


@pytest.fixture(autouse=True)
def _processes_only_when_marked(request, monkeypatch):
    """A test without a process marker that starts a process (subprocess, multiprocessing) fails, naming the
    marker to add, so that `make test-fast` (which leaves those markers out) never starts one."""
    if any(request.node.get_closest_marker(marker) for marker in PROCESS_MARKERS):
        return

    def refuse(*args, **kwargs):
        raise AssertionError(f"{request.node.nodeid} starts a process: mark it worker, browser or process")

    monkeypatch.setattr(subprocess.Popen, "__init__", refuse)
    monkeypatch.setattr(multiprocessing.process.BaseProcess, "start", refuse)
