from datetime import datetime, time, timedelta

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from billing import display, operations
from billing.figures import limit_window_start, spend_in_limit_window
from billing.forms.money import SpendingLimitForm
from billing.models import AuditAction, BalanceSnapshot, LimitDuration, LimitStrategy, Role
from billing.money import cents_to_dollars, format_money
from billing.permissions import get_account_for
from billing.views.common import (
    STALE_FORM,
    account_context,
    client_ip,
    intent_key_of,
    write_context,
    write_messages,
)

WRITES = (AuditAction.SPENDING_LIMIT_SET, AuditAction.SPENDING_LIMIT_DELETE)

SLIDING_SPAN: dict[str, str] = {
    LimitDuration.DAILY: "24 hours",
    LimitDuration.WEEKLY: "7 days",
    LimitDuration.MONTHLY: "30 days",
}


def _next_start(duration: str, start: datetime) -> datetime:
    """When a fixed window that began at `start` (local midnight) ends: the next day, Monday or 1st."""
    zone = timezone.get_default_timezone()
    day = start.astimezone(zone).date()
    if duration == LimitDuration.DAILY:
        after = day + timedelta(days=1)
    elif duration == LimitDuration.WEEKLY:
        after = day + timedelta(days=7)
    else:
        after = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(after, time(), tzinfo=zone)


def _when(when: datetime) -> str:
    return display.moment(when, "%b %-d, %Y %H:%M")


def warnings_for(account, amount_cents: int, duration: str, strategy: str) -> list[str]:
    """Reasons to think twice before setting this limit: spend in its current window already reaches it, so
    Cloudflare would stop AI Gateway requests at once."""
    now = timezone.now()
    spent = spend_in_limit_window(account, duration, strategy, now)
    limit = cents_to_dollars(amount_cents)
    if spent < limit:
        return []
    start = limit_window_start(duration, strategy, now)
    if strategy == LimitStrategy.SLIDING:
        window = f"the last {SLIDING_SPAN[duration]} ({_when(start)} – now)"
        until = f"until enough of that spend is older than {SLIDING_SPAN[duration]} to fall below the limit"
    else:
        end = _next_start(duration, start)
        window = f"this {LimitDuration(duration).label.lower()} window ({_when(start)} – {_when(end)})"
        until = f"until the window resets on {_when(end)}"
    return [
        f"This account has already spent {format_money(spent)} in {window}, at or above the new limit of "
        f"{format_money(limit)}. Cloudflare stops AI Gateway requests at once, {until}."
    ]


def _page(request, account, form, *, warnings=(), error=None, status=200) -> HttpResponse:
    snapshot = BalanceSnapshot.objects.latest_for(account)
    limit = account.one_to_one("spending_limit")
    writes = write_context(account, WRITES)
    if warnings:
        writes["intent_key"] = intent_key_of(request) or writes["intent_key"]
    context = account_context(
        account,
        "spending_limit",
        **writes,
        limit=limit if limit and limit.enabled else None,
        refusal=operations.spending_limit_refusal(account),
        snapshot=snapshot,
        # Cloudflare refuses a limit until the account's first top-up has succeeded.
        needs_first_topup=snapshot is not None and snapshot.first_topup_success is False,
        form=form,
        warnings=warnings,
        confirmed=form.fingerprint() if warnings else "",
        error=error,
        gateways=account.gateways.all(),
    )
    return render(request, "billing/spending_limit.html", context, status=status)


@require_http_methods(["GET", "POST"])
def spending_limit(request: HttpRequest, account_id: str) -> HttpResponse:
    """View the spending limit and the spend in its current window; managers set it."""
    need = Role.MANAGER if request.method == "POST" else Role.VIEWER
    account = get_account_for(request.user, account_id, need=need)
    if request.method == "GET":
        limit = account.one_to_one("spending_limit")
        initial = {}
        if limit and limit.enabled and limit.amount is not None:
            initial = {
                "amount": f"{limit.amount:.2f}",
                "duration": limit.duration,
                "strategy": limit.strategy,
            }
        return _page(request, account, SpendingLimitForm(initial=initial))
    form = SpendingLimitForm(request.POST)
    if not form.is_valid():
        return _page(request, account, form, status=400)
    data = form.cleaned_data
    warnings = warnings_for(account, data["amount"], data["duration"], data["strategy"])
    intent_key = intent_key_of(request)
    if intent_key is None:
        return _page(request, account, form, error=STALE_FORM, status=400)
    if warnings and request.POST.get("confirmed") != form.fingerprint():
        return _page(request, account, form, warnings=warnings)
    try:
        result = operations.set_spending_limit(
            account,
            request.user,
            amount_cents=data["amount"],
            duration=data["duration"],
            strategy=data["strategy"],
            intent_key=intent_key,
            ip_address=client_ip(request),
        )
    except operations.OperationError as exc:
        return _page(request, account, form, error=exc, status=502)
    window = LimitDuration(data["duration"]).label.lower()
    strategy = LimitStrategy(data["strategy"]).label.lower()
    amount = format_money(cents_to_dollars(data["amount"]))
    write_messages(request, result, f"Spending limit set: {amount} per {window} window ({strategy}).")
    return redirect("spending_limit", account_id=account.cloudflare_id)


@require_http_methods(["GET", "POST"])
def spending_limit_remove(request: HttpRequest, account_id: str) -> HttpResponse:
    """Asks for confirmation, then removes the spending limit."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    error = None
    if request.method == "POST":
        intent_key = intent_key_of(request)
        try:
            if intent_key is None:
                raise STALE_FORM
            result = operations.remove_spending_limit(
                account, request.user, intent_key=intent_key, ip_address=client_ip(request)
            )
        except operations.OperationError as exc:
            error = exc
        else:
            write_messages(request, result, "The spending limit is removed.")
            return redirect("spending_limit", account_id=account.cloudflare_id)
    limit = account.one_to_one("spending_limit")
    context = account_context(
        account, "spending_limit", limit=limit, error=error, **write_context(account, WRITES)
    )
    return render(request, "billing/spending_limit_remove.html", context, status=502 if error else 200)
