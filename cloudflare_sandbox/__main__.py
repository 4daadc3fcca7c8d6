"""`python -m cloudflare_sandbox`: serve the sandbox until interrupted."""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading

from .seed import SEEDS
from .server import DEFAULT_TOKEN, SandboxServer


def _rate_limit(text: str) -> tuple[int, int]:
    try:
        requests, seconds = (int(part) for part in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError("expected N/S, for example 1200/300") from None
    if requests < 1 or seconds < 1:
        raise argparse.ArgumentTypeError("both numbers must be positive")
    return requests, seconds


def _non_negative(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


DASHBOARD_WRITES_ENV = "CLOUDFLARE_SANDBOX_ACCEPT_DASHBOARD_WRITES"


def _env_switch(name: str) -> bool:
    """An on/off environment variable: unset, empty or 0 is off, 1 is on; anything else stops the start."""
    value = os.environ.get(name, "").strip()
    if value not in ("", "0", "1"):
        raise SystemExit(f"{name} must be 0 or 1, not {value!r}")
    return value == "1"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m cloudflare_sandbox",
        description="Serve a stand-in for Cloudflare's AI Gateway billing API under /client/v4/.",
    )
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8787)
    p.add_argument(
        "--token",
        default=os.environ.get("CLOUDFLARE_SANDBOX_TOKEN", DEFAULT_TOKEN),
        help="bearer token clients must send (default: $CLOUDFLARE_SANDBOX_TOKEN or %(default)s)",
    )
    p.add_argument("--seed", choices=SEEDS, default="demo", help="initial data when there is no state file")
    p.add_argument("--state", metavar="FILE", help="keep state in FILE across restarts (atomic writes)")
    p.add_argument("--speed", type=_non_negative, default=1.0, help="simulated seconds per real second")
    p.add_argument("--rate-limit", type=_rate_limit, default=(1200, 300), metavar="N/S")
    p.add_argument(
        "--accept-dashboard-writes",
        action="store_true",
        default=_env_switch(DASHBOARD_WRITES_ENV),
        help="accept what Cloudflare accepts only from its dashboard (auto top-up config set/delete) or "
        "no longer at all (spending-limit create), to show the portal's forms in a demo; without it they "
        f"get 403 as from Cloudflare (default: ${DASHBOARD_WRITES_ENV}=1 turns it on)",
    )
    p.add_argument(
        "--topup-delay",
        type=_non_negative,
        default=5.0,
        metavar="SECONDS",
        help="simulated seconds before a top-up completes",
    )
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s sandbox %(message)s")
    server = SandboxServer(
        host=args.host,
        port=args.port,
        token=args.token,
        seed=args.seed,
        state_file=args.state,
        speed=args.speed,
        rate_limit=args.rate_limit,
        accept_dashboard_writes=args.accept_dashboard_writes,
        topup_delay_seconds=args.topup_delay,
    )
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    server.start()
    logging.getLogger("cloudflare_sandbox").info(
        "serving %s (seed %s, speed %s, state %s, dashboard-only writes %s)",
        server.base_url,
        args.seed,
        args.speed,
        args.state or "none",
        "accepted (demo switch)" if args.accept_dashboard_writes else "refused with 403, as Cloudflare does",
    )
    try:
        stop.wait()
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
