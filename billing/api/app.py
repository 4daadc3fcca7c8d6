"""The API's one NinjaAPI: version 1 under /api/v1/, read-only, personal access tokens only.

Each area is a router (ROUTERS); a new area (the ledger, statements) is a module in `routers/` and a line
here. Only GET operations exist, so any other method answers 405 before the token is read."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError

from billing.api.auth import PersonalToken, RateLimited
from billing.api.errors import BadInput
from billing.api.routers import accounts, alerts, cost_centers, invoices, ledger, month, periods, spend, usage

ROUTERS = (
    accounts.router,
    month.router,
    usage.router,
    spend.router,
    invoices.router,
    periods.router,
    cost_centers.router,
    ledger.router,
    alerts.router,
)

api = NinjaAPI(
    title="AI Gateway billing portal API",
    version="1",
    description=(
        "Read-only. Authenticate with a personal access token: `Authorization: Bearer agbp_…`. Money is a "
        "decimal string with its currency; times are ISO 8601 in UTC."
    ),
    urls_namespace="api-v1",
    auth=PersonalToken(),
)
for router in ROUTERS:
    api.add_router("/", router)


@api.exception_handler(AuthenticationError)
def unauthorized(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    response = api.create_response(
        request,
        {"detail": "A valid personal access token is required (Authorization: Bearer …)."},
        status=401,
    )
    response["WWW-Authenticate"] = 'Bearer realm="api"'
    return response


@api.exception_handler(RateLimited)
def rate_limited(request: HttpRequest, exc: RateLimited) -> HttpResponse:
    response = api.create_response(request, {"detail": str(exc)}, status=429)
    response["Retry-After"] = str(exc.retry_after)
    return response


@api.exception_handler(BadInput)
def bad_input(request: HttpRequest, exc: BadInput) -> HttpResponse:
    return api.create_response(request, {"detail": exc.problems}, status=400)


def urls() -> tuple[list, str, str]:
    """The API's URL patterns, public to Django's LoginRequiredMiddleware (the token is the API's sign-in;
    a session cookie lets nothing in)."""
    patterns, app_name, namespace = api.urls
    for pattern in _flatten(patterns):
        pattern.callback.login_required = False
    return patterns, app_name, namespace


def _flatten(patterns: list) -> list:
    found = []
    for pattern in patterns:
        if hasattr(pattern, "url_patterns"):
            found.extend(_flatten(pattern.url_patterns))
        else:
            found.append(pattern)
    return found
