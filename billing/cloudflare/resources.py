"""``BillingClient``: the SDK's ``client.ai_gateway.billing`` (cloudflare 5.9.0) with the same method names,
keyword arguments and result attribute names, plus its ``topup``, ``topup.config`` and ``spending_limit``;
and ``ai_gateway`` (the gateways, ``resources_gateways``) and ``analytics`` (spend, ``resources_analytics``).

Each method validates its arguments (raising ValueError / TypeError before any request) and returns the
result type of its operation, or raises a CloudflareError. Each operation is declared beside its method.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cached_property
from typing import Any

from billing.cloudflare.client import Transport
from billing.cloudflare.operation import BILLING, Operation
from billing.cloudflare.resources_analytics import AnalyticsResource
from billing.cloudflare.resources_gateways import AIGatewayResource
from billing.cloudflare.results import (
    CreditBalance,
    InvoiceHistory,
    InvoicePreview,
    SpendingLimit,
    TopupConfig,
    TopupConfigSet,
    TopupCreateResult,
    TopupLimits,
    TopupStatus,
    UsageHistory,
)
from billing.cloudflare.results.wire import nothing

__all__ = ["BillingClient"]


def _require_int(name: str, value: object) -> int:
    # Amounts are integer cents; a float or Decimal here is most likely dollars passed by mistake.
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int (cents / milliseconds), not {type(value).__name__}")
    return value


_CREDIT_BALANCE = Operation("credit_balance", "GET", BILLING + "/credit-balance", CreditBalance.from_wire)
_USAGE_HISTORY = Operation("usage_history", "GET", BILLING + "/usage-history", UsageHistory.from_wire)
_INVOICE_HISTORY = Operation("invoice_history", "GET", BILLING + "/invoice-history", InvoiceHistory.from_wire)
_INVOICE_PREVIEW = Operation("invoice_preview", "GET", BILLING + "/invoice-preview", InvoicePreview.from_wire)


class BillingClient(Transport):
    """Client for ``/accounts/{account_id}/ai-gateway/billing``, shaped like the SDK's ``ai_gateway.billing``.

    Takes the transport's arguments (token, base URL, timeout, retries, rate limiter, session, ``on_call``;
    see :class:`~billing.cloudflare.client.Transport`).
    """

    @cached_property
    def ai_gateway(self) -> AIGatewayResource:
        """The gateways of the account (``ai_gateway.list`` / ``get`` / ``update``)."""
        return AIGatewayResource(self)

    @cached_property
    def analytics(self) -> AnalyticsResource:
        """Spend by gateway, model and provider (GraphQL)."""
        return AnalyticsResource(self)

    @cached_property
    def topup(self) -> _Topup:
        return _Topup(self)

    @cached_property
    def spending_limit(self) -> _SpendingLimitResource:
        return _SpendingLimitResource(self)

    def credit_balance(self, *, account_id: str) -> CreditBalance:
        """The balance, payment method and auto top-up state. Raises CloudflareError."""
        return self._call(_CREDIT_BALANCE, account_id)

    def usage_history(
        self,
        *,
        account_id: str,
        value_grouping_window: str,
        start_time: int | None = None,
        end_time: int | None = None,
    ) -> UsageHistory:
        """Usage buckets per "day" or "hour"; ``start_time`` / ``end_time`` in Unix milliseconds."""
        if value_grouping_window not in ("day", "hour"):
            raise ValueError('value_grouping_window must be "day" or "hour"')
        params = {"value_grouping_window": value_grouping_window}
        for name, value in (("start_time", start_time), ("end_time", end_time)):
            if value is not None:
                params[name] = str(_require_int(name, value))
        return self._call(_USAGE_HISTORY, account_id, params=params)

    def invoice_history(
        self,
        *,
        account_id: str,
        type: str | None = None,
        extra_query: Mapping[str, str | int] | None = None,
    ) -> InvoiceHistory:
        """Invoices, optionally filtered by ``type`` "auto" | "all" | "manual". ``extra_query`` adds query
        parameters the SDK does not name (as its own ``extra_query`` does), such as ``page`` and ``per_page``:
        Cloudflare answers with ``pagination`` but does not document whether it honours them."""
        if type is not None and type not in ("auto", "all", "manual"):
            raise ValueError('type must be "auto", "all" or "manual"')
        params = {"type": type} if type else {}
        for name, value in (extra_query or {}).items():
            if not isinstance(name, str) or not name or name in params:
                raise ValueError(f"extra_query: {name!r} is not a free query parameter name")
            if isinstance(value, bool) or not isinstance(value, str | int):
                kind = value.__class__.__name__
                raise TypeError(f"extra_query[{name!r}] must be a str or an int, not {kind}")
            params[name] = str(value)
        return self._call(_INVOICE_HISTORY, account_id, params=params or None)

    def invoice_preview(self, *, account_id: str) -> InvoicePreview:
        """The upcoming invoice."""
        return self._call(_INVOICE_PREVIEW, account_id)


_CONFIG_GET = Operation("topup.config.get", "GET", BILLING + "/topup/config", TopupConfig.from_wire)
# Writes that change what Cloudflare charges or allows: never repeated once they may have reached Cloudflare
# (a lost answer raises OutcomeUnknownError and a read settles it), like the top-up itself.
_CONFIG_CREATE = Operation(
    "topup.config.create",
    "POST",
    BILLING + "/topup/config",
    TopupConfigSet.from_wire,
    idempotent=False,
    dashboard_only=True,
)
_CONFIG_DELETE = Operation(
    "topup.config.delete", "DELETE", BILLING + "/topup/config", nothing, idempotent=False, dashboard_only=True
)


class _TopupConfigResource:
    def __init__(self, client: Transport) -> None:
        self._client = client

    def get(self, *, account_id: str) -> TopupConfig:
        """The auto top-up configuration."""
        return self._client._call(_CONFIG_GET, account_id)

    def create(self, *, account_id: str, amount: int, threshold: int) -> TopupConfigSet:
        """Set auto top-up: charge ``amount`` cents when the balance falls below ``threshold`` cents."""
        body = {"amount": _require_int("amount", amount), "threshold": _require_int("threshold", threshold)}
        return self._client._call(_CONFIG_CREATE, account_id, body=body)

    def delete(self, *, account_id: str) -> None:
        """Turn auto top-up off."""
        return self._client._call(_CONFIG_DELETE, account_id)


_TOPUP_CREATE = Operation(
    "topup.create", "POST", BILLING + "/topup", TopupCreateResult.from_wire, moves_money=True
)
_TOPUP_LIMITS = Operation("topup.limits", "GET", BILLING + "/topup/limits", TopupLimits.from_wire)
_TOPUP_STATUS = Operation("topup.status", "POST", BILLING + "/topup/status", TopupStatus.from_wire)


class _Topup:
    def __init__(self, client: Transport) -> None:
        self._client = client
        self.config = _TopupConfigResource(client)

    def create(
        self,
        *,
        account_id: str,
        amount: int,
        payment_method_id: str | None = None,
        deadline: float | None = None,
    ) -> TopupCreateResult:
        """Buy ``amount`` cents of credits. Never retried once it may have been sent: raises
        OutcomeUnknownError when the answer is lost (read timeout, broken connection, 5xx, unreadable 2xx).

        ``deadline`` (seconds, not part of the SDK) is for callers that cannot wait, such as a web request:
        one attempt, an answer within ``deadline`` or OutcomeUnknownError, no wait for the request budget."""
        body: dict[str, Any] = {"amount": _require_int("amount", amount)}
        if payment_method_id is not None:
            body["payment_method_id"] = payment_method_id
        return self._client._call(_TOPUP_CREATE, account_id, body=body, amount=amount, deadline=deadline)

    def limits(self, *, account_id: str) -> TopupLimits:
        """The smallest and largest top-up allowed, in cents (published spec only; not in the SDK)."""
        return self._client._call(_TOPUP_LIMITS, account_id)

    def status(self, *, account_id: str, payment_intent_id: str) -> TopupStatus:
        """Whether a top-up is "pending" or "completed"."""
        return self._client._call(_TOPUP_STATUS, account_id, body={"payment_intent_id": payment_intent_id})


_LIMIT_GET = Operation("spending_limit.get", "GET", BILLING + "/spending-limit", SpendingLimit.from_wire)
_LIMIT_CREATE = Operation(
    "spending_limit.create",
    "POST",
    BILLING + "/spending-limit",
    nothing,
    idempotent=False,
    dashboard_only=True,
)
_LIMIT_DELETE = Operation(
    "spending_limit.delete", "DELETE", BILLING + "/spending-limit", nothing, idempotent=False
)


class _SpendingLimitResource:
    def __init__(self, client: Transport) -> None:
        self._client = client

    def get(self, *, account_id: str) -> SpendingLimit:
        """The account-level spending limit."""
        return self._client._call(_LIMIT_GET, account_id)

    def create(self, *, account_id: str, amount: int, duration: str, strategy: str) -> None:
        """Set a spending limit of ``amount`` cents per ``duration`` ("daily" | "weekly" | "monthly")."""
        if duration not in ("daily", "weekly", "monthly"):
            raise ValueError('duration must be "daily", "weekly" or "monthly"')
        if strategy not in ("fixed", "sliding"):
            raise ValueError('strategy must be "fixed" or "sliding"')
        body = {"amount": _require_int("amount", amount), "duration": duration, "strategy": strategy}
        return self._client._call(_LIMIT_CREATE, account_id, body=body)

    def delete(self, *, account_id: str) -> None:
        """Remove the spending limit."""
        return self._client._call(_LIMIT_DELETE, account_id)
