"""What the benchmark's parts share: the environment of every process it starts, databases, the sandbox
process, free ports and the memory figures read from /proc. Nothing here imports Django."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
VAR = ROOT / "var" / "bench"
PYTHON = sys.executable

# The benchmark's own Redis database, so that it never touches the one the tests or `make run` use.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/9"
SQLITE_URL = f"sqlite:///{VAR / 'bench.sqlite3'}"
SQLITE_SWEEP_URL = f"sqlite:///{VAR / 'sweep.sqlite3'}"
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/bench"
POSTGRES_SWEEP_URL = "postgres://postgres@127.0.0.1:5432/bench_sweep"
SQLITE_PEOPLE_URL = f"sqlite:///{VAR / 'people.sqlite3'}"
POSTGRES_PEOPLE_URL = "postgres://postgres@127.0.0.1:5432/bench_people"
# Databases the benchmark must never create, drop or write to.
PROTECTED_DATABASES = {"test", "test_test", "postgres", "template0", "template1"}
# Cloudflare's request budget per token: this many requests in any RATE_PERIOD seconds.
RATE_LIMIT = 1200
RATE_PERIOD = 300


def bench_env(database_url: str, redis_url: str = DEFAULT_REDIS_URL, **extra: str) -> dict[str, str]:
    """The environment of every benchmark process: production settings (DEBUG off) on loopback."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "bench.settings",
        "DJANGO_DEBUG": "false",
        "DJANGO_SECRET_KEY": "bench-only-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz",
        "TOKEN_ENCRYPTION_KEYS": "YmVuY2gtb25seS10b2tlbi1rZXktMDEyMzQ1Njc4OWE=",
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost,testserver",
        # Plain HTTP on loopback: no redirect to https, cookies sent without TLS.
        "DJANGO_SECURE_SSL_REDIRECT": "false",
        "DJANGO_SESSION_COOKIE_SECURE": "false",
        "DJANGO_CSRF_COOKIE_SECURE": "false",
        "DJANGO_SECURE_HSTS_SECONDS": "0",
        # The benchmark measures pages, not sign-in: its superuser has no authenticator app.
        "REQUIRE_2FA": "false",
        "DATABASE_URL": database_url,
        "REDIS_URL": redis_url,
        "CELERY_BROKER_URL": redis_url,
        "CELERY_RESULT_BACKEND": "",
        "CLOUDFLARE_ACCOUNT_IDS": "",
        "LOG_LEVEL": "WARNING",
        "PYTHONPATH": str(ROOT),
        **extra,
    }
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)
    return env


def db_kind(database_url: str) -> str:
    return "sqlite" if database_url.startswith("sqlite") else "postgresql"


def _pg_name(database_url: str) -> str:
    name = urlsplit(database_url).path.lstrip("/")
    if not name or name in PROTECTED_DATABASES:
        raise SystemExit(f"refusing to use the database {name!r}: the benchmark only uses its own databases")
    return name


def recreate_database(database_url: str) -> None:
    """Drop and create the benchmark's database (a file for SQLite), empty, ready for `migrate`."""
    if db_kind(database_url) == "sqlite":
        path = Path(urlsplit(database_url).path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                Path(str(path) + suffix).unlink()
        return
    import psycopg

    name = _pg_name(database_url)
    admin_url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def database_exists(database_url: str) -> bool:
    if db_kind(database_url) == "sqlite":
        return Path(urlsplit(database_url).path).exists()
    import psycopg

    name = _pg_name(database_url)
    admin_url = urlunsplit(urlsplit(database_url)._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def run_python(args: list[str], env: dict[str, str], check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run([PYTHON, *args], cwd=ROOT, env=env, check=check)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_http(url: str, timeout: float = 30.0, process: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{process.args[:4]} exited with {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):  # noqa: S310 - loopback URL we built
                return
        except urllib.error.HTTPError:
            return  # it answers: up
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"{url} did not answer within {timeout:.0f} s")


def stop_process(process: subprocess.Popen, timeout: float = 20.0) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class Sandbox:
    """The Cloudflare sandbox in its own process (so its threads never share this process's GIL)."""

    def __init__(self, token: str, rate_limit: str = "1200/300") -> None:
        self.token = token
        self.port = free_port()
        self.root_url = f"http://127.0.0.1:{self.port}"
        self.base_url = self.root_url + "/client/v4"
        self.process = subprocess.Popen(
            [
                PYTHON,
                "-m",
                "cloudflare_sandbox",
                "--port",
                str(self.port),
                "--seed",
                "empty",
                "--token",
                token,
                "--rate-limit",
                rate_limit,
            ],
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_http(self.root_url + "/__sandbox__/health", process=self.process)

    def call(self, method: str, path: str, body: object = None) -> object:
        data = None if body is None else json.dumps(body).encode()
        url = self.root_url + "/__sandbox__/" + path
        request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - loopback URL we built
        request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310 - loopback URL we built
            return json.loads(response.read())

    def requests(self) -> list[dict]:
        return self.call("GET", "requests")["requests"]

    def stop(self) -> None:
        stop_process(self.process, timeout=5)


# --- memory, from /proc ---------------------------------------------------------------------------------
def proc_status_kb(pid: int, field: str) -> int | None:
    """A "kB" field of /proc/<pid>/status (VmHWM: peak resident set; VmRSS: resident now)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError):
        return None
    return None


def children_of(pid: int) -> list[int]:
    kids: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(FileNotFoundError):
            kids += [int(p) for p in (task / "children").read_text().split()]
    return kids


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p95 of 40 samples is the 38th smallest)."""
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    rank = max(1, -(-round(fraction * 1000) * len(ordered) // 1000))
    return ordered[min(rank, len(ordered)) - 1]


def max_in_window(times: list[float], period: float) -> int:
    """The most requests inside any `period`-second window (sliding, as Cloudflare counts them)."""
    times = sorted(times)
    best = low = 0
    for high, moment in enumerate(times):
        while moment - times[low] >= period:
            low += 1
        best = max(best, high - low + 1)
    return best
