"""Redis down: every money page still answers. Cloudflare's top-up range comes from the database
(`TopUpRange`), and the request budget falls back to the process's own; nothing a page needs lives only in
the cache."""

import re
import socket

import pytest
from django.core.cache import cache
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from billing import clients
from billing.models import TopUp, TopUpRange
from tests.support.history import snapshot

pytestmark = pytest.mark.django_db


def dead_redis_url() -> str:
    """A Redis URL on a loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"redis://127.0.0.1:{port}/0"


def test_every_money_page_answers_with_the_cache_and_the_budget_on_a_dead_redis(
    client, manager, account, cloudflare
):
    snapshot(account, "50")
    TopUpRange.objects.create(account=account, min_cents=500, max_cents=40_000, synced_at=timezone.now())
    client.force_login(manager)
    dead = dead_redis_url()
    caches = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": dead}}
    with override_settings(CACHES=caches, REDIS_URL=dead):
        clients.reset_clients()
        with pytest.raises(Exception):  # noqa: B017 - the proof that the cache really is down
            cache.get("anything")
        pages = [
            reverse(name, args=[account.cloudflare_id])
            for name in ("account", "topup_new", "auto_topup", "spending_limit", "topups")
        ]
        for page in [*pages, reverse("overview")]:
            assert client.get(page).status_code == 200, page
        form = client.post(reverse("topup_new", args=[account.cloudflare_id]), {"amount": "25"})
        assert form.status_code == 200
        assert "Cloudflare allows $5.00 to $400.00 for this account." in client.get(pages[1]).content.decode()
        fields = dict(re.findall(r'name="(amount_cents|intent_key)" value="([^"]+)"', form.content.decode()))
        confirmed = client.post(reverse("topup_confirm", args=[account.cloudflare_id]), fields)
        assert confirmed.status_code == 302
        assert TopUp.objects.get().payment_intent_id  # sent, through the in-process request budget
    clients.reset_clients()
