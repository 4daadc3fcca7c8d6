"""Demo data for `make run`: the declared accounts, three people with different access, a first sync, two
cost centers.

Demo only: after the first sync it back-fills 30 days of hourly balance snapshots from the Cloudflare
sandbox's control API, which real Cloudflare does not have (there the step is skipped).
"""

import json
import time
from argparse import ArgumentParser
from datetime import timedelta
from decimal import Decimal
from typing import Any

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management.base import BaseCommand, CommandError

from billing.accounts import ensure_declared_accounts
from billing.figures import ledger
from billing.models import Account, AccountAccess, BalanceSnapshot, CostCenter, Gateway, Role
from billing.money import balance_to_dollars, ms_to_datetime

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105  (the published demo log-in)
# Acme Prod's demo budget: about its usual month, so the forecast sits near it.
DEMO_BUDGET_CENTS = 1_500_00
BACKFILL_DAYS = 30
# A snapshot's fields other than the balance, copied from the one real snapshot into the back-filled ones.
COPIED_FIELDS = (
    "has_default_payment_method",
    "payment_method_brand",
    "payment_method_last4",
    "first_topup_success",
    "auto_topup_amount",
    "auto_topup_threshold",
    "auto_topup_error",
    "auto_topup_disabled_reason",
    "auto_topup_last_failed_at",
)
# Cost center name: its gateway.
DEMO_COST_CENTERS = {"Support": "chat-app", "Data platform": "batch-jobs"}
DEMO_PEOPLE = [
    # username, role on every account, superuser
    ("admin", Role.ADMIN, True),
    ("manager", Role.MANAGER, False),
    ("viewer", Role.VIEWER, False),
]


class Command(BaseCommand):
    help = (
        "Demo only (make run): creates the demo people and accounts, runs a first sync and back-fills "
        "30 days of hourly balance history from the Cloudflare sandbox, so every page has data."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--wait-for-api", action="store_true", help="wait up to 60 s for the API to answer"
        )
        parser.add_argument("--no-sync", action="store_true", help="skip the first sync")

    def handle(self, *args: Any, wait_for_api: bool, no_sync: bool, **options: Any) -> None:
        accounts = ensure_declared_accounts()
        people = self._create_people()
        for user, role in people:
            for account in accounts:
                AccountAccess.objects.update_or_create(user=user, account=account, defaults={"role": role})
        if wait_for_api:
            self._wait_for_api()
        if not no_sync:
            self._first_sync(accounts)
            self._backfill_balance_history(accounts)
            self._create_cost_centers(accounts)
        self._demo_budget(accounts)
        self.stdout.write(
            self.style.SUCCESS(
                "\n  AI Gateway billing portal: http://127.0.0.1:8000/\n"
                f"  Log in as admin, manager or viewer, password {DEMO_PASSWORD}\n"
            )
        )

    def _create_people(self) -> list[tuple[User, Role]]:
        User = get_user_model()
        people = []
        for username, role, superuser in DEMO_PEOPLE:
            user, created = User.objects.get_or_create(
                username=username,
                defaults={
                    "email": f"{username}@example.com",
                    "is_superuser": superuser,
                    "is_staff": superuser,
                },
            )
            if created:
                user.set_password(DEMO_PASSWORD)
                user.save()
            people.append((user, role))
        return people

    def _create_cost_centers(self, accounts: list[Account]) -> None:
        """Two cost centers on the first account with the demo's `chat-app` and `batch-jobs` gateways."""
        for account in accounts:
            names = set(Gateway.objects.filter(account=account).values_list("gateway_id", flat=True))
            if set(DEMO_COST_CENTERS.values()) <= names:
                for name, gateway in DEMO_COST_CENTERS.items():
                    CostCenter.objects.get_or_create(
                        account=account, name=name, defaults={"gateways": [gateway]}
                    )
                return

    def _wait_for_api(self) -> None:
        probe = settings.CLOUDFLARE_API_BASE_URL.rsplit("/client/v4", 1)[0] + "/__sandbox__/accounts"
        for _ in range(120):
            try:
                requests.get(probe, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.5)
        raise CommandError("The Cloudflare API (sandbox) did not answer within 60 seconds.")

    def _demo_budget(self, accounts: list[Account]) -> None:
        """Demo only: a monthly budget on the first account (Acme Prod), so its page shows the month so far
        and the forecast against a budget. Set once (audited as the system); one changed since is kept."""
        from billing.operations.budget import set_monthly_budget

        if accounts and accounts[0].monthly_budget is None:
            set_monthly_budget(accounts[0], None, DEMO_BUDGET_CENTS)

    def _first_sync(self, accounts: list[Account]) -> None:
        from billing import pipeline

        for account in accounts:
            if account.sync_runs.filter(outcome="succeeded").exists():
                continue
            self.stdout.write(f"First sync of {account.name}…")
            pipeline.sync_account(account)

    def _backfill_balance_history(self, accounts: list[Account]) -> None:
        """Demo only: the balance chart draws the portal's own snapshots, taken every 5 minutes from now on.

        Cloudflare keeps no balance history, but the sandbox's demo seed simulated 90 days and recorded the
        balance at every hour, so the chart can show 30 days at once. Accounts that already have history
        (two snapshots or more) are left alone, which makes a second run add nothing.
        """
        root = settings.CLOUDFLARE_API_BASE_URL.rstrip("/").removesuffix("/client/v4")
        for account in accounts:
            real = list(account.balance_snapshots.order_by("taken_at")[:2])
            if len(real) != 1:  # none: the sync failed, nothing to copy the card and settings from
                continue
            latest = real[0]
            url = f"{root}/__sandbox__/accounts/{account.cloudflare_id}/balance-history"
            try:
                response = requests.get(url, timeout=10)
                ok = response.status_code == 200
                doc = json.loads(response.content, parse_float=Decimal) if ok else None
            except (requests.RequestException, ValueError):
                doc = None
            if not (
                isinstance(doc, dict)
                and isinstance(doc.get("balances"), list)
                and isinstance(doc.get("start_ms"), int)
                and isinstance(doc.get("step_ms"), int)
            ):
                self.stdout.write("No balance history to back-fill (the API is not the Cloudflare sandbox).")
                return
            oldest = latest.taken_at - timedelta(days=BACKFILL_DAYS)
            copied = {name: getattr(latest, name) for name in COPIED_FIELDS}
            start_ms, step_ms = doc["start_ms"], doc["step_ms"]
            snapshots = []
            for index, cents in enumerate(doc["balances"]):
                taken_at = ms_to_datetime(start_ms + index * step_ms)
                # Only before the real snapshot, so it stays the latest one that alerts and pages read.
                if oldest <= taken_at < latest.taken_at:
                    balance = balance_to_dollars(cents, settings.CLOUDFLARE_BALANCE_UNIT)
                    snapshots.append(
                        BalanceSnapshot(account=account, taken_at=taken_at, balance=balance, **copied)
                    )
            BalanceSnapshot.objects.bulk_create(snapshots)
            if snapshots:
                ledger.rebuild(account, since=snapshots[0].taken_at.date())
            self.stdout.write(f"Balance history of {account.name}: {len(snapshots)} hourly snapshots.")
