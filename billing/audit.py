"""The one writer of the audit log: every action that moves money or changes a limit or a rule."""

from typing import Any

from django.contrib.auth.models import AnonymousUser, User

from billing.models import Account, AuditEntry

# Who started an action: a person, or None (or nobody signed in) for the portal's own jobs.
Actor = User | AnonymousUser | None


def record(
    *,
    actor: Actor,
    account: Account | None,
    action: str,
    outcome: str,
    parameters: dict[str, Any] | None = None,
    error: str = "",
    ip_address: str | None = None,
) -> AuditEntry:
    """Appends one entry and returns it. `actor` is a user, or None (or anonymous) for the portal's own jobs,
    recorded as "system"; the actor's name and the account id are copied so they outlive deletions."""
    person = actor if actor is not None and actor.is_authenticated else None
    return AuditEntry.objects.create(
        actor=person,
        actor_name=person.get_username() if person is not None else "system",
        account=account,
        account_cloudflare_id=account.cloudflare_id if account else "",
        action=action,
        parameters=parameters or {},
        outcome=outcome,
        error=error,
        ip_address=ip_address or None,
    )
