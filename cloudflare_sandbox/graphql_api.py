"""`POST /client/v4/graphql`: Cloudflare's analytics API, for the `aiGatewayRequestsAdaptiveGroups` dataset.

A real schema built with graphql-core (Cloudflare's scalar names: `string`, `Time`, `Date`, `uint64`,
`float64`) is parsed, validated and executed; resolvers read `analytics.groups()`. The answer is GraphQL's
shape, not the REST envelope, and every problem is HTTP 200 with `{"data": null, "errors": [{message, path,
extensions: {code}}]}`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    InlineFragmentNode,
    IntValueNode,
    SelectionSetNode,
    StringValueNode,
    execute_sync,
    parse,
    validate,
)

from . import analytics
from .jsonutil import loads
from .model import Account, Billing

MAX_LIMIT = 10_000
log = logging.getLogger("cloudflare_sandbox")


def _scalar(
    name: str,
    parse_value: Callable[[Any], Any],
    serialize: Callable[[Any], Any],
    node: type[StringValueNode | IntValueNode],
) -> GraphQLScalarType:
    def parse_literal(value_node: Any, _variables: Any = None) -> Any:
        if not isinstance(value_node, node):
            raise GraphQLError(
                f"{name} cannot represent a non-{node.__name__.removesuffix('ValueNode')} value"
            )
        return parse_value(value_node.value)

    return GraphQLScalarType(name, serialize=serialize, parse_value=parse_value, parse_literal=parse_literal)


def _text(value: Any) -> str:
    if not isinstance(value, str):
        raise TypeError("expected a string")
    return value


def _time(value: Any) -> int:
    """ISO 8601 text (UTC unless it says otherwise) -> Unix ms."""
    moment = datetime.fromisoformat(_text(value))
    return int((moment if moment.tzinfo else moment.replace(tzinfo=UTC)).timestamp() * 1000)


def _date(value: Any) -> int:
    return int(
        datetime.combine(date.fromisoformat(_text(value)), datetime.min.time(), UTC).timestamp() * 1000
    )


def _uint(value: Any) -> int:
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TypeError("expected a non-negative integer")
    return value


def _iso_seconds(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


STRING = _scalar("string", _text, str, StringValueNode)
TIME = _scalar("Time", _time, _iso_seconds, StringValueNode)
DATE = _scalar("Date", _date, lambda ms: _iso_seconds(ms)[:10], StringValueNode)
UINT64 = _scalar("uint64", _uint, int, IntValueNode)
FLOAT64 = GraphQLScalarType("float64", serialize=lambda v: float(Decimal(v)))

DIMENSION_TYPES = {"gateway": STRING, "model": STRING, "provider": STRING, "datetimeHour": TIME}
DIMENSION_TYPES |= {"datetimeMinute": TIME, "date": DATE}
PREFIX = "AccountAiGatewayRequestsAdaptiveGroups"


def _filter_fields() -> dict[str, GraphQLInputField]:
    fields: dict[str, GraphQLInputField] = {}
    for prefix in analytics.TIME_FIELDS:
        kind = DATE if prefix == "date" else TIME
        for suffix in ("", "_geq", "_gt", "_leq", "_lt"):
            fields[prefix + suffix] = GraphQLInputField(kind)
    for name in analytics.SLICE_FIELDS:
        fields[name] = GraphQLInputField(STRING)
        fields[name + "_in"] = GraphQLInputField(GraphQLList(GraphQLNonNull(STRING)))
    return fields


ORDER_KEYS = ("count", *(f"sum_{s}" for s in analytics.SUMS), *analytics.DIMENSIONS)
ORDER_BY = GraphQLEnumType(
    f"{PREFIX}OrderBy", {f"{k}_{d}": f"{k}_{d}" for k in ORDER_KEYS for d in ("ASC", "DESC")}
)
GROUP = GraphQLObjectType(
    PREFIX,
    {
        "count": GraphQLField(GraphQLNonNull(UINT64)),
        "sum": GraphQLField(
            GraphQLObjectType(
                f"{PREFIX}Sum",
                {s: GraphQLField(GraphQLNonNull(FLOAT64 if s == "cost" else UINT64)) for s in analytics.SUMS},
            )
        ),
        "dimensions": GraphQLField(
            GraphQLObjectType(
                f"{PREFIX}Dimensions",
                {d: GraphQLField(GraphQLNonNull(t)) for d, t in DIMENSION_TYPES.items()},
            )
        ),
    },
)


def _selected(selection_set: SelectionSetNode | None, info: GraphQLResolveInfo) -> Iterator[FieldNode]:
    """The fields of a selection set, fragments flattened."""
    for node in selection_set.selections if selection_set else ():
        if isinstance(node, FieldNode):
            yield node
        elif isinstance(node, InlineFragmentNode):
            yield from _selected(node.selection_set, info)
        elif isinstance(node, FragmentSpreadNode):
            yield from _selected(info.fragments[node.name.value].selection_set, info)


def _requested_dimensions(info: GraphQLResolveInfo) -> tuple[str, ...]:
    names: list[str] = []
    for field in info.field_nodes:
        for child in _selected(field.selection_set, info):
            if child.name.value == "dimensions":
                names += [f.name.value for f in _selected(child.selection_set, info)]
    return tuple(dict.fromkeys(n for n in names if n in analytics.DIMENSIONS))


def _bad_input(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "BAD_USER_INPUT"})


def resolve_groups(account: Account, info: GraphQLResolveInfo, **args: Any) -> list[dict[str, Any]]:
    if args.get("limit") is None:
        raise _bad_input(f"limit: required (1 to {MAX_LIMIT})")
    if args["limit"] > MAX_LIMIT:
        raise _bad_input(f"limit: must not exceed {MAX_LIMIT}")
    query = analytics.Query(
        dimensions=_requested_dimensions(info),
        filters=args.get("filter") or {},
        order_by=tuple(args.get("orderBy") or ()),
        limit=args["limit"],
    )
    try:
        return analytics.groups(account, query)
    except analytics.QueryError as exc:
        raise _bad_input(str(exc)) from None


def resolve_accounts(_viewer: Any, info: GraphQLResolveInfo, **args: Any) -> list[Account]:
    billing: Billing = info.context["billing"]
    account = billing.account(args["filter"].get("accountTag") or "")
    if account is None or not info.context["analytics_read"]:
        raise GraphQLError("not authorized for that account", extensions={"code": "authz"})
    return [account]


ACCOUNT = GraphQLObjectType(
    "Account",
    {
        "aiGatewayRequestsAdaptiveGroups": GraphQLField(
            GraphQLNonNull(GraphQLList(GraphQLNonNull(GROUP))),
            args={
                "limit": GraphQLArgument(
                    UINT64
                ),  # required, but Cloudflare's own examples declare it nullable
                "filter": GraphQLArgument(
                    GraphQLInputObjectType(f"{PREFIX}Filter_InputObject", _filter_fields())
                ),
                "orderBy": GraphQLArgument(GraphQLList(GraphQLNonNull(ORDER_BY))),
            },
            resolve=resolve_groups,
        )
    },
)
ACCOUNT_FILTER = GraphQLInputObjectType(
    "AccountFilter_InputObject", {"accountTag": GraphQLInputField(STRING)}
)
VIEWER = GraphQLObjectType(
    "Viewer",
    {
        "accounts": GraphQLField(
            GraphQLNonNull(GraphQLList(GraphQLNonNull(ACCOUNT))),
            args={
                "filter": GraphQLArgument(GraphQLNonNull(ACCOUNT_FILTER)),
                "limit": GraphQLArgument(UINT64),
            },
            resolve=resolve_accounts,
        )
    },
)
SCHEMA = GraphQLSchema(
    GraphQLObjectType("Query", {"viewer": GraphQLField(GraphQLNonNull(VIEWER), resolve=lambda *_: {})})
)


def _error(message: str, code: str, path: Any = None) -> dict[str, Any]:
    return {"message": message, "path": path, "extensions": {"code": code}}


def _failed(*errors: dict[str, Any]) -> tuple[int, Any]:
    return 200, {"data": None, "errors": list(errors)}


def _code(error: GraphQLError) -> str:
    if error.extensions and "code" in error.extensions:
        return error.extensions["code"]
    if error.original_error is not None and not isinstance(error.original_error, GraphQLError | TypeError):
        log.error("GraphQL resolver failed", exc_info=error.original_error)
        return "INTERNAL_SERVER_ERROR"
    return "BAD_USER_INPUT"


def _request(raw: bytes) -> tuple[str, dict[str, Any], str | None]:
    body = loads(raw)
    if not isinstance(body, dict) or not isinstance(body.get("query"), str):
        raise ValueError("the body must be a JSON object with a query string")
    variables = body.get("variables") or {}
    if not isinstance(variables, dict):
        raise ValueError("variables: must be an object")
    return body["query"], variables, body.get("operationName")


def answer(billing: Billing, args: dict[str, Any]) -> tuple[int, Any]:
    """Run one GraphQL request; return the HTTP status (always 200) and the GraphQL answer."""
    try:
        query, variables, operation = _request(args["raw_body"])
    except (ValueError, UnicodeDecodeError) as exc:
        return _failed(_error(f"request body: {exc}", "BAD_REQUEST"))
    try:
        document = parse(query)
    except GraphQLError as exc:
        return _failed(_error(exc.message, "GRAPHQL_PARSE_FAILED"))
    problems = validate(SCHEMA, document)
    if problems:
        return _failed(*(_error(e.message, "GRAPHQL_VALIDATION_FAILED") for e in problems))
    context = {"billing": billing, "analytics_read": args.get("analytics_read", True)}
    result = execute_sync(
        SCHEMA, document, variable_values=variables, operation_name=operation, context_value=context
    )
    if result.errors:
        return _failed(*(_error(e.message, _code(e), e.path) for e in result.errors))
    return 200, {"data": result.data, "errors": None}
