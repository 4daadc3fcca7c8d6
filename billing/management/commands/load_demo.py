"""Demo data for `make run`: the declared accounts, three people with different access, a first sync."""

import time

import requests
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from billing.accounts import ensure_declared_accounts
from billing.models import AccountAccess, Role

DEMO_PASSWORD = "demo-pass-2026"  # noqa: S105  (the published demo log-in)
DEMO_PEOPLE = [
    # username, role on every account, superuser
    ("admin", Role.ADMIN, True),
    ("manager", Role.MANAGER, False),
    ("viewer", Role.VIEWER, False),
]


class Command(BaseCommand):
    help = "Creates the demo people and accounts and runs a first sync, so every page has data."

    def add_arguments(self, parser):
        parser.add_argument(
            "--wait-for-api", action="store_true", help="wait up to 60 s for the API to answer"
        )
        parser.add_argument("--no-sync", action="store_true", help="skip the first sync")

    def handle(self, *args, wait_for_api: bool, no_sync: bool, **options):
        accounts = ensure_declared_accounts()
        people = self._create_people()
        for user, role in people:
            for account in accounts:
                AccountAccess.objects.update_or_create(user=user, account=account, defaults={"role": role})
        if wait_for_api:
            self._wait_for_api()
        if not no_sync:
            self._first_sync(accounts)
        self.stdout.write(
            self.style.SUCCESS(
                "\n  AI Gateway billing portal: http://127.0.0.1:8000/\n"
                f"  Log in as admin, manager or viewer, password {DEMO_PASSWORD}\n"
            )
        )

    def _create_people(self):
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

    def _wait_for_api(self) -> None:
        probe = settings.CLOUDFLARE_API_BASE_URL.rsplit("/client/v4", 1)[0] + "/__sandbox__/accounts"
        for _ in range(120):
            try:
                requests.get(probe, timeout=1)
                return
            except requests.RequestException:
                time.sleep(0.5)
        raise CommandError("The Cloudflare API (sandbox) did not answer within 60 seconds.")

    def _first_sync(self, accounts) -> None:
        from billing import sync

        for account in accounts:
            if account.sync_runs.filter(outcome="succeeded").exists():
                continue
            self.stdout.write(f"First sync of {account.name}…")
            sync.sync_account(account)
