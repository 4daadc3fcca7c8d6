"""Retakes docs/screenshots/*.png from the demo as it is: run `make run`, then, in another terminal,

    .venv/bin/python scripts/screenshots.py [--base http://127.0.0.1:8000]

It signs in as the demo's people in headless Chromium (Debian's /usr/bin/chromium) and photographs each page
the README shows, at desktop size and, for the overview, at a phone's 390 × 844. It buys $25 of credit for
Acme Prod in the sandbox to show the top-up's confirmation and result, as a person trying the demo would.
Not part of the test suite: the browser tests check the same pages, on data of their own.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import date, timedelta
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cloudflare_sandbox.seed import DEMO_ACCOUNTS  # noqa: E402  (the demo's accounts, where they are seeded)
from tests.support.browser_fixtures import CHROMIUM, CHROMIUM_ARGS  # noqa: E402  (as the browser tests launch it)

FOLDER = ROOT / "docs" / "screenshots"
PASSWORD = "demo-pass-2026"  # noqa: S105  (the published demo log-in, as load_demo sets it)

ACME_PROD, ACME_STAGING, LABS, RESEARCH = (cloudflare_id for cloudflare_id, _ in DEMO_ACCOUNTS)

# name → (who, path): each page photographed as the person who would use it.
PAGES = {
    "overview": ("manager", "/"),
    "account": ("manager", f"/accounts/{ACME_PROD}/"),
    "usage": ("manager", f"/accounts/{ACME_PROD}/usage/"),
    "invoices": ("manager", f"/accounts/{ACME_PROD}/invoices/"),
    "invoice-upcoming": ("manager", f"/accounts/{ACME_PROD}/invoices/upcoming/"),
    # The month of Acme Staging's support credit (ten days ago): a day explained as credit from elsewhere.
    "ledger": (
        "manager",
        f"/accounts/{ACME_STAGING}/ledger/?month={date.today() - timedelta(days=10):%Y-%m}",
    ),
    "reconciliation": ("manager", f"/accounts/{ACME_PROD}/reconciliation/"),
    "statement": ("manager", f"/accounts/{ACME_PROD}/statement/"),
    "auto-topup": ("manager", f"/accounts/{LABS}/auto-topup/"),
    "spending-limit": ("manager", f"/accounts/{RESEARCH}/spending-limit/"),
    "gateways": ("manager", f"/accounts/{ACME_PROD}/gateways/"),
    "gateway-breakdown": ("manager", f"/accounts/{ACME_PROD}/gateways/breakdown/"),
    "gateway-rules": ("manager", f"/accounts/{LABS}/gateways/experiments/rules/"),
    "gateway-rule-editor": ("manager", f"/accounts/{ACME_PROD}/gateways/chat-app/rules/0/edit/"),
    "people": ("admin", "/people/"),
}


def log_in(page: Page, base: str, username: str) -> None:
    page.goto(base + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(re.escape(base) + r"/(\?.*)?$"))


def shoot(page: Page, name: str) -> None:
    page.screenshot(path=str(FOLDER / f"{name}.png"), full_page=True)
    print(f"docs/screenshots/{name}.png  {page.url}")


def open_page(page: Page, base: str, path: str) -> None:
    response = page.goto(base + path)
    if response is None or response.status != 200:
        raise SystemExit(f"{path} answered {response.status if response else 'nothing'}: is `make run` up?")


def top_up(page: Page, base: str) -> None:
    """$25 for Acme Prod: the confirmation, then the result once the sandbox has completed it."""
    open_page(page, base, f"/accounts/{ACME_PROD}/topups/new/")
    page.fill("#id_amount", "25")
    page.click("button:text('Continue')")
    page.wait_for_selector("#total")
    shoot(page, "topup-confirm")
    page.click("button:has-text('Pay $')")
    page.wait_for_url(re.compile(r"/topups/\d+/"))
    # The portal asks the sandbox 5, 15 and 35 s after sending; the page reloads itself until it knows.
    page.wait_for_selector("text=Completed.", timeout=60_000)
    shoot(page, "topup-completed")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", default="http://127.0.0.1:8000")
    parser.add_argument("--no-topup", action="store_true", help="leave the top-up screenshots as they are")
    args = parser.parse_args(argv)
    FOLDER.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        contexts = {}
        for who in sorted({who for who, _ in PAGES.values()}):
            contexts[who] = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
            log_in(contexts[who], args.base, who)
        for name, (who, path) in PAGES.items():
            open_page(contexts[who], args.base, path)
            shoot(contexts[who], name)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True).new_page()
        log_in(phone, args.base, "manager")
        shoot(phone, "overview-mobile")
        if not args.no_topup:
            top_up(contexts["manager"], args.base)
        browser.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
