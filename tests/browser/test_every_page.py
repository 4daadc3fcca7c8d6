"""Every page, as each role, in Chromium: axe-core finds no WCAG 2.2 A or AA violation, and at a phone's
size (390 × 844) nothing sticks out sideways or is cut off. The pages are listed in
tests/support/every_page.py; a new route in neither of its lists fails `test_every_route_is_listed`."""

import uuid

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.utils import timezone

from billing import pipeline
from billing.models import (
    Account,
    AccountAccess,
    ChannelKind,
    Gateway,
    NotificationChannel,
    Role,
    TopUp,
    TopUpStatus,
)
from cloudflare_sandbox.seed import DEMO_ACCOUNTS
from tests.support.browser_fixtures import log_in
from tests.support.every_page import SIDEWAYS_OVERFLOW_JS, Demo, page_urls, unlisted_routes
from tests.support.people_fixtures import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WCAG_A_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22a", "wcag22aa"]
PHONE = {"width": 390, "height": 844}
ROLES = {"superuser": None, "admin": Role.ADMIN, "manager": Role.MANAGER, "viewer": Role.VIEWER}


def test_every_route_is_listed():
    assert unlisted_routes() == set(), (
        "add each new route to PAGES or NOT_PAGES in tests/support/every_page.py"
    )


@pytest.fixture
def demo(cloudflare, make_user) -> Demo:
    """The demo accounts synced from the sandbox, a completed top-up and an email channel."""
    cloudflare.reset("demo")
    accounts = []
    for cloudflare_id, name in DEMO_ACCOUNTS:
        account = Account.objects.create(cloudflare_id=cloudflare_id, name=name)
        pipeline.sync_account(account, raise_on_error=True)
        accounts.append(account)
    prod = accounts[0]
    topup = TopUp.objects.create(
        account=prod,
        amount_cents=5000,
        fee_cents=250,
        status=TopUpStatus.COMPLETED,
        requested_at=timezone.now(),
        completed_at=timezone.now(),
        card_brand="visa",
        card_last4="4242",
        payment_intent_id=f"in_{uuid.uuid4().hex[:12]}",
    )
    channel = NotificationChannel.objects.create(
        name="Finance", kind=ChannelKind.EMAIL, emails=["finance@example.test"]
    )
    gateway = Gateway.objects.filter(account=prod, rules__isnull=False).order_by("gateway_id").first()
    assert gateway is not None, "the demo's first account has a gateway with rules"
    return Demo(account=prod, gateway_id=gateway.gateway_id, topup=topup, channel=channel)


def person(make_user, role: str):
    if role == "superuser":
        return make_user("sam-super", is_superuser=True, is_staff=True)
    user = make_user(f"{role}-person")
    for account in Account.objects.all():
        AccountAccess.objects.create(user=user, account=account, role=ROLES[role])
    return user


def check_every_page(chromium, base: str, demo: Demo, username: str) -> dict[str, list[str]]:
    """Every page as one person: axe's WCAG A/AA violations at desktop size, then what sticks out sideways at
    a phone's size. A page this person may not see must still be a page (a heading saying so), never a 500."""
    context = chromium.new_context(viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.base = base
    log_in(page, username, PASSWORD)
    axe = Axe()
    problems: dict[str, list[str]] = {}
    for name, path in page_urls(demo):
        page.set_viewport_size({"width": 1280, "height": 860})
        response = page.goto(base + path)
        assert response is not None and response.status < 500, f"{name}: {response and response.status}"
        if response.status in (403, 404):
            assert page.locator("h1").count() == 1, f"{name}: the refusal is a page with a heading"
        results = axe.run(
            page, options={"runOnly": {"type": "tag", "values": WCAG_A_AA}, "resultTypes": ["violations"]}
        )
        for violation in results.response["violations"]:
            targets = [
                f"{' '.join(node['target'])}: {node.get('failureSummary', '')[:160]}"
                for node in violation["nodes"]
            ][:3]
            problems.setdefault(name, []).append(f"axe {violation['id']}: {violation['help']} {targets}")
        page.set_viewport_size(PHONE)
        for found in page.evaluate(SIDEWAYS_OVERFLOW_JS):
            problems.setdefault(name, []).append(f"phone: {found}")
    context.close()
    return problems


def test_every_page_as_each_role_is_accessible_and_fits_a_phone(chromium, live_server, demo, make_user):
    report = []
    for role in ROLES:
        problems = check_every_page(chromium, live_server.url, demo, person(make_user, role).username)
        report += [f"{role} · {name}: {line}" for name, lines in problems.items() for line in lines]
    assert len(page_urls(demo)) >= 30
    assert report == [], "\n".join(report)
