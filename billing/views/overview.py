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
from django.db.models import BooleanField, Exists, ExpressionWrapper, Min, OuterRef, Q
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
from billing.figures import (
    STORED_FIGURES_COLUMNS,
    AccountFigures,
    figures_for_accounts,
    stored_figures_of_rows,
)
from billing.models import AlertEvent
from billing.money import format_money
from billing.notifications import portal_alerts
from billing.permissions import accounts_for

# What a row shows besides the stored figures.
COLUMNS = [
    "cloudflare_id",
    "name",
    "user_role",
    "auto_topup__amount",
    "auto_topup__threshold",
    "auto_topup__error",
    "auto_topup__disabled_reason",
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


# Rows per page of the overview: at 1,000 accounts the whole table would weigh over 600 KB and take 150 ms;
# what needs attention sorts first, so the first page is the one to read.
PAGE_ROWS = 50
# States the overview can be filtered by, with their labels.
STATES = {"": "Any state", "attention": "Needs attention", "stale": "Stale data", "ok": "All well"}
# Names of stale accounts listed in the banner before "and N more".
STALE_NAMES_SHOWN = 10


def overview(request: HttpRequest) -> HttpResponse:
    visible = accounts_for(request.user)
    every, computed = _light_rows(visible)
    query, state = request.GET.get("q", "").strip(), request.GET.get("state", "")
    state = state if state in STATES else ""
    shown = sorted(
        (row for row in every if _matches(row, query.lower(), state)),
        key=lambda row: (STATE_ORDER[row["state"]], row["label"].lower()),
    )
    page = Paginator(shown, PAGE_ROWS).get_page(request.GET.get("page"))
    rows = _page_rows(visible, [row["pk"] for row in page.object_list], computed)
    overall = visible.aggregate(oldest=Min("summary__data_as_of"), joined=Min("created_at"))
    oldest = overall["oldest"]
    stale = [row["label"] for row in every if row["stale"]]
    context = {
        "rows": rows,
        "rows_html": _rows_html(rows),
        "page": page,
        "total_accounts": len(every),
        "query": query,
        "state": state,
        "states": STATES,
        "filter_query": urlencode({key: value for key, value in (("q", query), ("state", state)) if value}),
        "data_as_of": oldest,
        "next_sync": oldest + timedelta(seconds=settings.SYNC_BALANCE_INTERVAL) if oldest else None,
        "stale_after_minutes": settings.STALE_AFTER_MINUTES,
        "stale_accounts": stale[:STALE_NAMES_SHOWN],
        "stale_more": max(0, len(stale) - STALE_NAMES_SHOWN),
        "sweeps": _sweeps(overall["joined"]) if every else watchdog.status_from(None, None),
    }
    return render(request, "billing/overview.html", context)


def _light_rows(visible) -> tuple[list[dict], dict[int, AccountFigures]]:
    """Every visible account as little as sorting and filtering need (a thousand rows: no datetimes to
    convert): its label, whether its data is stale, whether it has an open alert, and so its state; and the
    figures it had to compute for accounts with none stored."""
    stale_before = timezone.now() - timedelta(minutes=settings.STALE_AFTER_MINUTES)
    rows = visible.annotate(
        stale=ExpressionWrapper(Q(summary__data_as_of__lt=stale_before), output_field=BooleanField()),
        summarised=ExpressionWrapper(Q(summary__account__isnull=False), output_field=BooleanField()),
        alerting=Exists(AlertEvent.objects.open().filter(account=OuterRef("pk"))),
    ).values_list("pk", "cloudflare_id", "name", "stale", "summarised", "alerting")
    light = [
        {"pk": pk, "cloudflare_id": cf_id, "label": name or cf_id, "stale": bool(stale), "alerting": alerting}
        for pk, cf_id, name, stale, summarised, alerting in rows
    ]
    # Accounts without stored figures yet (never synced, or just added): their figures say.
    unsummarised = [row[0] for row in rows if not row[4]]
    computed = figures_for_accounts(unsummarised) if unsummarised else {}
    if computed or unsummarised:
        for row in light:
            if row["pk"] in unsummarised:
                figures = computed.get(row["pk"])
                row["stale"] = figures is None or figures.is_stale
    for row in light:
        row["state"] = "attention" if row["alerting"] else "stale" if row["stale"] else "ok"
    return light, computed


def _page_rows(visible, pks: list[int], computed: dict[int, AccountFigures]) -> list[dict]:
    """The rows of one page, with their stored figures (or those `computed` already) and open alerts, in
    the order of `pks`."""
    accounts = {
        row["pk"]: row for row in visible.filter(pk__in=pks).values(*COLUMNS, *STORED_FIGURES_COLUMNS)
    }
    figures = stored_figures_of_rows(row for pk, row in accounts.items() if pk not in computed)
    figures.update({pk: computed[pk] for pk in accounts if pk in computed})
    alerts = AlertEvent.objects.select_related("rule").only(*ALERT_COLUMNS).open_by_account(pks)
    urls = {"account": _Urls("account"), "account_alerts": _Urls("account_alerts")}
    return [_row(accounts[pk], figures.get(pk), alerts.get(pk, []), urls) for pk in pks if pk in accounts]


# Attention first: open alerts, then stale data, then the rest.
STATE_ORDER = {"attention": 0, "stale": 1, "ok": 2}


def _matches(row: dict, query: str, wanted: str) -> bool:
    """Whether a light row matches the name typed (any case, or part of the account id) and the state."""
    if query and query not in row["label"].lower() and query not in row["cloudflare_id"]:
        return False
    return not wanted or wanted == row["state"]


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


def _sweeps(oldest_joined) -> watchdog.SweepStatus:
    """Whether the jobs are alive; a late reading is also where a dead beat gets noticed."""
    sweeps = watchdog.status_from(watchdog.last_completed_sweep(), oldest_joined)
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
