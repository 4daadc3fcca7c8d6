"""The people page with many people: p50/p95 in-process for a superuser and for an admin of every account,
and its SQL queries with 50 and with 500 people (the same count: the page reads in a fixed number of queries).

    python -m bench.people --database-url URL --out result.json [--people 500] [--repeat 40]

Runs in its own process on its own database (dropped and created), like bench/pages.py.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_env, db_kind, percentile, recreate_database

TARGET_MS = 100
ACCOUNTS = 20
FIRST_PEOPLE = 50
PATH = "/people/"


def _accounts() -> list:
    from billing.models import Account

    Account.objects.bulk_create(
        Account(cloudflare_id=f"{i:032x}", name=f"Bench people {i:02d}") for i in range(ACCOUNTS)
    )
    return list(Account.objects.order_by("pk"))


def _admins(accounts: list) -> None:
    from django.contrib.auth import get_user_model

    from billing.models import AccountAccess, Role

    users = get_user_model().objects
    users.create_user("bench-people-super", password="bench", is_superuser=True, is_staff=True)
    admin = users.create_user("bench-people-admin", password="bench")
    AccountAccess.objects.bulk_create(AccountAccess(user=admin, account=a, role=Role.ADMIN) for a in accounts)


def add_people(accounts: list, start: int, stop: int) -> None:
    """People start..stop-1, each with one to three roles, a last sign-in, and every third with two-factor."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.utils import timezone
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from billing.models import AccountAccess, Role

    user_model = get_user_model()
    password = make_password("bench")
    now = timezone.now()
    people = user_model.objects.bulk_create(
        user_model(username=f"person-{i:04d}", email=f"person-{i:04d}@example.com", password=password)
        for i in range(start, stop)
    )
    people = list(user_model.objects.filter(username__in=[p.username for p in people]).order_by("pk"))
    roles = list(Role)
    grants = [
        AccountAccess(user=person, account=accounts[(n + k * 7) % ACCOUNTS], role=roles[(n + k) % 3])
        for n, person in enumerate(people, start)
        for k in range(1 + n % 3)
    ]
    AccountAccess.objects.bulk_create(grants)
    TOTPDevice.objects.bulk_create(
        TOTPDevice(user=person, name="Authenticator", confirmed=True) for person in people[::3]
    )
    user_model.objects.filter(pk__in=[p.pk for p in people[::2]]).update(last_login=now)


def _client(username: str):
    from django.contrib.auth import get_user_model
    from django.test import Client

    client = Client()
    client.force_login(get_user_model().objects.get(username=username))
    return client


def queries(username: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = _client(username)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(PATH).status_code == 200
    return len(captured.captured_queries)


def timed(username: str, repeat: int, warmup: int = 3) -> dict:
    client = _client(username)
    for _ in range(warmup):
        client.get(PATH)
    times, cpu = [], []
    for _ in range(repeat):
        started, cpu_started = time.perf_counter(), time.process_time()
        response = client.get(PATH)
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - cpu_started) * 1000)
        assert response.status_code == 200
    return {
        "p50_ms": percentile(times, 0.5),
        "p95_ms": percentile(times, 0.95),
        "max_ms": max(times),
        # CPU time of this process (SQLite runs in it): what a request costs when the machine is shared.
        "cpu_p50_ms": percentile(cpu, 0.5),
        "cpu_p95_ms": percentile(cpu, 0.95),
        "bytes": len(response.content),
    }


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bench/people.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--people", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=40)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    recreate_database(args.database_url)
    os.environ.update(bench_env(args.database_url))
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    accounts = _accounts()
    _admins(accounts)
    add_people(accounts, 0, FIRST_PEOPLE)
    few = {who: queries(who) for who in ("bench-people-super", "bench-people-admin")}
    add_people(accounts, FIRST_PEOPLE, args.people)
    many = {who: queries(who) for who in few}
    result = {
        "database": db_kind(args.database_url),
        "people": args.people,
        "accounts": ACCOUNTS,
        "target_ms": TARGET_MS,
        "pages": {
            "superuser": timed("bench-people-super", args.repeat),
            "admin of every account": timed("bench-people-admin", args.repeat),
        },
        "queries": {
            who: {f"{FIRST_PEOPLE} people": few[who], f"{args.people} people": many[who]} for who in few
        },
    }
    Path(args.out).write_text(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
