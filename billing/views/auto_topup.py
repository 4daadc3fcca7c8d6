from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing import operations
from billing.figures import peak_daily_spend
from billing.forms.fields import DollarsField, field_of
from billing.forms.money import AutoTopUpForm
from billing.limits import auto_topup_bounds, portal_max_cents
from billing.models import AuditAction, BalanceSnapshot, Role
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

WRITES = (AuditAction.AUTO_TOPUP_SET, AuditAction.AUTO_TOPUP_DELETE)

PEAK_DAYS = 14


def warnings_for(account, amount_cents: int, threshold_cents: int) -> list[str]:
    """Reasons to think twice before saving this auto top-up configuration."""
    warnings = []
    threshold = cents_to_dollars(threshold_cents)
    peak = peak_daily_spend(account, days=PEAK_DAYS)
    if peak is not None and threshold < peak:
        warnings.append(
            f"The threshold ({format_money(threshold)}) is below this account's peak daily spend of the last "
            f"{PEAK_DAYS} days ({format_money(peak)}): on a day like that the balance could run out between "
            f"Cloudflare's checks. A threshold of at least {format_money(peak)} is safer."
        )
    snapshot = BalanceSnapshot.objects.latest_for(account)
    if snapshot is not None and snapshot.balance < threshold:
        warnings.append(
            f"The balance ({format_money(snapshot.balance)}) is already below the threshold: saving will "
            f"buy {format_money(cents_to_dollars(amount_cents))} of credit at once, charged to the account's "
            "card."
        )
    return warnings


def _page(request, account, form, *, warnings=(), error=None, status=200) -> HttpResponse:
    amount_bounds, threshold_bounds = auto_topup_bounds(account)
    writes = write_context(account, WRITES)
    if warnings:
        # Accepting the warnings submits the same intent.
        writes["intent_key"] = intent_key_of(request) or writes["intent_key"]
    context = account_context(
        account,
        "auto_topup",
        **writes,
        config=account.one_to_one("auto_topup"),
        refusal=operations.auto_topup_refusal(account),
        snapshot=BalanceSnapshot.objects.latest_for(account),
        form=form,
        warnings=warnings,
        error=error,
        amount_min=cents_to_dollars(amount_bounds.min_cents),
        threshold_min=cents_to_dollars(threshold_bounds.min_cents),
        amount_max=cents_to_dollars(amount_bounds.max_cents),
        # The ceiling is Cloudflare's own only when it is below the portal's (see limits.topup_bounds).
        max_from_cloudflare=amount_bounds.max_cents < portal_max_cents(),
        peak=peak_daily_spend(account, days=PEAK_DAYS),
        peak_days=PEAK_DAYS,
    )
    return render(request, "billing/auto_topup.html", context, status=status)


def _form(account, data=None, initial=None) -> AutoTopUpForm:
    amount_bounds, threshold_bounds = auto_topup_bounds(account)
    form = AutoTopUpForm(data, initial=initial, max_cents=amount_bounds.max_cents)
    field_of(form, "amount", DollarsField).min_cents = amount_bounds.min_cents
    field_of(form, "threshold", DollarsField).min_cents = threshold_bounds.min_cents
    return form


@require_http_methods(["GET", "POST"])
def auto_topup(request: HttpRequest, account_id: str) -> HttpResponse:
    """View the auto top-up config; managers set it (with warnings to accept first where they apply)."""
    need = Role.MANAGER if request.method == "POST" else Role.VIEWER
    account = get_account_for(request.user, account_id, need=need)
    if request.method == "GET":
        config = account.one_to_one("auto_topup")
        initial = {}
        if config and config.amount is not None:
            initial = {"amount": f"{config.amount:.2f}", "threshold": f"{config.threshold:.2f}"}
        return _page(request, account, _form(account, initial=initial))
    form = _form(account, request.POST)
    if not form.is_valid():
        return _page(request, account, form, status=400)
    amount, threshold = form.cleaned_data["amount"], form.cleaned_data["threshold"]
    warnings = warnings_for(account, amount, threshold)
    intent_key = intent_key_of(request)
    if intent_key is None:
        return _page(request, account, form, error=STALE_FORM, status=400)
    if warnings and not form.cleaned_data["accept_warnings"]:
        return _page(request, account, form, warnings=warnings)
    try:
        result = operations.set_auto_topup(
            account,
            request.user,
            amount_cents=amount,
            threshold_cents=threshold,
            intent_key=intent_key,
            ip_address=client_ip(request),
        )
    except operations.OperationError as exc:
        return _page(request, account, form, error=exc, status=502)
    done = (
        f"Auto top-up is on: {format_money(cents_to_dollars(amount))} whenever the balance falls below "
        f"{format_money(cents_to_dollars(threshold))}."
    )
    write_messages(request, result, done)
    return redirect("auto_topup", account_id=account.cloudflare_id)


@require_http_methods(["GET", "POST"])
def auto_topup_remove(request: HttpRequest, account_id: str) -> HttpResponse:
    """Asks for confirmation, then turns auto top-up off."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    error = None
    if request.method == "POST":
        intent_key = intent_key_of(request)
        try:
            if intent_key is None:
                raise STALE_FORM
            result = operations.remove_auto_topup(
                account, request.user, intent_key=intent_key, ip_address=client_ip(request)
            )
        except operations.OperationError as exc:
            error = exc
        else:
            write_messages(request, result, "Auto top-up is off.")
            return redirect("auto_topup", account_id=account.cloudflare_id)
    context = account_context(
        account,
        "auto_topup",
        **write_context(account, WRITES),
        config=account.one_to_one("auto_topup"),
        refusal=operations.auto_topup_refusal(account),
        error=error,
    )
    return render(request, "billing/auto_topup_remove.html", context, status=502 if error else 200)
