"""The spend-limit rules of one gateway: everyone with access sees them; managers add, edit, switch on or
off and remove them, and switch the gateway's spend limits on. Pages read the local mirror; each change goes
through `operations`."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from billing import operations
from billing.figures.rule_windows import seen_models_and_providers
from billing.forms.gateway_rules import GatewayRuleActionForm, GatewayRuleForm
from billing.limits import GATEWAY_RULES_MAX
from billing.models import Gateway, GatewayRule, Role
from billing.permissions import can_manage, get_account_for
from billing.views.common import account_context, client_ip


def gateway_or_404(account, gateway_id: str) -> Gateway:
    return get_object_or_404(Gateway.objects.filter(account=account), gateway_id=gateway_id)


def rule_or_404(gateway: Gateway, position: int) -> GatewayRule:
    return get_object_or_404(gateway.rules, position=position)


def rule_name(rule: GatewayRule | None) -> str:
    if rule is None:
        return "the new rule"
    return f"rule {rule.rule_id}" if rule.rule_id else f"rule {rule.position + 1}"


def _change(gateway: Gateway, form) -> operations.RuleChange:
    data = form.cleaned_data
    return operations.RuleChange(gateway.gateway_id, data["modified_at"], data["intent_key"])


def _ref(rule: GatewayRule, form) -> operations.RuleRef:
    return operations.RuleRef(rule.position, form.cleaned_data.get("rule_id") or rule.rule_id)


def _again(request, gateway: Gateway, **changes):
    """The posted data with a new intent key and the gateway's `modified_at` as stored now."""
    data = request.POST.copy()
    data.update(GatewayRuleForm.shown_initial(gateway.modified_at))
    data.pop("rule_id", None)
    for name, value in changes.items():
        data[name] = value
    return data


def _rows(gateway: Gateway, can_manage: bool) -> list[dict]:
    rows = []
    for rule in gateway.rules.all():
        action = None
        if can_manage:
            action = GatewayRuleActionForm(
                initial=GatewayRuleActionForm.shown_initial(gateway.modified_at, rule.rule_id)
            )
        rows.append({"rule": rule, "name": rule_name(rule), "action": action})
    return rows


def gateway_rules(
    request: HttpRequest, account_id: str, gateway_id: str, *, error=None, status=200
) -> HttpResponse:
    """The gateway's rules as last read from Cloudflare, with their current window."""
    account = get_account_for(request.user, account_id)
    gateway = gateway_or_404(account, gateway_id)
    manager = can_manage(account)
    rows = _rows(gateway, manager)
    enable_form = None
    if manager and not gateway.spend_limits_on:
        enable_form = GatewayRuleActionForm(initial=GatewayRuleActionForm.shown_initial(gateway.modified_at))
    context = account_context(
        account,
        "gateways",
        gateway=gateway,
        rows=rows,
        error=error,
        enable_form=enable_form,
        at_rule_limit=len(rows) >= GATEWAY_RULES_MAX,
        rule_limit=GATEWAY_RULES_MAX,
    )
    return render(request, "billing/gateway_rules.html", context, status=status)


def _form_page(request, account, gateway, form, rule=None, *, over_spend=None, error=None, status=200):
    context = account_context(
        account,
        "gateways",
        gateway=gateway,
        form=form,
        rule=rule,
        rule_name=rule_name(rule),
        over_spend=over_spend,
        error=error,
    )
    return render(request, "billing/gateway_rule_form.html", context, status=status)


def _seen(account, gateway: Gateway, rule: GatewayRule | None) -> tuple[list[str], list[str]]:
    """Models and providers to offer: those local analytics saw on the gateway, and the rule's own."""
    seen_models, seen_providers = seen_models_and_providers(account, gateway.gateway_id)
    if rule is None:
        return seen_models, seen_providers
    return sorted({*seen_models, *rule.models_filter}), sorted({*seen_providers, *rule.providers_filter})


def _rule_form(account, gateway, rule, data=None, initial=None) -> GatewayRuleForm:
    seen_models, seen_providers = _seen(account, gateway, rule)
    # The form edits one metadata key; any others are sent back as they were.
    kept = dict(list((rule.metadata or {}).items())[1:]) if rule is not None else {}
    return GatewayRuleForm(
        data,
        initial=initial,
        seen_models=seen_models,
        seen_providers=seen_providers,
        rule_name=rule_name(rule),
        kept_metadata=kept,
        new=rule is None,
    )


def _save(request, account, gateway: Gateway, rule: GatewayRule | None) -> HttpResponse:
    """Validates the posted rule form and sends it; the confirmation, refusal and error pages on the way."""
    form = _rule_form(account, gateway, rule, request.POST)
    if not form.is_valid():
        return _form_page(request, account, gateway, form, rule, status=400)
    draft = operations.RuleDraft(**form.rule_fields())
    options = {"confirmed": form.cleaned_data["confirmed"], "ip_address": client_ip(request)}
    try:
        if rule is None:
            result = operations.add_rule(account, request.user, _change(gateway, form), draft, **options)
        else:
            ref = _ref(rule, form)
            result = operations.edit_rule(
                account, request.user, _change(gateway, form), ref, draft, **options
            )
    except operations.TooManyRules as exc:
        return gateway_rules(request, account.cloudflare_id, gateway.gateway_id, error=exc, status=409)
    except operations.ConfirmationNeeded as exc:
        confirm = _rule_form(account, gateway, rule, _again_same_key(request))
        confirm.is_valid()
        return _form_page(request, account, gateway, confirm, rule, over_spend=exc.over_spend, status=409)
    except operations.GatewayChanged as exc:
        gateway.refresh_from_db()
        again = _rule_form(
            account, gateway, rule, _again(request, gateway, rule_id=rule.rule_id if rule else "")
        )
        again.is_valid()
        return _form_page(request, account, gateway, again, rule, error=exc, status=409)
    except operations.OperationError as exc:
        if exc.unknown:
            return gateway_rules(request, account.cloudflare_id, gateway.gateway_id, error=exc, status=502)
        again = _rule_form(
            account, gateway, rule, _again(request, gateway, rule_id=rule.rule_id if rule else "")
        )
        again.is_valid()
        return _form_page(request, account, gateway, again, rule, error=exc, status=502)
    _done(request, result, "Rule added." if rule is None else f"{rule_name(rule).capitalize()} saved.")
    for warning in operations.never_seen(account, draft):
        messages.warning(request, warning)
    return redirect("gateway_rules", account_id=account.cloudflare_id, gateway_id=gateway.gateway_id)


def _again_same_key(request):
    """The posted data, confirmed (the same intent key: confirming still acts once)."""
    data = request.POST.copy()
    data["confirmed"] = "on"
    return data


def _done(request, result: operations.RuleChangeResult, message: str) -> None:
    if result.created:
        messages.success(request, f"{message} Cloudflare has it now.")
    else:
        messages.info(request, "This change was already submitted; it was not sent again.")


@require_http_methods(["GET", "POST"])
def gateway_rule_add(request: HttpRequest, account_id: str, gateway_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    gateway = gateway_or_404(account, gateway_id)
    if request.method == "POST":
        return _save(request, account, gateway, None)
    count = gateway.rules.count()
    if count >= GATEWAY_RULES_MAX:
        error = operations.TooManyRules(count)
        return gateway_rules(request, account.cloudflare_id, gateway.gateway_id, error=error, status=409)
    form = _rule_form(account, gateway, None, initial=GatewayRuleForm.shown_initial(gateway.modified_at))
    return _form_page(request, account, gateway, form)


@require_http_methods(["GET", "POST"])
def gateway_rule_edit(request: HttpRequest, account_id: str, gateway_id: str, position: int) -> HttpResponse:
    account = get_account_for(request.user, account_id, need=Role.MANAGER)
    gateway = gateway_or_404(account, gateway_id)
    rule = rule_or_404(gateway, position)
    if request.method == "POST":
        return _save(request, account, gateway, rule)
    seen_models, seen_providers = _seen(account, gateway, rule)
    initial = GatewayRuleForm.initial_for(
        operations.draft_of(rule), gateway.modified_at, rule.rule_id, seen_models, seen_providers
    )
    return _form_page(request, account, gateway, _rule_form(account, gateway, rule, initial=initial), rule)
