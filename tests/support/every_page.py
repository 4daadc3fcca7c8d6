"""Every page of the portal, for the browser checks that must hold on all of them (accessibility, phone
layout): which named routes are pages, how to fill in their arguments from the demo data, and which routes
are not pages (actions that only take a POST, downloads, machine endpoints).

A new route must be listed in PAGES or NOT_PAGES: `unlisted_routes()` names the ones that are in neither,
and a test fails on them, so no page escapes the checks by being new."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from billing.models import Account, NotificationChannel, TopUp


@dataclass(frozen=True)
class Demo:
    """The objects pages are shown for: an account with gateways and rules, a top-up, a channel."""

    account: Account
    gateway_id: str
    topup: TopUp
    channel: NotificationChannel


Args = Callable[[Demo], list]


def _account(demo: Demo) -> list:
    return [demo.account.cloudflare_id]


def _first_person() -> int:
    # The person page of whoever was made first: the one the check signs in as, in every role's run.
    return get_user_model().objects.order_by("pk").values_list("pk", flat=True)[0]


def _gateway(demo: Demo) -> list:
    return [demo.account.cloudflare_id, demo.gateway_id]


# name -> its arguments, and the query string it is shown with (if any).
PAGES: dict[str, tuple[Args, str]] = {
    "overview": (lambda demo: [], ""),
    "account": (_account, ""),
    "usage": (_account, ""),
    "invoices": (_account, ""),
    "ledger": (_account, ""),
    "ledger_print": (_account, ""),
    "invoice_upcoming": (_account, ""),
    "topups": (_account, ""),
    "topup_new": (_account, ""),
    "topup_detail": (lambda demo: [demo.account.cloudflare_id, demo.topup.pk], ""),
    "auto_topup": (_account, ""),
    "auto_topup_remove": (_account, ""),
    "spending_limit": (_account, ""),
    "spending_limit_remove": (_account, ""),
    "gateways": (_account, ""),
    "gateway_breakdown": (_account, "?range=30d"),
    "gateway_rules": (_gateway, ""),
    "gateway_rule_add": (_gateway, ""),
    "gateway_rule_edit": (lambda demo: [*_gateway(demo), 0], ""),
    "gateway_rule_remove": (lambda demo: [*_gateway(demo), 0], ""),
    "account_alerts": (_account, ""),
    "account_alert_rule": (lambda demo: [demo.account.cloudflare_id, "low_balance"], ""),
    "audit": (lambda demo: [], ""),
    "notification_settings": (lambda demo: [], ""),
    "alert_history": (lambda demo: [], ""),
    "alert_outbox": (lambda demo: [], ""),
    "alert_mail_files": (lambda demo: [], ""),
    "alert_channels": (lambda demo: [], ""),
    "alert_channel": (lambda demo: [demo.channel.pk], ""),
    "alert_defaults": (lambda demo: [], ""),
    "alert_default_edit": (lambda demo: ["low_balance"], ""),
    "two_factor": (lambda demo: [], ""),
    "people": (lambda demo: [], ""),
    "person": (lambda demo: [_first_person()], ""),
    "sudo": (lambda demo: [], "?next=/two-factor/"),
    "sso_roles": (lambda demo: [], ""),
    "budget": (_account, ""),
    "api_tokens": (lambda demo: [], ""),
    "reconciliation": (_account, ""),
    "statement": (_account, ""),
    "cost_centers": (_account, ""),
    "cost_center_add": (_account, ""),
}

# Routes that are not pages a person reads: a POST-only action, a redirect, a file or a machine endpoint.
NOT_PAGES = {
    "login",  # checked signed out, in its own test
    "logout",
    "two_factor_verify",  # only within a sign-in that asks for a code
    "two_factor_renew_codes",
    "two_factor_disable",
    "healthz",
    "favicon",
    "metrics",
    "refresh",
    "topup_confirm",  # reached only by posting the top-up form
    "topup_check",
    "gateway_spend_limits_enable",
    "gateway_rule_toggle",
    "account_alert_subscription",
    "account_alert_rule_reset",
    "alert_outbox_retry",
    "alert_test_email",
    "alert_mail_file",  # exists only once a mail file was written
    "alert_channel_action",
    "api_token_revoke",
    "accounts_csv",  # a CSV download
    "focus_export",  # a CSV download
    "invoices_csv",  # a CSV download
    "all_invoices_csv",  # a CSV download
    "cost_center_delete",  # POST only
    # Exist only with synced invoices or a cost center: tests/views/test_invoice_pages.py and
    # test_cost_centers.py open them.
    "invoice_detail",
    "usage_invoice",
    "cost_center_edit",
    "person_role",
    "person_remove",
    "account_alert_acknowledge",
    "account_alert_snooze",
    "invitation_accept",  # exists only with an emailed token; tests/browser/test_people.py opens one
    "alert_channel_rotate",
    "oidc_authentication_init",  # a redirect to the identity provider (404 while single sign-on is off)
    "oidc_authentication_callback",  # the provider's redirect back, checked in tests/portal/test_sso.py
}


def _names(patterns, namespaced: bool = False) -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            if entry.namespace:  # the Django admin: superusers' own tool, not the portal's pages
                continue
            yield from _names(entry.url_patterns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield entry.name


def unlisted_routes() -> set[str]:
    return set(_names(get_resolver().url_patterns)) - set(PAGES) - NOT_PAGES


def page_urls(demo: Demo) -> list[tuple[str, str]]:
    """(name, path) of every page, for `demo`."""
    urls = []
    for name, (args, query) in PAGES.items():
        urls.append((name, reverse(name, args=args(demo)) + query))
    return urls


# Whether anything on the page sticks out sideways: beyond the window (unless inside a box that scrolls
# sideways, as wide tables do in their card), out of the box that holds it (a row of badges that does not
# wrap, even inside a card that scrolls), or cut off by a box that hides what overflows it.
SIDEWAYS_OVERFLOW_JS = """
() => {
  const width = document.documentElement.clientWidth;
  const scrolls = (el) => {
    for (let box = el.parentElement; box; box = box.parentElement) {
      const overflow = getComputedStyle(box).overflowX;
      if (overflow === 'auto' || overflow === 'scroll') return true;
    }
    return false;
  };
  const classes = (el) => typeof el.className === 'string' && el.className.trim()
    ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
  const describe = (el) => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + classes(el) +
    ' "' + (el.innerText || '').trim().slice(0, 40) + '"';
  const found = [];
  for (const el of document.body.querySelectorAll('*')) {
    if (['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)) continue;  // their text scrolls inside them
    const box = el.getBoundingClientRect();
    if (box.width === 0 || box.height === 0) continue;
    const style = getComputedStyle(el);
    const parent = el.parentElement;
    const parentStyle = parent ? getComputedStyle(parent) : null;
    const held = parent && parent !== document.body && !['absolute', 'fixed'].includes(style.position) &&
      parentStyle.overflowX === 'visible' && parentStyle.display !== 'inline';
    if (box.right > width + 1 && !scrolls(el)) found.push('past the window: ' + describe(el));
    else if (held && box.right > parent.getBoundingClientRect().right + 1)
      found.push('out of its box: ' + describe(el));
    else if (['hidden', 'clip'].includes(style.overflowX) && el.scrollWidth > el.clientWidth + 1)
      found.push('cut off: ' + describe(el));
  }
  if (document.documentElement.scrollWidth > width + 1) found.push('the page scrolls sideways');
  return found.slice(0, 10);
}
"""
