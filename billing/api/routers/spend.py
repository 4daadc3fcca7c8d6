"""/accounts/{id}/spend: gateway spend (Cloudflare's analytics estimate) over a range, by gateway, model and
provider: the breakdown page's figures, read by the same function with the same range form."""

from __future__ import annotations

from datetime import datetime

from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from billing.api.auth import account_of
from billing.api.errors import BadInput, form_problems
from billing.api.schemas import Money, money, utc
from billing.figures.gateway_spend import SPEND_SUMS, GatewaySpend, history_of, spend_over
from billing.forms.spend_range import SpendRangeForm

router = Router(tags=["spend"])
FIELDS = ("gateway", "model", "provider")
COUNTS = tuple(name for name in SPEND_SUMS if name != "cost")


class SpendQuery(Schema):
    """The breakdown page's range, validated by its form (so each problem reads as on the page)."""

    range: str | None = Field(None, description="24h, 7d (the default), 30d, 90d or custom")
    start: str | None = Field(None, description="for custom: the first UTC day, YYYY-MM-DD")
    end: str | None = Field(None, description="for custom: the last UTC day, included, YYYY-MM-DD")
    gateway: str | None = Field(None, description="one gateway's id; all gateways when absent")
    by: str = Field("gateway", description="comma-separated, any of gateway, model, provider")


class SpendGroup(Schema):
    gateway: str | None = None
    model: str | None = None
    provider: str | None = None
    cost: Money
    # requests, tokens_in, tokens_out, cached_requests, errored_requests; null where Cloudflare did not
    # answer that sum (see `unavailable`), never a zero that reads as "none"
    counts: dict[str, int | None]


class Spend(Schema):
    range_start: datetime
    range_end: datetime
    range_label: str
    range_meaning: str
    data_from: datetime  # later than range_start when the local history does not reach it
    source: str
    by: list[str]
    unavailable: list[str]
    total: Money
    groups: list[SpendGroup]  # the costliest first


def _by(text: str) -> tuple[str, ...]:
    asked = [name.strip() for name in text.split(",") if name.strip()]
    wrong = [name for name in asked if name not in FIELDS]
    if wrong or not asked:
        raise BadInput(
            {"by": [f"by is a comma-separated list of {', '.join(FIELDS)}; not {','.join(wrong)}."]}
        )
    return tuple(name for name in FIELDS if name in asked)


def _group(row: dict, by: tuple[str, ...], spend: GatewaySpend) -> SpendGroup:
    counts = {name: None if name in spend.unavailable else int(row[f"total_{name}"]) for name in COUNTS}
    names = {field: row[field] for field in by}
    return SpendGroup(**names, cost=money(row["total_cost"]), counts=counts)


@router.get(
    "/accounts/{account_id}/spend",
    response=Spend,
    summary="Gateway spend by gateway, model or provider",
    description="Cloudflare's analytics estimate, not the invoice. A preset ends with the last complete hour "
    "(UTC); `range_meaning` says what the range covers and `data_from` where its data really starts.",
)
def spend(request: HttpRequest, account_id: str, query: Query[SpendQuery]) -> Spend:
    account = account_of(request, account_id)
    by = _by(query.by)
    form = SpendRangeForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        raise BadInput(form_problems(form))
    now = timezone.now()
    gateway = form.cleaned_data.get("gateway", "") if form.is_bound else ""
    history = history_of(account.pk, now)
    found = spend_over(account.pk, form.range_of(now), *FIELDS, history=history, gateway=gateway)
    span = found.range
    return Spend(
        range_start=utc(span.start),
        range_end=utc(span.end),
        range_label=span.label,
        range_meaning=span.meaning,
        data_from=utc(found.data_from),
        source=found.source,
        by=list(by),
        unavailable=sorted(found.unavailable),
        total=money(found.total),
        groups=[_group(row, by, found) for row in found.by(*by)],
    )
