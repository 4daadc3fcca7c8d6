"""Switching a gateway rule on or off, removing it (after a confirmation page), and switching the gateway's
spend limits on: managers only."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from billing import operations
from billing.forms.gateway_rules import GatewayRuleActionForm
from billing.models import Role
from billing.permissions import get_account_for
from billing.views.common import account_context, client_ip
from billing.views.gateway_rules import gateway_or_404, gateway_rules, rule_name, rule_or_404


def _action_page(request, account, gateway, rule, form, *, action, over_spend=None, error=None, status=200):
    context = account_context(
        account,
        "gateways",
        gateway=gateway,
        rule=rule,
        rule_name=rule_name(rule),
        form=form,
        action=action,
        over_spend=over_spend,
        error=error,
    )
    return render(request, "billing/gateway_rule_action.html", context, status=status)


def _fresh_form(gateway, rule) -> GatewayRuleActionForm:
    return GatewayRuleActionForm(
        initial=GatewayRuleActionForm.shown_initial(gateway.modified_at, rule.rule_id)
    )


def _back(account, gateway) -> HttpResponse:
    return redirect("gateway_rules", account_id=account.cloudflare_id, gateway_id=gateway.gateway_id)


def _act(request, account, gateway, rule, action: str, call) -> HttpResponse:
    """Runs one action from a valid form; pages for a needed confirmation, a refusal and an error."""
    form = GatewayRuleActionForm(request.POST)
    if not form.is_valid():
        return _action_page(
            request, account, gateway, rule, _fresh_form(gateway, rule), action=action, status=400
        )
    data = form.cleaned_data
    change = operations.RuleChange(gateway.gateway_id, data["modified_at"], data["intent_key"])
    ref = operations.RuleRef(rule.position, data["rule_id"] or rule.rule_id)
    try:
        result = call(change, ref, data["confirmed"])
    except operations.ConfirmationNeeded as exc:
        confirm = GatewayRuleActionForm(initial={**data, "confirmed": True})
        return _action_page(
            request, account, gateway, rule, confirm, action=action, over_spend=exc.over_spend, status=409
        )
    except operations.OperationError as exc:
        if exc.unknown:
            return gateway_rules(request, account.cloudflare_id, gateway.gateway_id, error=exc, status=502)
        gateway.refresh_from_db()
        status = 409 if isinstance(exc, operations.GatewayChanged) else 502
        return _back_with_error(request, account, gateway, rule, action, exc, status)
    if result.created:
        messages.success(request, f"{rule_name(rule).capitalize()}: {ACTION_DONE[action]}")
    else:
        messages.info(request, "This change was already submitted; it was not sent again.")
    return _back(account, gateway)


def _back_with_error(request, account, gateway, rule, action, exc, status) -> HttpResponse:
    still = gateway.rules.filter(position=rule.position).first()
    if still is None:
        return gateway_rules(request, account.cloudflare_id, gateway.gateway_id, error=exc, status=status)
    form = _fresh_form(gateway, still)
    return _action_page(request, account, gateway, still, form, action=action, error=exc, status=status)


ACTION_DONE = {
    "remove": "removed in Cloudflare.",
    "enable": "switched on in Cloudflare.",
    "disable": "switched off in Cloudflare.",
}


@require_http_methods(["GET", "POST"])
def gateway_rule_remove(
    request: HttpRequest, account_id: str, gateway_id: str, position: int
) -> HttpResponse:
    """Asks for confirmation, then removes the rule."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    gateway = gateway_or_404(account, gateway_id)
    rule = rule_or_404(gateway, position)
    if request.method == "GET":
        return _action_page(request, account, gateway, rule, _fresh_form(gateway, rule), action="remove")

    def remove(change, ref, confirmed):
        return operations.remove_rule(account, request.user, change, ref, ip_address=client_ip(request))

    return _act(request, account, gateway, rule, "remove", remove)


@require_POST
def gateway_rule_toggle(
    request: HttpRequest, account_id: str, gateway_id: str, position: int
) -> HttpResponse:
    """Switches the rule on when it is off, off when it is on (as the page showed it)."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    gateway = gateway_or_404(account, gateway_id)
    rule = rule_or_404(gateway, position)
    enable = not rule.enabled

    def toggle(change, ref, confirmed):
        return operations.set_rule_enabled(
            account, request.user, change, ref, enable, confirmed=confirmed, ip_address=client_ip(request)
        )

    return _act(request, account, gateway, rule, "enable" if enable else "disable", toggle)


@require_POST
def gateway_spend_limits_enable(request: HttpRequest, account_id: str, gateway_id: str) -> HttpResponse:
    """Switches the gateway's spend limits on, so Cloudflare enforces its rules."""
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    gateway = gateway_or_404(account, gateway_id)
    form = GatewayRuleActionForm(request.POST)
    if not form.is_valid():
        damaged = operations.OperationError("The form is damaged; open the page again.")
        return gateway_rules(request, account.cloudflare_id, gateway.gateway_id, error=damaged, status=400)
    data = form.cleaned_data
    change = operations.RuleChange(gateway.gateway_id, data["modified_at"], data["intent_key"])
    try:
        result = operations.enable_spend_limits(account, request.user, change, ip_address=client_ip(request))
    except operations.OperationError as exc:
        status = 409 if isinstance(exc, operations.GatewayChanged) else 502
        return gateway_rules(request, account.cloudflare_id, gateway.gateway_id, error=exc, status=status)
    if result.created:
        messages.success(request, "Spend limits switched on in Cloudflare: the gateway's rules are enforced.")
    else:
        messages.info(request, "This change was already submitted; it was not sent again.")
    return _back(account, gateway)
