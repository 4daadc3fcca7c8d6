"""`POST /client/v4/graphql`: Cloudflare's analytics API, for the `aiGatewayRequestsAdaptiveGroups` dataset.

A real schema built with graphql-core (Cloudflare's scalar names: `string`, `Time`, `Date`, `uint64`,
`float64`) is parsed, validated and executed; resolvers read `analytics.groups()`. The answer is GraphQL's
shape, not the REST envelope, and every problem is HTTP 200 with `{"data": null, "errors": [{message, path,
extensions: {code, timestamp}}]}` (the quota aside: the server answers that one with HTTP 429).

As at Cloudflare, the dataset wants its `filter` and `limit`, and answers within its limits, which the
account's `settings` node tells (`maxDuration` and `notOlderThan` in seconds, `maxPageSize`,
`maxNumberOfFields`; DEFAULT_LIMITS unless the control API sets others): a query beyond them gets
Cloudflare's own messages ("query time range is too large …", "cannot request data older than …s",
"number of fields cannot be more than …"). Sums named in `unknown_fields` are left out of the schema, as if
Cloudflare had renamed or dropped them, and `empty` answers no rows at all (a token without the analytics
permission, as one live report has it).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from graphql import (
    FieldNode,
    FragmentSpreadNode,
    GraphQLArgument,
    GraphQLBoolean,
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
from .model import DAY_MS, Account, Billing

MAX_LIMIT = 10_000
# The dataset's limits when the control API sets none (Cloudflare's for this dataset are not published:
# these are the ones it documents for adaptive datasets on paid plans).
DEFAULT_LIMITS = {"maxDuration": 3 * 86_400, "notOlderThan": 31 * 86_400, "maxPageSize": MAX_LIMIT}
DEFAULT_LIMITS["maxNumberOfFields"] = 30
LIMIT_NAMES = tuple(DEFAULT_LIMITS)
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
        fields[name + "_neq"] = GraphQLInputField(STRING)
        for suffix in ("_in", "_notin"):
            fields[name + suffix] = GraphQLInputField(GraphQLList(GraphQLNonNull(STRING)))
    return fields


def _group_type(sums: tuple[str, ...]) -> GraphQLObjectType:
    return GraphQLObjectType(
        PREFIX,
        {
            "count": GraphQLField(GraphQLNonNull(UINT64)),
            "sum": GraphQLField(
                GraphQLObjectType(
                    f"{PREFIX}Sum",
                    {s: GraphQLField(GraphQLNonNull(FLOAT64 if s == "cost" else UINT64)) for s in sums},
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


def _order_by(sums: tuple[str, ...]) -> GraphQLEnumType:
    keys = ("count", *(f"sum_{s}" for s in sums), *analytics.DIMENSIONS)
    return GraphQLEnumType(
        f"{PREFIX}OrderBy", {f"{k}_{d}": f"{k}_{d}" for k in keys for d in ("ASC", "DESC")}
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


def _limit_error(message: str) -> GraphQLError:
    return GraphQLError(message, extensions={"code": "LIMIT_EXCEEDED"})


def _leaf_count(info: GraphQLResolveInfo) -> int:
    """The fields a dataset query asks for, as maxNumberOfFields counts them: every leaf."""

    def leaves(node: FieldNode) -> int:
        children = list(_selected(node.selection_set, info))
        return sum(leaves(child) for child in children) if children else 1

    return sum(leaves(node) for node in info.field_nodes)


def _time_span(filters: dict[str, Any]) -> tuple[float, float]:
    """The earliest and latest instants (Unix ms) the time filters let through, open ends as infinities."""
    lo, hi = float("-inf"), float("inf")
    for prefix in analytics.TIME_FIELDS:
        extra = DAY_MS - 1 if prefix == "date" else 0  # a date reaches to the end of its day
        for suffix in ("", "_geq", "_gt", "_leq", "_lt"):
            value = filters.get(prefix + suffix)
            if value is None:
                continue
            if suffix in ("", "_geq", "_gt"):
                lo = max(lo, value)
            if suffix in ("", "_leq", "_lt"):
                hi = min(hi, value + (extra if suffix != "_lt" else 0))
    return lo, hi


def _check_limits(account: Account, info: GraphQLResolveInfo, args: dict[str, Any]) -> None:
    limits = info.context["limits"]
    if args["limit"] > limits["maxPageSize"]:
        raise _limit_error(f"limit must be less or equal to {limits['maxPageSize']}")
    fields = _leaf_count(info)
    if fields > limits["maxNumberOfFields"]:
        raise _limit_error(f"number of fields cannot be more than {limits['maxNumberOfFields']}")
    now = info.context["now_ms"]
    lo, hi = _time_span(args["filter"])
    oldest = now - limits["notOlderThan"] * 1000
    if lo < oldest:
        raise _limit_error(f"cannot request data older than {limits['notOlderThan']}s")
    width = int((min(hi, now) - lo) // 1000)
    if width > limits["maxDuration"]:
        raise _limit_error(
            f'query time range is too large for account "{account.id}". Time range can\'t be wider '
            f"than {limits['maxDuration']}s, but it's {width}s"
        )


def resolve_groups(account: Account, info: GraphQLResolveInfo, **args: Any) -> list[dict[str, Any]]:
    if args.get("limit") is None:
        raise _bad_input(f"limit: required (1 to {MAX_LIMIT})")
    if args["limit"] > MAX_LIMIT:
        raise _bad_input(f"limit: must not exceed {MAX_LIMIT}")
    if not args.get("filter"):
        raise _bad_input("filter: required (a time range, e.g. datetimeHour_geq and datetimeHour_leq)")
    _check_limits(account, info, args)
    if info.context["empty"]:
        return []
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


def _resolve_settings(account: Account, info: GraphQLResolveInfo) -> dict[str, Any]:
    limits = info.context["limits"]
    sums = [f"sum_{name}" for name in analytics.SUMS if name not in info.context["unknown_fields"]]
    available = ["count", *sums, *(f"dimensions_{name}" for name in analytics.DIMENSIONS)]
    return {"aiGatewayRequestsAdaptiveGroups": {"enabled": True, "availableFields": available, **limits}}


SETTING_NODE = GraphQLObjectType(
    "SettingNode",
    {
        "enabled": GraphQLField(GraphQLNonNull(GraphQLBoolean)),
        "availableFields": GraphQLField(GraphQLNonNull(GraphQLList(GraphQLNonNull(STRING)))),
        **{name: GraphQLField(GraphQLNonNull(UINT64)) for name in LIMIT_NAMES},
    },
)


@functools.lru_cache(maxsize=16)
def schema_for(unknown_fields: frozenset[str]) -> GraphQLSchema:
    """The schema, without the sums Cloudflare is made not to know."""
    sums = tuple(name for name in analytics.SUMS if name not in unknown_fields)
    account = GraphQLObjectType(
        "Account",
        {
            "aiGatewayRequestsAdaptiveGroups": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(_group_type(sums)))),
                args={
                    # Both required (checked when run), but Cloudflare's own examples declare them nullable.
                    "limit": GraphQLArgument(UINT64),
                    "filter": GraphQLArgument(
                        GraphQLInputObjectType(f"{PREFIX}Filter_InputObject", _filter_fields())
                    ),
                    "orderBy": GraphQLArgument(GraphQLList(GraphQLNonNull(_order_by(sums)))),
                },
                resolve=resolve_groups,
            ),
            "settings": GraphQLField(
                GraphQLObjectType(
                    "AccountSettings", {"aiGatewayRequestsAdaptiveGroups": GraphQLField(SETTING_NODE)}
                ),
                resolve=_resolve_settings,
            ),
        },
    )
    viewer = GraphQLObjectType(
        "Viewer",
        {
            "accounts": GraphQLField(
                GraphQLNonNull(GraphQLList(GraphQLNonNull(account))),
                args={
                    "filter": GraphQLArgument(GraphQLNonNull(ACCOUNT_FILTER)),
                    "limit": GraphQLArgument(UINT64),
                },
                resolve=resolve_accounts,
            )
        },
    )
    return GraphQLSchema(
        GraphQLObjectType("Query", {"viewer": GraphQLField(GraphQLNonNull(viewer), resolve=lambda *_: {})})
    )


ACCOUNT_FILTER = GraphQLInputObjectType(
    "AccountFilter_InputObject", {"accountTag": GraphQLInputField(STRING)}
)
SCHEMA = schema_for(frozenset())


def _error(message: str, code: str, path: Any = None) -> dict[str, Any]:
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return {"message": message, "path": path, "extensions": {"code": code, "timestamp": stamp}}


QUOTA_MESSAGE = "rate limiter budget depleted, try again after 5 minutes"


def quota_answer() -> dict[str, Any]:
    """The answer once the GraphQL quota is spent (the server sends it with HTTP 429 and retry-after)."""
    return {"data": None, "errors": [_error(QUOTA_MESSAGE, "rate_limited")]}


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
    options = args.get("analytics") or {}
    unknown = frozenset(options.get("unknown_fields") or ())
    schema = schema_for(unknown)
    problems = validate(schema, document)
    if problems:
        return _failed(*(_error(e.message, "GRAPHQL_VALIDATION_FAILED") for e in problems))
    context = {
        "billing": billing,
        "analytics_read": args.get("analytics_read", True),
        "limits": {**DEFAULT_LIMITS, **(options.get("limits") or {})},
        "unknown_fields": unknown,
        "empty": bool(options.get("empty")),
        "now_ms": billing.now_ms,
    }
    result = execute_sync(
        schema, document, variable_values=variables, operation_name=operation, context_value=context
    )
    if result.errors:
        return _failed(*(_error(e.message, _code(e), e.path) for e in result.errors))
    return 200, {"data": result.data, "errors": None}
