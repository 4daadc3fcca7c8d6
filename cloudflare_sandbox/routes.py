"""Every API route of the sandbox: the billing operations, the gateways, and GraphQL analytics.

`resolve()` turns a method and path into a callable that the server runs with the state lock held and the
world's clock moved to now (the account it reads is advanced to it); it returns the HTTP status and the JSON
document to send.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import unquote

from . import api, gateways, graphql_api, wire
from .model import Billing

GATEWAYS_RE = re.compile(r"^/client/v4/accounts/(?P<account>[^/]+)/ai-gateway/gateways(?:/(?P<id>[^/]+))?/?$")
GRAPHQL_PATH = "/client/v4/graphql"

Route = Callable[[Billing, dict[str, Any]], tuple[int, Any]]


def _not_allowed(method: str, allowed: str) -> wire.ApiError:
    return wire.ApiError(405, [(wire.CODE_METHOD, f"Method {method} not allowed; use {allowed}")])


def resolve(method: str, path: str) -> Route:
    """Return the route for a request, or raise the 404/405 Cloudflare would send."""
    if path.rstrip("/") == GRAPHQL_PATH:
        if method != "POST":
            raise _not_allowed(method, "POST")
        return graphql_api.answer
    match = GATEWAYS_RE.match(path)
    if match:
        gateway_id = unquote(match["id"]) if match["id"] else None
        if gateway_id is None:
            if method != "GET":
                raise _not_allowed(method, "GET")
            handler: wire.Handler = gateways.list_gateways
        elif method == "GET":
            handler = functools.partial(gateways.get_gateway, gateway_id=gateway_id)
        elif method == "PUT":
            handler = functools.partial(gateways.put_gateway, gateway_id=gateway_id)
        else:
            raise _not_allowed(method, "GET, PUT")
        account_id = match["account"]
    else:
        account_id, handler = api.resolve(method, path)
    return functools.partial(_account_route, account_id=account_id, handler=handler)


def _account_route(
    billing: Billing, args: dict[str, Any], account_id: str, handler: wire.Handler
) -> tuple[int, Any]:
    return api.handle(billing, account_id, handler, args)
