"""API tokens never reach HTML, logs, audit entries, sync errors or exception texts, end to end."""

import logging
import uuid

import pytest
from django.urls import reverse

from billing import operations, pipeline
from billing.models import AuditEntry, SyncRun
from tests.support.history import snapshot

pytestmark = pytest.mark.django_db

SECRET = "cfut-secret-DO-NOT-LEAK-0123456789abcdef"


def account_pages(account) -> list[str]:
    args = [account.cloudflare_id]
    names = [
        "account",
        "usage",
        "invoices",
        "invoice_upcoming",
        "topups",
        "topup_new",
        "auto_topup",
        "spending_limit",
        "account_alerts",
    ]
    return ["/", reverse("audit"), f"/admin/billing/account/{account.pk}/change/"] + [
        reverse(name, args=args) for name in names
    ]


def test_a_refused_token_leaks_nowhere(cloudflare, client, superuser, account, caplog):
    caplog.set_level(logging.DEBUG)
    account.set_api_token(SECRET)  # the sandbox refuses it: every call is a 403
    account.save()
    snapshot(account, "50")

    runs = pipeline.sync_account(account)
    with pytest.raises(operations.OperationError) as refused:
        operations.start_topup(account, superuser, 2500, intent_key=uuid.uuid4())
    client.force_login(superuser)
    html = "".join(client.get(url).content.decode() for url in account_pages(account))

    assert runs and all(run.outcome == "failed" for run in runs)
    assert "permission" in refused.value.message.lower() or "Cloudflare" in refused.value.message
    assert account.token_hint.endswith(SECRET[-4:])
    assert SECRET[-4:] in html  # the hint is shown…
    assert SECRET not in html  # …never the token
    assert SECRET not in caplog.text
    assert SECRET not in " ".join(SyncRun.objects.values_list("error", flat=True))
    assert SECRET not in str(list(AuditEntry.objects.values()))
    assert SECRET not in str(refused.value) + repr(refused.value)
    assert SECRET not in account.api_token_ciphertext


def test_the_stored_token_is_used_and_still_never_shown(cloudflare, client, superuser, account, caplog):
    caplog.set_level(logging.DEBUG)
    account.set_api_token(cloudflare.token)
    account.save()

    runs = pipeline.sync_account(account)
    client.force_login(superuser)
    html = "".join(client.get(url).content.decode() for url in account_pages(account))

    assert {run.outcome for run in runs} == {"succeeded"}
    assert cloudflare.token not in html
    assert cloudflare.token not in caplog.text
