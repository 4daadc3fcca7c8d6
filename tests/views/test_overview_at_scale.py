"""The overview of many accounts: what needs attention first, filtered by name and state, a page at a time."""

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import Account, AccountAccess, AlertEvent, Role
from billing.views.overview import PAGE_ROWS
from tests.support.history import snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def many(make_user):
    """A viewer of PAGE_ROWS + 5 fresh accounts named a000…, one with an open alert (named last) and one
    never synced (stale)."""
    person = make_user("many")
    accounts = []
    for index in range(PAGE_ROWS + 5):
        account = Account.objects.create(cloudflare_id=f"{index:032x}", name=f"a{index:03d}")
        AccountAccess.objects.create(user=person, account=account, role=Role.VIEWER)
        accounts.append(account)
    for account in accounts[:-2]:
        snapshot(account, "100.00")
    alerting = accounts[-3]
    alerting.name = "zz alerting"
    alerting.save()
    AlertEvent.objects.create(
        account=alerting, kind="low_balance", headline="Low balance: zz alerting", opened_at=timezone.now()
    )
    return person


def names(html: str) -> list[str]:
    import re

    return re.findall(r'<a href="/accounts/[0-9a-f]{32}/"><strong>([^<]+)</strong>', html)


def test_what_needs_attention_comes_first_then_stale_then_by_name(client, many):
    client.force_login(many)
    html = client.get(reverse("overview")).content.decode()

    shown = names(html)
    assert shown[:3] == ["zz alerting", f"a{PAGE_ROWS + 3:03d}", f"a{PAGE_ROWS + 4:03d}"]
    assert shown[3] == "a000"
    assert len(shown) == PAGE_ROWS
    assert f"1–{PAGE_ROWS} of {PAGE_ROWS + 5} accounts" in html
    assert "Next ›" in html


def test_filtered_by_name_and_by_state(client, many):
    client.force_login(many)

    by_name = client.get(reverse("overview"), {"q": "A01"}).content.decode()
    stale = client.get(reverse("overview"), {"state": "stale"}).content.decode()
    attention = client.get(reverse("overview"), {"state": "attention"}).content.decode()
    nothing = client.get(reverse("overview"), {"q": "nobody"}).content.decode()

    stale_names = [f"a{PAGE_ROWS + 3:03d}", f"a{PAGE_ROWS + 4:03d}"]
    assert names(by_name) == [f"a{n:03d}" for n in range(10, 20)]  # any case
    assert names(stale) == stale_names
    assert names(attention) == ["zz alerting"]
    assert "No account matches." in nothing
