"""How an API request is let in: a personal access token as a Bearer header (never a cookie or a session),
checked on every request against its revocation, expiry and its person's current access, then counted
against the rate limit."""

from __future__ import annotations

from typing import TYPE_CHECKING, cast

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja.security import HttpBearer

from billing.api import ratelimit, tokens
from billing.models import ApiToken

if TYPE_CHECKING:
    from billing.permissions import AccountWithRole


class RateLimited(Exception):
    """The token made more requests this minute than API_RATE_LIMIT_PER_MINUTE allows."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"Rate limit reached: retry in {retry_after} s.")
        self.retry_after = retry_after


class PersonalToken(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        """The usable token (ninja answers 401 for None); raises RateLimited past the limit."""
        now = timezone.now()
        found = tokens.usable(token, now)
        if found is None:
            return None
        wait = ratelimit.retry_after(found.pk, now)
        if wait is not None:
            raise RateLimited(wait)
        tokens.mark_used(found, now)
        return found


def token_of(request: HttpRequest) -> ApiToken:
    """The request's token (set by PersonalToken, which every operation requires)."""
    return cast(ApiToken, request.auth)  # type: ignore[attr-defined]


def account_of(request: HttpRequest, account_id: str) -> AccountWithRole:
    """The account the request's token may read; raises Http404 otherwise (as the pages, revealing nothing
    about accounts it may not read)."""
    account = tokens.readable_accounts(token_of(request)).filter(cloudflare_id=account_id).first()
    if account is None:
        raise Http404("No such account.")
    return account
