"""``client.ai_gateway``: the SDK's gateway calls (``list``, ``get``, ``update``, cloudflare 5.9.0) and
``update_spend_limits``, which changes a gateway's spend limits and sends everything else back as read.

Each method validates its arguments (ValueError / TypeError before any request) and returns typed results
(``results.gateways``) or raises a CloudflareError. ``update`` is a whole replacement and is not repeated
once it may have reached Cloudflare: a lost answer raises OutcomeUnknownError.
"""

from __future__ import annotations

from typing import Any

from billing.cloudflare.client import Transport
from billing.cloudflare.errors import InvalidResponseError
from billing.cloudflare.operation import GATEWAYS, Operation
from billing.cloudflare.results import Gateway, GatewayPage, SpendLimits

__all__ = ["MAX_PAGES", "SERVER_OWNED_FIELDS", "AIGatewayResource"]

# A server that ignores the page number must not keep the client fetching forever.
MAX_PAGES = 100
# Fields of a read gateway that are Cloudflare's to set, not part of an update (the SDK's update params
# leave them out; the id travels in the path).
SERVER_OWNED_FIELDS = frozenset(
    {"id", "created_at", "modified_at", "is_default", "account_id", "account_tag", "internal_id"}
)
_REQUIRED = (
    "cache_invalidate_on_update",
    "cache_ttl",
    "collect_logs",
    "rate_limiting_interval",
    "rate_limiting_limit",
)

_LIST = Operation("ai_gateway.list", "GET", GATEWAYS, GatewayPage.from_wire, reads="envelope")
_GET = Operation("ai_gateway.get", "GET", GATEWAYS + "/{id}", Gateway.from_wire)
_UPDATE = Operation("ai_gateway.update", "PUT", GATEWAYS + "/{id}", Gateway.from_wire, idempotent=False)


def _flag(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be a bool, not {type(value).__name__}")
    return value


def _optional_int(name: str, value: object) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int or None, not {type(value).__name__}")
    return value


def _positive(name: str, value: object) -> int:
    number = _optional_int(name, value)
    if number is None or number < 1:
        raise ValueError(f"{name} must be a positive int")
    return number


def _is_last(page: GatewayPage, number: int, fetched: int, per_page: int | None) -> bool:
    """Whether ``page`` (page ``number``, ``fetched`` gateways so far) is the last one."""
    if not page.gateways:
        return True
    size = page.info.per_page or per_page
    if size is not None and len(page.gateways) < size:
        return True
    if page.info.total_count is not None:
        return (number * size if size else fetched) >= page.info.total_count
    return size is None  # no way to tell a full page from the last one: take what came


class AIGatewayResource:
    def __init__(self, client: Transport) -> None:
        self._client = client

    def list(
        self,
        *,
        account_id: str,
        page: int | None = None,
        per_page: int | None = None,
        search: str | None = None,
    ) -> tuple[Gateway, ...]:
        """Every gateway of the account from ``page`` (default 1) on, following the pages. Raises
        InvalidResponseError when there are more than MAX_PAGES pages, CloudflareError otherwise."""
        params = {"search": search} if search else {}
        if per_page is not None:
            params["per_page"] = str(_positive("per_page", per_page))
        number = _positive("page", page) if page is not None else 1
        gateways: list[Gateway] = []
        for _ in range(MAX_PAGES):
            result: GatewayPage = self._client._call(
                _LIST, account_id, params={**params, "page": str(number)}
            )
            gateways.extend(result.gateways)
            if _is_last(result, number, len(gateways), per_page):
                return tuple(gateways)
            number += 1
        raise InvalidResponseError(
            f"Cloudflare listed more than {MAX_PAGES} pages of gateways (ai_gateway.list); stopped there.",
            field="result_info",
            operation=_LIST.name,
            account_id=account_id,
        )

    def get(self, id: str, *, account_id: str) -> Gateway:
        """One gateway by its id (its name within the account). Raises NotFoundError when there is none."""
        return self._client._call(_GET, account_id, path_params={"id": id})

    def update(
        self,
        id: str,
        *,
        account_id: str,
        cache_invalidate_on_update: bool,
        cache_ttl: int | None,
        collect_logs: bool,
        rate_limiting_interval: int | None,
        rate_limiting_limit: int | None,
        **other_fields: Any,
    ) -> Gateway:
        """Replace the gateway: fields not given are reset by Cloudflare. A value with ``to_wire()`` (such
        as SpendLimits) is sent as its wire form. Returns the gateway as Cloudflare now has it; raises
        OutcomeUnknownError when the answer is lost after the request may have arrived."""
        body = {
            name: value.to_wire() if hasattr(value, "to_wire") else value
            for name, value in other_fields.items()
        }
        body.update(
            cache_invalidate_on_update=_flag("cache_invalidate_on_update", cache_invalidate_on_update),
            cache_ttl=_optional_int("cache_ttl", cache_ttl),
            collect_logs=_flag("collect_logs", collect_logs),
            rate_limiting_interval=_optional_int("rate_limiting_interval", rate_limiting_interval),
            rate_limiting_limit=_optional_int("rate_limiting_limit", rate_limiting_limit),
        )
        return self._client._call(_UPDATE, account_id, body=body, path_params={"id": id})

    def update_spend_limits(self, gateway: Gateway, spend_limits: SpendLimits, *, account_id: str) -> Gateway:
        """Replace ``gateway``'s spend limits, sending every other field back exactly as read (except the
        SERVER_OWNED_FIELDS). Returns the updated gateway; raises as ``update``. A change made by someone
        else since ``gateway`` was read is overwritten: compare ``modified_at`` first when that matters."""
        if not isinstance(spend_limits, SpendLimits):
            raise TypeError(f"spend_limits must be SpendLimits, not {type(spend_limits).__name__}")
        skip = SERVER_OWNED_FIELDS.union(_REQUIRED)
        fields = {name: value for name, value in gateway.raw.items() if name not in skip}
        fields["spend_limits"] = spend_limits
        required = {name: getattr(gateway, name) for name in _REQUIRED}
        return self.update(gateway.id, account_id=account_id, **required, **fields)
