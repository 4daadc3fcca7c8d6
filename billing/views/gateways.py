"""Where the money goes: the Gateways tab (spend and spend-limit rules per gateway) and the breakdown of
spend by model and provider. Local tables only: a page view makes no API call."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone

from billing import csv_cells
from billing.figures import charts
from billing.figures.gateway_spend import (
    SPEND_SUMS,
    GatewaySpend,
    history_of,
    preset,
    spend_over,
    spend_series,
)
from billing.figures.series import bucket_label
from billing.forms.spend_range import SpendRangeForm
from billing.models import Account, Gateway, SyncJob, SyncRun
from billing.permissions import get_account_for
from billing.views.common import account_context

FULL_WIDTH = 1200
# The breakdown CSV's costs: to six places (a millionth of a dollar), like the usage CSV; Cloudflare's sums
# carry float noise far below that.
COST_PLACES = Decimal("0.000001")
CSV_COLUMNS = (
    "range_start_utc",
    "range_end_utc",
    "source",
    "gateway",
    "model",
    "provider",
    "requests",
    "estimated_cost_usd",
    "tokens_in",
    "tokens_out",
    "cached_requests",
    "errored_requests",
    "range",
    "range_meaning",
    "data_from_utc",
)
# The Gateways tab's spend columns: the breakdown's presets, so each figure reads the same there.
COLUMNS = ("24h", "7d", "30d")
# A gateway without traffic in the last 30 days counts zero (a template filter's argument must exist).
NO_TRAFFIC = {"total_requests": 0, "total_errored_requests": 0, "total_cached_requests": 0}


def rules_url(account: Account, gateway: Gateway) -> str | None:
    """The rule editor's page for this gateway, once the editor exists (another part of the portal)."""
    if "gateway_rules" not in get_resolver().reverse_dict:
        return None  # checked first: a NoReverseMatch costs milliseconds (it lists every pattern tried)
    try:
        return reverse("gateway_rules", args=[account.cloudflare_id, gateway.gateway_id])
    except NoReverseMatch:
        return None


def gateways(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    now = timezone.now()
    history = history_of(account.pk, now)
    columns = [spend_over(account.pk, preset(key, now), "gateway", history=history) for key in COLUMNS]
    costs = [{group["gateway"]: group["total_cost"] for group in column.groups} for column in columns]
    month = {group["gateway"]: group for group in columns[-1].groups}
    rows: list[dict[str, Any]] = []
    for gateway in account.gateways.prefetch_related("rules"):
        rows.append(
            {
                "gateway": gateway,
                "costs": [
                    (key, cost.get(gateway.gateway_id, 0)) for key, cost in zip(COLUMNS, costs, strict=True)
                ],
                "month": month.get(gateway.gateway_id, NO_TRAFFIC),
                "rules": list(gateway.rules.all()),
                "edit": rules_url(account, gateway),
            }
        )
    # Costliest first over the longest column (then the one before it, ...), as a finance reader scans it.
    rows.sort(key=lambda row: (*(-cost for _, cost in reversed(row["costs"])), row["gateway"].gateway_id))
    # Spend of gateways no longer listed (deleted since) still counts: shown apart.
    listed = {row["gateway"].gateway_id for row in rows}
    context = account_context(
        account,
        "gateways",
        rows=rows,
        columns=columns,
        unlisted=[group for name, group in sorted(month.items()) if name not in listed],
        analytics=SyncRun.objects.last_finished(account, SyncJob.GATEWAY_SPEND),
    )
    return render(request, "billing/gateways.html", context)


def gateway_breakdown(request: HttpRequest, account_id: str) -> HttpResponseBase:
    account = get_account_for(request.user, account_id)
    form = SpendRangeForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    now = timezone.now()
    span = form.range_of(now) if valid else SpendRangeForm().range_of(now)
    history = history_of(account.pk, now)
    gateway = form.cleaned_data.get("gateway", "") if valid and form.is_bound else ""
    spend = spend_over(account.pk, span, "gateway", "model", "provider", history=history, gateway=gateway)
    if valid and request.GET.get("format") == "csv":
        return _csv(account, spend)
    by_model = spend.by("model", "provider")
    by_provider = spend.by("provider")
    series, hourly = spend_series(account.pk, span, history, gateway)
    window = "hour" if hourly else "day"
    bars = [charts.Bar(start=at, value=total, label=bucket_label(window, at)) for at, total in series]
    context = account_context(
        account,
        "gateways",
        form=form,
        valid=valid,
        spend=spend,
        hourly_since=history.hours_from,
        gateway=gateway,
        gateway_ids=list(account.gateways.values_list("gateway_id", flat=True)),
        series=charts.bar_chart(bars, title="Spend over the range", hourly=hourly, width=FULL_WIDTH),
        model_chart=charts.share_chart(
            [(f"{r['model'] or '–'} ({r['provider'] or '–'})", r["total_cost"]) for r in by_model[:12]],
            title="Spend by model",
        ),
        provider_chart=charts.share_chart(
            [(r["provider"] or "–", r["total_cost"]) for r in by_provider], title="Spend by provider"
        ),
        by_model=by_model,
        by_provider=by_provider,
        total=spend.total,
        analytics=SyncRun.objects.last_finished(account, SyncJob.GATEWAY_SPEND),
        csv_query=_csv_query(request),
    )
    return render(request, "billing/gateway_breakdown.html", context)


def _csv_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


def _csv(account: Account, spend: GatewaySpend) -> StreamingHttpResponse:
    """Spend of the range by gateway, model and provider (one line each), costliest first."""
    start, end = spend.range.start, spend.range.end
    filename = f"gateway-spend-{account.cloudflare_id[:8]}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    lines = _csv_lines(spend)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_lines(spend: GatewaySpend) -> Iterator[str]:
    span = spend.range
    # The range, its meaning and where its data really starts, on every line (as the range's bounds are).
    about = [span.label, span.meaning, spend.data_from.isoformat()]
    yield csv_cells.line(CSV_COLUMNS)
    for row in spend.groups:
        # A sum Cloudflare did not answer is an empty cell, never a zero that reads as "none".
        sums = [None if name in spend.unavailable else row[f"total_{name}"] for name in SPEND_SUMS]
        if sums[1] is not None:  # the cost, to the places the README states
            sums[1] = Decimal(sums[1]).quantize(COST_PLACES)
        bounds = [span.start.isoformat(), span.end.isoformat(), spend.source]
        yield csv_cells.line([*bounds, row["gateway"], row["model"], row["provider"], *sums, *about])
