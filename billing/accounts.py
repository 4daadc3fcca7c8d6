"""Accounts declared in the environment (CLOUDFLARE_ACCOUNT_IDS), created on start-up."""

import re

from django.conf import settings

from billing.models import Account

ACCOUNT_ID = re.compile(r"^[0-9a-f]{32}$")


def parse_declared_accounts(entries: list[str]) -> list[tuple[str, str]]:
    """[(cloudflare_id, name)] from "id" or "id=Display name" entries; raises ValueError on a bad id."""
    declared = []
    for entry in entries:
        account_id, _, name = entry.strip().partition("=")
        account_id = account_id.strip().lower()
        if not account_id:
            continue
        if not ACCOUNT_ID.match(account_id):
            raise ValueError(f"CLOUDFLARE_ACCOUNT_IDS: {account_id!r} is not a 32-character hex account id")
        declared.append((account_id, name.strip() or account_id[:8]))
    return declared


def ensure_declared_accounts() -> list[Account]:
    """Creates the declared accounts that do not exist yet; existing ones keep their names."""
    accounts = []
    for account_id, name in parse_declared_accounts(settings.CLOUDFLARE_ACCOUNT_IDS):
        account, _ = Account.objects.get_or_create(cloudflare_id=account_id, defaults={"name": name})
        accounts.append(account)
    return accounts
