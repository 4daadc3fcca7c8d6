"""The overview: every account the person may see, with its stored figures, in a fixed number of queries.

It is the one page whose size grows with the number of accounts, so it reads plain rows (not four model
instances per account), reverses each URL once, formats each value once, and renders the rows with Jinja2
(`templates/jinja2/billing/overview_rows.html`): Django's engine spent more on a 200-row loop than the rest
of the page. The cells other pages draw too come from the same Jinja2 partials (`_auto_topup_state.html`,
`alerts/_badges.html`), which the Django pages render through the `auto_topup_state` and `alert_badges`
tags.
"""

from datetime import timedelta
from urllib.parse import quote, urlencode

from django.conf import settings
from django.core.paginator import Paginator
from django.db.models import Min
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template import engines
from django.urls import reverse
from django.utils import timezone
from django.utils.http import RFC3986_SUBDELIMS
from django.utils.safestring import SafeString, mark_safe

from billing import display
from billing.alerts import headlines, watchdog
from billing.alerts import text as alert_text
from billing.figures import STORED_FIGURES_COLUMNS, AccountFigures, ledger, stored_figures_of_rows
from billing.figures.totals import totals_of
from billing.models import AlertEvent, LedgerDay
from billing.money import format_money
from billing.notifications import portal_alerts
from billing.permissions import Person, accounts_for

# What a row shows besides the stored figures.
COLUMNS = [
    "cloudflare_id",
    "name",
    "user_role",
    "auto_topup__amount",
    "auto_topup__threshold",
    "auto_topup__error",
    "auto_topup__disabled_reason",
    "monthly_budget",
]
ALERT_COLUMNS = (
    "account_id",
    "kind",
    "headline",
    "opened_at",
    "last_notified_at",
    "resolved_at",
    "level",
    "rule__kind",
    "rule__threshold",
    "rule__further_levels",  # the level an open alert reached is worded in its headline
    "subject",
)
AUTO_TOPUP_FIELDS = ("amount", "threshold", "error", "disabled_reason")


def overview_accounts(user: Person) -> list[dict]:
    """Every account the person sees, as rows the overview and the accounts CSV read (one query)."""
    return list(accounts_for(user).values(*COLUMNS, *STORED_FIGURES_COLUMNS))


# Rows per page of the overview: at 1,000 accounts the whole table would weigh over 600 KB and take 150 ms;
# what needs attention sorts first, so the first page is the one to read.
PAGE_ROWS = 50
# States the overview can be filtered by, with their labels.
STATES = {"": "Any state", "attention": "Needs attention", "stale": "Stale data", "ok": "All well"}
# Attention first: open alerts, then stale data, then the rest.
STATE_ORDER = {"attention": 0, "stale": 1, "ok": 2}
# Names of stale accounts listed in the banner before "and N more".
STALE_NAMES_SHOWN = 10


def overview(request: HttpRequest) -> HttpResponse:
    accounts = overview_accounts(request.user)
    figures = stored_figures_of_rows(accounts)
    # Open alerts of every visible account (few): what sorts first, and the badges of the page's rows.
    alerts = (
        AlertEvent.objects.select_related("rule")
        .only(*ALERT_COLUMNS)
        # A subquery of the person's accounts rather than a thousand bound ids.
        .open_by_account(accounts_for(request.user).values_list("pk", flat=True))
    )
    states = {a["pk"]: _state(a["pk"] in alerts, figures.get(a["pk"])) for a in accounts}
    query, state = request.GET.get("q", "").strip(), request.GET.get("state", "")
    state = state if state in STATES else ""
    shown = sorted(
        (a for a in accounts if _matches(a, states[a["pk"]], query.lower(), state)),
        key=lambda a: (STATE_ORDER[states[a["pk"]]], _label(a).lower()),
    )
    page = Paginator(shown, PAGE_ROWS).get_page(request.GET.get("page"))
    on_page = list(page.object_list)
    urls = {"account": _Urls("account"), "account_alerts": _Urls("account_alerts"), "ledger": _Urls("ledger")}
    unbalanced = ledger.unbalanced_recently([account["pk"] for account in on_page], timezone.now())
    rows = [_row(a, figures.get(a["pk"]), alerts.get(a["pk"], []), urls) for a in on_page]
    for account, row in zip(on_page, rows, strict=True):
        row["ledger"] = _ledger_flag(unbalanced.get(account["pk"]), urls["ledger"](account["cloudflare_id"]))
    moments = [f.data_as_of for f in figures.values() if f.data_as_of]
    oldest = min(moments) if moments else None
    stale = [_label(a) for a in accounts if _is_stale(figures.get(a["pk"]))]
    context = {
        "rows": rows,
        "totals": totals_of(figures.get(account["pk"]) for account in accounts),
        "rows_html": _rows_html(rows),
        "page": page,
        "total_accounts": len(accounts),
        "query": query,
        "state": state,
        "states": STATES,
        "filter_query": urlencode({key: value for key, value in (("q", query), ("state", state)) if value}),
        "data_as_of": oldest,
        "next_sync": oldest + timedelta(seconds=settings.SYNC_BALANCE_INTERVAL) if oldest else None,
        "stale_after_minutes": settings.STALE_AFTER_MINUTES,
        "stale_accounts": stale[:STALE_NAMES_SHOWN],
        "stale_more": max(0, len(stale) - STALE_NAMES_SHOWN),
        "sweeps": _sweeps(request.user, accounts),
    }
    return render(request, "billing/overview.html", context)


def _label(account: dict) -> str:
    return account["name"] or account["cloudflare_id"]


def _is_stale(figures: AccountFigures | None) -> bool:
    return figures is None or figures.is_stale


def _state(alerting: bool, figures: AccountFigures | None) -> str:
    """ "attention" (an open alert), "stale" (no recent sync) or "ok": what the overview sorts by."""
    if alerting:
        return "attention"
    return "stale" if _is_stale(figures) else "ok"


def _matches(account: dict, state: str, query: str, wanted: str) -> bool:
    """Whether the account matches the name typed (any case, or part of its id) and the state chosen."""
    if query and query not in _label(account).lower() and query not in account["cloudflare_id"]:
        return False
    return not wanted or wanted == state


def _rows_html(rows: list[dict]) -> SafeString:
    """The table's rows, rendered by the Jinja2 template (autoescaped, so its output is safe to insert)."""
    template = engines["jinja2"].get_template("billing/overview_rows.html")
    return mark_safe(template.render({"rows": rows}))  # noqa: S308


class _Urls:
    """A page's URL of every account, reversed once: reverse() per row was a tenth of the page."""

    PLACEHOLDER = "~account~"

    def __init__(self, name: str) -> None:
        self.prefix, _, self.suffix = reverse(name, args=[self.PLACEHOLDER]).partition(self.PLACEHOLDER)

    def __call__(self, cloudflare_id: str) -> str:
        # Quoted as reverse() quotes path arguments.
        return self.prefix + quote(cloudflare_id, safe=RFC3986_SUBDELIMS + "/~:@") + self.suffix


def _sweeps(user: Person, accounts: list[dict]) -> watchdog.SweepStatus:
    """Whether the jobs are alive (a small query of its own rather than two columns on each of a thousand
    rows); a late reading is also where a dead beat gets noticed."""
    if not accounts:
        return watchdog.status_from(None, None)
    last = watchdog.last_completed_sweep()
    # The oldest account matters only before any sweep has completed (how long the first has been awaited).
    oldest = None if last else accounts_for(user).aggregate(oldest=Min("created_at"))["oldest"]
    sweeps = watchdog.status_from(last, oldest)
    portal_alerts.check_from_request(sweeps)
    return sweeps


def _row(account: dict, figures: AccountFigures | None, alerts: list, urls: dict) -> dict:
    """What the template prints for one account, formatted once."""
    amount, threshold, error, reason = (account[f"auto_topup__{name}"] for name in AUTO_TOPUP_FIELDS)
    auto_topup = (amount, threshold, error or "", reason or "")
    balance = figures.balance if figures else None
    data_as_of = figures.data_as_of if figures else None
    return {
        "name": account["name"] or account["cloudflare_id"],
        "role": account["user_role"],
        "url": urls["account"](account["cloudflare_id"]),
        "balance": None if balance is None else format_money(balance),
        "negative": balance is not None and balance < 0,
        "spend_per_day": format_money(figures.spend_per_day if figures else None),
        "runway": display.days(figures.runway_days if figures else None),
        "as_of": display.ago(data_as_of) if data_as_of else "never",
        "data_as_of": data_as_of,
        "stale": figures is None or figures.is_stale,
        # The shared partials read it as they read an AutoTopUpConfig (see templates/jinja2/billing/).
        "auto_topup": dict(zip(AUTO_TOPUP_FIELDS, auto_topup, strict=True)),
        "limit": _limit(account, figures),
        "alerts": _shown_alerts(account, figures, auto_topup, alerts),
        "alerts_url": urls["account_alerts"](account["cloudflare_id"]),
    }


def _ledger_flag(worst: LedgerDay | None, url: str) -> dict | None:
    """The row's "ledger does not balance" flag: its link and words; None when every settled day balances."""
    if worst is None:
        return None
    return {"url": f"{url}?month={worst.day:%Y-%m}#ledger-{worst.day:%Y-%m-%d}", "day": f"{worst.day:%b %-d}"}


def _shown_alerts(account: dict, figures: AccountFigures | None, auto_topup: tuple, alerts: list) -> list:
    """The open alerts worded from the figures this row shows (only for the few accounts that have some)."""
    if not alerts:
        return []
    facts = headlines.Facts(
        name=account["name"] or account["cloudflare_id"],
        figures=figures,
        limit_amount=account["spending_limit__amount"] if account["spending_limit__enabled"] else None,
        limit_duration=account["spending_limit__duration"] or "",
        auto_topup=auto_topup,
    )
    return alert_text.shown(alerts, {account["pk"]: facts})


def _limit(account: dict, figures: AccountFigures | None) -> dict | None:
    """The spending-limit cell: amount, window, % used and its badge level; None when there is no limit."""
    if not account["spending_limit__enabled"]:
        return None
    used = figures.limit_used_percent if figures else None
    return {
        "amount": format_money(account["spending_limit__amount"]),
        "per": display.per_window(account["spending_limit__duration"]),
        "used": display.percent(used) + (" exceeded" if used is not None and used >= 100 else ""),
        "level": None if used is None else "bad" if used >= 90 else "warn" if used >= 75 else "neutral",
    }
