"""The account's month against its budget: everyone who sees the account reads it; its admins set it."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from billing.figures.month import FORECAST_BASIS_DAYS, MIN_HISTORY_DAYS, budget_of
from billing.forms.budget import BudgetForm
from billing.models import Role
from billing.money import cents_to_dollars, format_money
from billing.operations.budget import set_monthly_budget
from billing.permissions import get_account_for, rank
from billing.views.common import account_context, client_ip


def month_context(account, figures) -> dict:
    """The month card's figures: month so far, forecast, the budget's use (the account page shows it too)."""
    month = figures.month if figures else None
    return {
        "month": month,
        "budget": budget_of(
            account.monthly_budget, month.to_date if month else None, month.forecast if month else None
        ),
        "forecast_basis_days": FORECAST_BASIS_DAYS,
        "min_history_days": MIN_HISTORY_DAYS,
    }


@require_http_methods(["GET", "POST"])
def budget(request: HttpRequest, account_id: str) -> HttpResponse:
    need = Role.ADMIN if request.method == "POST" else Role.VIEWER
    account = get_account_for(request.user, account_id, need=need)
    if request.method == "POST":
        form = BudgetForm(request.POST)
        if form.is_valid():
            amount = form.cleaned_data["amount"]
            set_monthly_budget(account, request.user, amount, ip_address=client_ip(request))
            words = f"set to {format_money(cents_to_dollars(amount))}" if amount is not None else "removed"
            messages.success(request, f"Monthly budget {words}.")
            return redirect("budget", account_id=account.cloudflare_id)
    else:
        initial = {"amount": f"{account.monthly_budget:.2f}"} if account.monthly_budget is not None else {}
        form = BudgetForm(initial=initial)
    context = account_context(
        account, "account", form=form, can_set=rank(account.user_role) >= rank(Role.ADMIN)
    )
    context.update(month_context(account, context["figures"]))
    return render(request, "billing/budget.html", context, status=400 if form.errors else 200)
