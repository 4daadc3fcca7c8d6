"""/accounts: the accounts a token reads, with the figures the overview shows (stored at sync time), and
one account's balance history (the account page's chart series)."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Query, Router, Schema
from pydantic import Field

from billing.api.auth import account_of, token_of
from billing.api.schemas import Money, money, number, utc
from billing.api.tokens import readable_accounts
from billing.figures import STORED_FIGURES_COLUMNS, AccountFigures, stored_figures_of_rows
from billing.figures.series import balance_points

router = Router(tags=["accounts"])
COLUMNS = ("cloudflare_id", "name", "user_role")


class AccountOut(Schema):
    id: str  # the Cloudflare account id
    name: str
    role: str  # the token's person's role on it: viewer, manager or admin
    balance: Money | None
    balance_taken_at: datetime | None
    spend_per_day: Money | None  # mean daily spend over the last 7 full local days
    runway_days: str | None  # balance / spend per day; null when spend is zero or unknown
    spending_limit_spent: Money | None
    spending_limit_used_percent: str | None
    data_as_of: datetime | None  # the last successful balance sync
    is_stale: bool


def _account_out(row: dict, figures: AccountFigures | None) -> AccountOut:
    return AccountOut(
        id=row["cloudflare_id"],
        name=row["name"],
        role=row["user_role"],
        balance=money(figures.balance) if figures else None,
        balance_taken_at=utc(figures.balance_taken_at) if figures else None,
        spend_per_day=money(figures.spend_per_day) if figures else None,
        runway_days=number(figures.runway_days) if figures else None,
        spending_limit_spent=money(figures.limit_spent) if figures else None,
        spending_limit_used_percent=number(figures.limit_used_percent) if figures else None,
        data_as_of=utc(figures.data_as_of) if figures else None,
        is_stale=figures.is_stale if figures else True,
    )


def _rows(request: HttpRequest, account_id: str | None = None) -> list[AccountOut]:
    accounts = readable_accounts(token_of(request))
    if account_id is not None:
        accounts = accounts.filter(cloudflare_id=account_id)
    rows = list(accounts.values(*COLUMNS, *STORED_FIGURES_COLUMNS))
    figures = stored_figures_of_rows(rows)
    return [_account_out(row, figures.get(row["pk"])) for row in rows]


@router.get("/accounts", response=list[AccountOut], summary="Accounts this token reads, with their figures")
def list_accounts(request: HttpRequest) -> list[AccountOut]:
    return _rows(request)


@router.get("/accounts/{account_id}", response=AccountOut, summary="One account with its figures")
def get_account(request: HttpRequest, account_id: str) -> AccountOut:
    rows = _rows(request, account_id)
    if not rows:
        raise Http404("No such account.")
    return rows[0]


class BalanceQuery(Schema):
    days: int = Field(30, ge=1, le=90, description="How many days back, up to 90.")


class BalancePoint(Schema):
    at: datetime
    balance: Money


class BalanceHistory(Schema):
    since: datetime
    points: list[BalancePoint]  # at most about 360, evenly spaced, always the latest


@router.get("/accounts/{account_id}/balance", response=BalanceHistory, summary="Balance history")
def balance_history(request: HttpRequest, account_id: str, query: Query[BalanceQuery]) -> BalanceHistory:
    account = account_of(request, account_id)
    since = timezone.now() - timedelta(days=query.days)
    points = [BalancePoint(at=utc(at), balance=money(value)) for at, value in balance_points(account, since)]
    return BalanceHistory(since=utc(since), points=points)
