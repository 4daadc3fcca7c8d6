#!/usr/bin/env python3
"""Times `make run` from a fresh clone: seconds from the command's start until the sign-in page answers 200.

    python3 scripts/time_make_run.py            # uv and its package cache as this machine has them (warm)
    python3 scripts/time_make_run.py --cold     # uv bootstrapped again, empty uv cache, pip without its cache

It clones the repository (the committed HEAD of --source, this checkout by default) into a temporary
folder, runs `make run` there on free ports, prints a timeline of what `make run` printed (seconds since
the start) and the total, then stops every process it started and removes the clone. Standard library only,
so it runs before any install.
"""

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEADLINE_SECONDS = 300
# Lines of `make run`'s output worth a place in the timeline (the rest is in the log file).
MILESTONES = (
    "pip install",
    "uv sync",
    "Prepared ",
    "Installed ",
    "manage.py migrate",
    "Running migrations",
    "sessions.0001_initial",
    "honcho",
    "sandbox serving",
    "First sync of",
    "Balance history of",
    "AI Gateway billing portal:",
    "Starting development server",
    "celery@",
)


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) != 0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def answers_200(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 (a loopback URL we built)
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def follow(stream, started: float, log, timeline: list[tuple[float, str]]) -> None:
    """Copies `make run`'s output to the log, each line stamped with seconds since the start."""
    for raw in stream:
        line = raw.decode(errors="replace").rstrip()
        elapsed = time.monotonic() - started
        log.write(f"{elapsed:7.2f}  {line}\n")
        log.flush()
        if any(word in line for word in MILESTONES):
            timeline.append((elapsed, line[:140]))


def processes_under(folder: Path) -> list[int]:
    """Ids of the processes whose working directory is inside `folder` (what `make run` there started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cwd = Path(os.readlink(entry / "cwd"))
        except OSError:
            continue
        if cwd == folder or folder in cwd.parents:
            found.append(int(entry.name))
    return found


def stop(make: subprocess.Popen, clone: Path) -> None:
    """Stops `make run` as Ctrl-C would (honcho stops its processes), then anything left in the clone."""
    if make.poll() is None:
        os.killpg(make.pid, signal.SIGINT)
        try:
            make.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(make.pid, signal.SIGKILL)
            make.wait()
    for pid in processes_under(clone):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def time_make_run(source: Path, cold: bool, work: Path) -> float | None:
    clone = work / "clone"
    subprocess.run(["git", "clone", "--quiet", str(source), str(clone)], check=True)
    env = dict(os.environ)
    if cold:
        env.update(UV_CACHE_DIR=str(work / "uv-cache"), TOOLS_DIR=str(work / "tools"), PIP_NO_CACHE_DIR="1")
    web_port, sandbox_port = free_port(), free_port()
    if not (port_is_free(web_port) and port_is_free(sandbox_port)):
        sys.exit("no free ports")
    url = f"http://127.0.0.1:{web_port}/login/"
    log_path = work / "make-run.log"
    timeline: list[tuple[float, str]] = []
    started = time.monotonic()
    make = subprocess.Popen(
        ["make", "run", f"WEB_PORT={web_port}", f"SANDBOX_PORT={sandbox_port}"],
        cwd=clone,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    with log_path.open("w") as log:
        reader = threading.Thread(target=follow, args=(make.stdout, started, log, timeline), daemon=True)
        reader.start()
        elapsed = None
        try:
            while time.monotonic() - started < DEADLINE_SECONDS and make.poll() is None:
                if answers_200(url):
                    elapsed = time.monotonic() - started
                    break
                time.sleep(0.1)
        finally:
            stop(make, clone)
            reader.join(timeout=5)
    for at, line in timeline:
        print(f"{at:7.2f} s  {line}")
    if elapsed is None:
        print(f"no 200 from {url}; the log: {log_path}", file=sys.stderr)
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=ROOT, help="the repository to clone (its HEAD)")
    parser.add_argument("--cold", action="store_true", help="empty uv cache, uv installed again")
    parser.add_argument("--keep", action="store_true", help="keep the clone and the log")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="time-make-run-"))
    try:
        elapsed = time_make_run(args.source.resolve(), args.cold, work)
    finally:
        if args.keep:
            print(f"kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    cache = "cold (empty uv cache, uv bootstrapped, pip cache off)" if args.cold else "warm"
    load = os.getloadavg()[0]
    if elapsed is None:
        sys.exit(f"make run did not serve the sign-in page within {DEADLINE_SECONDS} s (cache {cache})")
    print(f"make run: first page (sign-in, 200) after {elapsed:.1f} s; cache {cache}; load {load:.2f}")


if __name__ == "__main__":
    main()
