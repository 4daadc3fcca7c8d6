"""Reading an answer of Cloudflare's GraphQL API: ``{"data": ..., "errors": [...] | null}``, usually at HTTP
200 even when the query failed. Error statuses are read by ``envelope`` exactly as for the REST calls."""

from __future__ import annotations

import re
from typing import Any

from billing.cloudflare.answer import Answer
from billing.cloudflare.errors import (
    CloudflareError,
    GraphQLError,
    GraphQLPermissionError,
    InvalidResponseError,
)
from billing.cloudflare.errors import GraphQLErrorDetail as Detail
from billing.cloudflare.operation import ResultT

__all__ = ["read_graphql"]

_PERMISSION_CODES = frozenset({"authz", "unauthorized", "forbidden"})
_PERMISSION_WORDS = ("not authorized", "unauthorized")
# Codes (lower-cased, substrings) meaning "the same query may work later".
_TRANSIENT_CODES = ("ratelimit", "rate_limit", "rate-limit", "too_many", "timeout", "timedout", "throttl")
# Cloudflare's errors carry no code (only a timestamp): its quota messages are known by their words
# ("rate limiter budget depleted, try again after 5 minutes", "quota exceeded, please repeat your request").
_TRANSIENT_WORDS = ("budget depleted", "quota exceeded", "rate limit", "too many requests")
# "Cannot query field 'x' on type 'Y'" (graphql-core, graphql-js), 'unknown field "x"' (others).
_UNKNOWN_FIELD = re.compile(
    r"""(?:cannot query field|unknown field)\s*['"`]?([A-Za-z_][A-Za-z0-9_]*)""", re.I
)


def read_graphql(answer: Answer[ResultT], payload: Any) -> ResultT:
    """``answer.op.parse(data, "data")`` for a 2xx GraphQL answer. Raises GraphQLPermissionError when the
    token lacks the permission, GraphQLError for any other error sent, InvalidResponseError when the body
    is not a GraphQL answer or ``data`` does not have the promised shape."""
    if not isinstance(payload, dict):
        raise answer.invalid("Cloudflare's answer is not a GraphQL answer")
    errors = payload.get("errors")
    if errors is not None and not isinstance(errors, list):
        raise answer.invalid("Cloudflare's GraphQL errors are not a list", field="errors")
    if errors:
        raise _graphql_error(answer, tuple(_detail(item, answer) for item in errors))
    data = payload.get("data")
    if not isinstance(data, dict):
        raise answer.invalid("Cloudflare's GraphQL answer has no data", field="data")
    try:
        return answer.op.parse(data, "data")
    except InvalidResponseError as exc:
        raise answer.invalid(exc.message, field=exc.field) from None


def _detail(item: Any, answer: Answer[object]) -> Detail:
    if isinstance(item, str):
        return None, answer.redact(item[:500]), None
    if not isinstance(item, dict):
        return None, "an error Cloudflare did not describe", None
    message = item.get("message")
    text = answer.redact(message[:500]) if isinstance(message, str) else "no message"
    extensions = item.get("extensions")
    code = extensions.get("code") if isinstance(extensions, dict) else None
    path = item.get("path")
    where = ".".join(str(part) for part in path) if isinstance(path, list) and path else None
    return (str(code)[:100] if code is not None else None), text, where


def _is_permission(detail: Detail) -> bool:
    code, message, _ = detail
    return (code or "").lower() in _PERMISSION_CODES or any(w in message.lower() for w in _PERMISSION_WORDS)


def _is_transient(detail: Detail) -> bool:
    code, message, _ = detail
    return any(word in (code or "").lower() for word in _TRANSIENT_CODES) or any(
        word in message.lower() for word in _TRANSIENT_WORDS
    )


def _unknown_fields(details: tuple[Detail, ...]) -> tuple[str, ...]:
    found = (match.group(1) for _, message, _ in details for match in _UNKNOWN_FIELD.finditer(message))
    return tuple(dict.fromkeys(found))


def _describe(details: tuple[Detail, ...]) -> str:
    parts = []
    for code, message, path in details:
        extra = ", ".join(
            part for part in (f"code {code}" if code else "", f"at {path}" if path else "") if part
        )
        parts.append(f"{message} ({extra})" if extra else message)
    return "; ".join(parts)


def _graphql_error(answer: Answer[object], details: tuple[Detail, ...]) -> CloudflareError:
    context = {"operation": answer.op.name, "account_id": answer.account_id}
    if any(_is_permission(detail) for detail in details):
        permission = answer.op.permission
        return GraphQLPermissionError(
            answer.redact(
                f'The API token lacks the "{permission}" permission needed for spend by gateway, model and '
                f"provider. Cloudflare said: {_describe(details)} ({answer.op.name}, {answer.ray})"
            ),
            permission=permission,
            graphql_errors=details,
            status_code=answer.status,
            errors=tuple((None, message) for _, message, _ in details),
            ray_id=answer.ray_id,
            **context,
        )
    return GraphQLError(
        answer.redact(
            f"Cloudflare's analytics refused the query ({answer.op.name}): {_describe(details)}. "
            f"[{answer.ray}]"
        ),
        errors=details,
        status_code=answer.status,
        ray_id=answer.ray_id,
        retryable=any(_is_transient(detail) for detail in details),
        unknown_fields=_unknown_fields(details),
        **context,
    )
