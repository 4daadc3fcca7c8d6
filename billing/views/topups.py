from datetime import datetime, timedelta
from itertools import accumulate

from django.conf import settings
from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from billing import audit, operations
from billing.forms.money import TopUpConfirmForm, TopUpForm
from billing.limits import Bounds, topup_bounds, topup_range_text
from billing.models import BalanceSnapshot, Role, TopUp, TopUpStatus
from billing.money import cents_to_dollars, format_money
from billing.permissions import AuthenticatedHttpRequest, get_account_for
from billing.views.common import account_context, client_ip

PER_PAGE = 25
# How often the result page reloads itself while Cloudflare has not confirmed the top-up.
RESULT_REFRESH_SECONDS = 5


def topups(request: HttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    page = Paginator(account.topups.select_related("requested_by"), PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(request, "billing/topups.html", account_context(account, "topups", page=page))


def _form_page(
    request, account, form: TopUpForm, bounds: Bounds, error=None, status: int = 200
) -> HttpResponse:
    context = account_context(
        account,
        "topups",
        form=form,
        bounds=bounds,
        range_text=topup_range_text(bounds),
        snapshot=BalanceSnapshot.objects.latest_for(account),
        unsettled=operations.unsettled_topups(account),
        error=error,
    )
    return render(request, "billing/topup_new.html", context, status=status)


def _confirm_page(request, account, confirm: TopUpConfirmForm, amount: int, error=None, status=200):
    """The confirmation: amount, fee, total, card, and every unsettled top-up of the account with the
    "I have checked" box they require."""
    fee = operations.fee_cents(amount)
    snapshot = BalanceSnapshot.objects.latest_for(account)
    unsettled = operations.unsettled_topups(account)
    if confirm.is_bound and confirm.is_valid():
        unsettled = unsettled.exclude(intent_key=confirm.cleaned_data["intent_key"])
    context = account_context(
        account,
        "topups",
        confirm=confirm,
        amount_cents=amount,
        fee_cents=fee,
        total_cents=amount + fee,
        snapshot=snapshot,
        no_card=snapshot is not None and not snapshot.has_default_payment_method,
        unsettled=unsettled,
        error=error,
    )
    return render(request, "billing/topup_confirm.html", context, status=status)


def _shown_bounds(data, bounds: Bounds) -> Bounds:
    """The range the form's page showed (its hidden fields), or `bounds` when they are missing or garbled."""
    try:
        return Bounds(int(data["shown_min_cents"]), int(data["shown_max_cents"]))
    except (KeyError, ValueError):
        return bounds


def _changed_range(shown: Bounds, bounds: Bounds) -> str:
    """Why the range of an error differs from the one the page showed: Cloudflare's limits were fetched
    again since."""
    low, high = (format_money(cents_to_dollars(cents)) for cents in (shown.min_cents, shown.max_cents))
    return (
        f"Cloudflare's limits for this account changed since the page showed {low} to {high}: "
        f"{topup_range_text(bounds)}"
    )


@require_http_methods(["GET", "POST"])
def topup_new(request: HttpRequest, account_id: str) -> HttpResponse:
    """The amount form; a valid POST shows the confirmation page (amount, fee, total, card)."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    if request.method == "GET":
        bounds = topup_bounds(account)
        return _form_page(request, account, TopUpForm(bounds=bounds), bounds)
    # Cloudflare's limits as the last sync stored them: no page and no submit waits on Cloudflare. The form
    # carries the range its page showed, so a range a sync changed meanwhile is said, not slipped in.
    bounds = topup_bounds(account)
    shown = _shown_bounds(request.POST, bounds)
    form = TopUpForm(request.POST, bounds=bounds)
    if not form.is_valid():
        if bounds != shown and (form.has_error("amount", "min") or form.has_error("amount", "max")):
            form.add_error("amount", _changed_range(shown, bounds))
        return _form_page(request, account, form, bounds, status=400)
    amount = form.cleaned_data["amount"]
    confirm = TopUpConfirmForm(
        initial={"amount_cents": amount, "intent_key": TopUpConfirmForm.new_intent_key()}, bounds=bounds
    )
    return _confirm_page(request, account, confirm, amount)


@require_http_methods(["GET", "POST"])
def _posted(request: HttpRequest) -> dict[str, str]:
    return {name: str(value)[:100] for name, value in request.POST.items() if name != "csrfmiddlewaretoken"}


def topup_confirm(request: AuthenticatedHttpRequest, account_id: str) -> HttpResponse:
    """Sends the top-up, once per intent key however often the form is posted."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    if request.method == "GET":
        return redirect("topup_new", account_id=account.cloudflare_id)
    bounds = topup_bounds(account)
    confirm = TopUpConfirmForm(request.POST, bounds=bounds)
    if not confirm.is_valid():
        form = TopUpForm(bounds=bounds)
        error = " ".join(str(message) for errors in confirm.errors.values() for message in errors)
        # Its fields are hidden: an invalid one was changed in the browser (or the range moved since).
        audit.record_refusal(request, error, status=400, posted=_posted(request))
        return _form_page(request, account, form, bounds, error=operations.OperationError(error), status=400)
    try:
        result = operations.start_topup(
            account,
            request.user,
            confirm.cleaned_data["amount_cents"],
            confirm.cleaned_data["intent_key"],
            ip_address=client_ip(request),
            checked_unsettled=confirm.cleaned_data["checked_unsettled"],
        )
    except operations.UnsettledTopUps as exc:
        return _confirm_page(request, account, confirm, confirm.cleaned_data["amount_cents"], exc, status=409)
    except operations.OperationError as exc:
        amount = f"{cents_to_dollars(confirm.cleaned_data['amount_cents']):.2f}"
        form = TopUpForm(initial={"amount": amount}, bounds=bounds)
        return _form_page(request, account, form, bounds, error=exc, status=502)
    if not result.created:
        messages.info(request, "This top-up was already submitted; it was not sent again.")
    return redirect("topup_detail", account_id=account.cloudflare_id, pk=result.topup.pk)


def topup_detail(request: HttpRequest, account_id: str, pk: int) -> HttpResponse:
    """The result page: follows the status (reloading itself) until Cloudflare reports it completed."""
    account = get_account_for(request.user, account_id)
    topup = get_object_or_404(account.topups.select_related("requested_by"), pk=pk)
    needs_check = operations.needs_check(topup)
    waiting = topup.status in (TopUpStatus.REQUESTED, TopUpStatus.PENDING) and not needs_check
    context = account_context(
        account,
        "topups",
        topup=topup,
        needs_check=needs_check,
        waiting=waiting,
        refresh_seconds=RESULT_REFRESH_SECONDS if waiting else None,
        follow_gaps=_follow_gaps(),
        total_cents=topup.amount_cents + topup.fee_cents,
        balance_after=_balance_after(topup),
        balance_expected_by=_next_balance_sync(topup),
    )
    return render(request, "billing/topup_detail.html", context)


def _balance_after(topup: TopUp) -> BalanceSnapshot | None:
    """The first balance read after a completed top-up (the balance that includes it), if one was taken."""
    if topup.status != TopUpStatus.COMPLETED or topup.completed_at is None:
        return None
    return (
        BalanceSnapshot.objects.filter(account_id=topup.account_id, taken_at__gte=topup.completed_at)
        .order_by("taken_at")
        .first()
    )


def _next_balance_sync(topup: TopUp) -> datetime | None:
    """When the balance that includes a completed top-up is expected: a sync interval after it completed."""
    if topup.status != TopUpStatus.COMPLETED or topup.completed_at is None:
        return None
    return topup.completed_at + timedelta(seconds=settings.SYNC_BALANCE_INTERVAL)


def _follow_gaps() -> str:
    """ "5, 15, 35": when a fresh top-up is first asked about, in seconds after it was sent."""
    moments = list(accumulate(operations.FOLLOW_GAPS_SECONDS[:3]))
    return ", ".join(str(moment) for moment in moments)


@require_POST
def topup_check(request: HttpRequest, account_id: str, pk: int) -> HttpResponse:
    """Asks Cloudflare for this top-up's status now (a manager's button; the status job does it anyway)."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    topup = get_object_or_404(account.topups, pk=pk)
    operations.check_topup_now(topup)
    return redirect("topup_detail", account_id=account.cloudflare_id, pk=topup.pk)
