"""Where the money goes: the Gateways tab (spend and spend-limit rules per gateway) and the breakdown of
spend by model and provider. Local tables only: a page view makes no API call."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, get_resolver, reverse
from django.utils import timezone

from billing.figures import charts
from billing.figures.series import (
    gateway_spend_figures,
    regroup,
    spend_by,
    spend_rows,
    spend_series,
)
from billing.forms.spend_range import SpendRangeForm
from billing.models import Account, Gateway, SyncJob, SyncRun
from billing.permissions import get_account_for
from billing.sync.spend import hourly_history_start
from billing.views.common import account_context

FULL_WIDTH = 1200
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
)


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
    today = timezone.now().astimezone(UTC).date()
    figures = gateway_spend_figures(account, today)
    rows = []
    for gateway in account.gateways.prefetch_related("rules").order_by("-is_default", "gateway_id"):
        spend = figures.get(gateway.gateway_id, {})
        rows.append(
            {
                "gateway": gateway,
                "spend": spend,
                "rules": list(gateway.rules.all()),
                "edit": rules_url(account, gateway),
            }
        )
    # Spend of gateways no longer listed (deleted since) still counts: shown apart.
    listed = {row["gateway"].gateway_id for row in rows}
    context = account_context(
        account,
        "gateways",
        rows=rows,
        unlisted=[spend for name, spend in sorted(figures.items()) if name not in listed],
        analytics=SyncRun.objects.last_finished(account, SyncJob.GATEWAY_SPEND),
        today=today,
    )
    return render(request, "billing/gateways.html", context)


def gateway_breakdown(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    form = SpendRangeForm(request.GET or None)
    valid = form.is_valid() if form.is_bound else True
    now = timezone.now()
    start, end = form.bounds(now) if valid else SpendRangeForm().bounds(now)
    hourly_since = hourly_history_start(now)
    hourly = start >= hourly_since
    gateway = form.cleaned_data.get("gateway", "") if valid and form.is_bound else ""
    rows = spend_rows(account, start, end, hourly, gateway)
    if valid and request.GET.get("format") == "csv":
        return _csv(account, rows, start, end, hourly)
    by_model = spend_by(rows, "model", "provider")
    by_provider = regroup(by_model, "provider")
    total = sum((row["total_cost"] or 0 for row in by_provider), start=0)
    context = account_context(
        account,
        "gateways",
        form=form,
        valid=valid,
        start=start,
        end=end,
        hourly=hourly,
        hourly_since=hourly_since,
        gateway=gateway,
        gateway_ids=list(account.gateways.values_list("gateway_id", flat=True)),
        series=charts.bar_chart(
            spend_series(rows, hourly), title="Spend over the range", hourly=hourly, width=FULL_WIDTH
        ),
        model_chart=charts.share_chart(
            [(f"{r['model'] or '–'} ({r['provider'] or '–'})", r["total_cost"]) for r in by_model[:12]],
            title="Spend by model",
        ),
        provider_chart=charts.share_chart(
            [(r["provider"] or "–", r["total_cost"]) for r in by_provider], title="Spend by provider"
        ),
        by_model=by_model,
        by_provider=by_provider,
        total=total,
        analytics=SyncRun.objects.last_finished(account, SyncJob.GATEWAY_SPEND),
        csv_query=_csv_query(request),
    )
    return render(request, "billing/gateway_breakdown.html", context)


def _csv_query(request: HttpRequest) -> str:
    query = request.GET.copy()
    query["format"] = "csv"
    return query.urlencode()


def _csv(account: Account, rows, start: datetime, end: datetime, hourly: bool) -> StreamingHttpResponse:
    """Spend of the range by gateway, model and provider (one line each), costliest first."""
    filename = f"gateway-spend-{account.cloudflare_id[:8]}-{start:%Y%m%d}-{end:%Y%m%d}.csv"
    lines = _csv_lines(spend_by(rows, "gateway", "model", "provider"), start, end, hourly)
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def _csv_lines(groups: list[dict], start: datetime, end: datetime, hourly: bool) -> Iterator[str]:
    source = "hourly" if hourly else "daily"
    yield ",".join(CSV_COLUMNS) + "\r\n"
    for row in groups:
        names = [_cell(row["gateway"]), _cell(row["model"]), _cell(row["provider"])]
        yield (
            f"{start.isoformat()},{end.isoformat()},{source},{','.join(names)},{row['total_requests']},"
            f"{row['total_cost']},{row['total_tokens_in']},{row['total_tokens_out']},"
            f"{row['total_cached_requests']},{row['total_errored_requests']}\r\n"
        )


def _cell(value: str) -> str:
    """A CSV field: quoted when it holds a separator or a quote (model names come from Cloudflare)."""
    if any(ch in value for ch in ',"\r\n'):
        return '"' + value.replace('"', '""') + '"'
    return value
