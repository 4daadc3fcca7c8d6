"""/accounts/{id}/alerts: the account's alerts, open and past, worded as the pages word them (an open one's
headline from today's figures)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Query, Router, Schema

from billing.alerts import headlines
from billing.alerts import text as alert_text
from billing.api.auth import account_of
from billing.api.pages import PageQuery, page_of
from billing.api.schemas import utc
from billing.models import Account, AlertEvent

router = Router(tags=["alerts"])


class AlertOut(Schema):
    id: int
    kind: (
        str  # low_balance, runway, auto_topup_failing, spending_limit, stale_data, usage_spike, gateway_rule
    )
    label: str
    severity: str
    subject: str  # what within the account, for kinds that have several (a gateway rule); else ""
    headline: str
    level: int  # the most severe level of the rule reached (1: the threshold)
    opened_at: datetime
    resolved_at: datetime | None
    details: dict  # figures at opening and resolution (money as decimal strings)


class AlertPage(Schema):
    count: int
    items: list[AlertOut]  # the newest first


class AlertQuery(PageQuery):
    state: Literal["all", "open", "resolved"] = "all"


@router.get("/accounts/{account_id}/alerts", response=AlertPage, summary="Alerts, open and past")
def alerts(request: HttpRequest, account_id: str, query: Query[AlertQuery]) -> AlertPage:
    account = account_of(request, account_id)
    events = AlertEvent.objects.filter(account=account).select_related("rule")
    if query.state != "all":
        events = events.filter(resolved_at__isnull=query.state == "open")
    count, found = page_of(events, query)
    return AlertPage(count=count, items=[_alert(row) for row in _shown(account, found)])


def _shown(account: Account, events: list[AlertEvent]) -> list[alert_text.Shown]:
    facts = {}
    if any(event.is_open for event in events):
        full = Account.objects.select_related("summary", "spending_limit", "auto_topup").filter(pk=account.pk)
        facts = headlines.facts_for(full)
    return alert_text.shown(events, facts)


def _alert(shown: alert_text.Shown) -> AlertOut:
    event = shown.event
    return AlertOut(
        id=event.pk,
        kind=event.kind,
        label=shown.label,
        severity=shown.severity,
        subject=event.subject,
        headline=shown.headline,
        level=event.level,
        opened_at=utc(event.opened_at),
        resolved_at=utc(event.resolved_at),
        details=event.details,
    )
