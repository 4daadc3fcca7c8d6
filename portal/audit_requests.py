"""What the audit log learns from each web request: the address and user agent of every entry written
while serving it, and a POST on a money route that the portal refused (403: the person lacks the role)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse

from billing import audit

# The routes whose POSTs move money, change a limit or a rule, or queue an audited refresh (URL names).
MONEY_ROUTES = frozenset(
    {
        "refresh",
        "topup_new",
        "topup_confirm",
        "topup_check",
        "auto_topup",
        "auto_topup_remove",
        "spending_limit",
        "spending_limit_remove",
        "gateway_rule_add",
        "gateway_rule_edit",
        "gateway_rule_toggle",
        "gateway_rule_remove",
        "gateway_spend_limits_enable",
        "account_alert_rule",
        "account_alert_rule_reset",
    }
)


def _address(request: HttpRequest) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


class AuditRequestMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        with audit.request_context(_address(request), request.META.get("HTTP_USER_AGENT", "")):
            response = self.get_response(request)
            match = request.resolver_match
            if (
                request.method == "POST"
                and response.status_code == 403
                and match is not None
                and match.url_name in MONEY_ROUTES
            ):
                audit.record_refusal(request, "no permission for this action", status=403)
        return response
