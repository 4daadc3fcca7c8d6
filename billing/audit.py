"""The one writer of the audit log: every action that moves money or changes a limit or a rule, refused
requests on money routes, and sign-in security.

Every entry says who acted, from which address and with which user agent: a web request's address and
agent are taken from the request being served (`request_context`, set by portal.audit_requests), so a
caller need not pass them. Each entry is chained to the one before it (billing/models/audit.py).
"""

import json
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser, User
from django.db import IntegrityError
from django.http import HttpRequest
from django.utils import timezone

from billing.models import Account, AuditAction, AuditEntry, AuditOutcome

# Who started an action: a person, or None (or nobody signed in) for the portal's own jobs.
Actor = User | AnonymousUser | None

USER_AGENT_CHARS = 300
# What a job's entries (no web request) give as their user agent.
JOB_AGENT = "portal job (no web request)"
# Two writers appending at once: the one whose previous hash is taken tries again on the new last entry.
APPEND_ATTEMPTS = 5


@dataclass(frozen=True)
class RequestContext:
    ip_address: str | None
    user_agent: str


_current: ContextVar[RequestContext | None] = ContextVar("audit_request", default=None)


@contextmanager
def request_context(ip_address: str | None, user_agent: str) -> Iterator[None]:
    """While serving a web request: the address and user agent its entries record."""
    token = _current.set(RequestContext(ip_address or None, user_agent[:USER_AGENT_CHARS]))
    try:
        yield
    finally:
        _current.reset(token)


def record(
    *,
    actor: Actor,
    account: Account | None,
    action: str,
    outcome: str,
    parameters: dict[str, Any] | None = None,
    error: str = "",
    ip_address: str | None = None,
    actor_name: str = "",
) -> AuditEntry:
    """Appends one entry, chained to the last, and returns it. `actor` is a user, or None (or anonymous)
    for the portal's own jobs, recorded as "system" unless `actor_name` says who acted (a sign-in's
    username tried); the actor's name and the account id are copied so they outlive deletions."""
    person = actor if actor is not None and actor.is_authenticated else None
    context = _current.get()
    entry = AuditEntry(
        created_at=timezone.now(),
        actor=person,
        actor_name=actor_name or (person.get_username() if person is not None else "system"),
        account=account,
        account_cloudflare_id=account.cloudflare_id if account else "",
        action=action,
        # As the JSON column gives it back, so the hash reads the same before and after the database.
        parameters=json.loads(json.dumps(parameters or {}, default=str)),
        outcome=outcome,
        error=error,
        ip_address=ip_address or (context.ip_address if context else None),
        user_agent=context.user_agent if context else JOB_AGENT,
    )
    for attempt in range(APPEND_ATTEMPTS):
        try:
            entry.pk = None
            entry.save(force_insert=True)  # chained to the last entry (AuditEntry.save)
            return entry
        except IntegrityError:
            if attempt == APPEND_ATTEMPTS - 1:
                raise
    raise AssertionError("unreachable")


def record_refusal(request: HttpRequest, reason: str, *, status: int, **details: Any) -> AuditEntry:
    """Audits a POST the portal refused on a money route (no permission, a tampered form): who, which
    route and account, and why."""
    match = request.resolver_match
    account_id = match.kwargs.get("account_id", "") if match else ""
    account = Account.objects.filter(cloudflare_id=account_id).first() if account_id else None
    return record(
        actor=request.user,
        actor_name="" if request.user.is_authenticated else "anonymous",
        account=account,
        action=AuditAction.REQUEST_REFUSED,
        outcome=AuditOutcome.DENIED,
        parameters={
            "route": match.url_name if match else "",
            "path": request.path,
            "status": status,
            **details,
        },
        error=reason,
    )


@dataclass(frozen=True)
class Break:
    """The first entry that does not chain, and why."""

    entry: AuditEntry
    reason: str


def first_break() -> tuple[int, Break | None]:
    """Walks the chain in the order entries were written; returns how many entries chain, and the first
    that does not (its hash does not match its fields, or its previous hash is not the entry before's)."""
    previous = ""
    checked = 0
    for entry in AuditEntry.objects.order_by("id").iterator(chunk_size=2000):
        if entry.previous_hash != previous:
            return checked, Break(entry, "its previous hash is not the hash of the entry before it")
        if entry.entry_hash != entry.computed_hash():
            return checked, Break(entry, "its fields do not match its hash (changed after it was written)")
        previous = entry.entry_hash
        checked += 1
    return checked, None
