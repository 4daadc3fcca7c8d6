"""Issue 22, finding 11: an audit log an auditor accepts. Every entry says who acted, from which address
and user agent; refused money POSTs and tampered amounts are entries; each entry carries the hash of the one
before it, `manage.py verify_audit` names the first that does not chain; CSV and JSON Lines exports."""

import csv
import io
import itertools
import json
import threading

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection
from django.urls import reverse

from billing import audit
from billing.models import AuditAction, AuditEntry, AuditOutcome
from tests.support.alerts import RULE_POST, rule_url
from tests.support.people_fixtures import login

pytestmark = pytest.mark.django_db
BROWSER = {"REMOTE_ADDR": "203.0.113.9", "HTTP_USER_AGENT": "Mozilla/5.0 (auditor test)"}


def entries(account, count: int) -> list[AuditEntry]:
    return [
        audit.record(
            actor=None,
            account=account,
            action=AuditAction.ACCOUNT_REFRESH,
            outcome=AuditOutcome.QUEUED,
            parameters={"n": n, "amount": "-12.50"},
        )
        for n in range(count)
    ]


def verify() -> str:
    out = io.StringIO()
    call_command("verify_audit", stdout=out)
    return out.getvalue()


def test_each_entry_carries_the_hash_of_the_one_before(account):
    first, second, third = entries(account, 3)

    assert first.previous_hash == ""
    assert (second.previous_hash, third.previous_hash) == (first.entry_hash, second.entry_hash)
    assert len({first.entry_hash, second.entry_hash, third.entry_hash}) == 3
    assert verify() == "All 3 audit entries chain.\n"


def test_an_entry_changed_in_the_database_is_named_by_verify_audit(account):
    _, changed, _ = entries(account, 3)
    AuditEntry.objects.filter(pk=changed.pk).update(parameters={"n": 1, "amount": "-1.00"})

    with pytest.raises(CommandError) as broken:
        verify()

    assert f"Audit entry {changed.pk} " in str(broken.value)
    assert "do not match its hash" in str(broken.value)
    assert "The 1 entries before it chain." in str(broken.value)


def test_an_entry_removed_from_the_database_breaks_the_chain_at_the_next(account):
    _, removed, after = entries(account, 3)
    AuditEntry.objects.filter(pk=removed.pk)._raw_delete(AuditEntry.objects.db)

    with pytest.raises(CommandError) as broken:
        verify()

    assert f"Audit entry {after.pk} " in str(broken.value)
    assert "previous hash is not the hash of the entry before it" in str(broken.value)


def test_the_database_refuses_a_second_entry_after_the_same_one(account):
    (first,) = entries(account, 1)
    fork = AuditEntry(action=AuditAction.ACCOUNT_REFRESH, outcome=AuditOutcome.QUEUED, previous_hash="")
    fork.entry_hash = "f" * 64

    with pytest.raises(IntegrityError):
        AuditEntry.objects.bulk_create([fork])  # bypasses save(): as a second writer racing the first would
    assert first.previous_hash == ""


def test_an_entry_made_in_a_web_request_has_its_address_and_user_agent(client, admin_user, account):
    login(client, admin_user)

    client.post(rule_url(account), RULE_POST, **BROWSER)

    entry = AuditEntry.objects.get(action=AuditAction.ALERT_RULE_CHANGE)
    assert (entry.actor, entry.actor_name) == (admin_user, admin_user.username)
    assert (entry.ip_address, entry.user_agent) == ("203.0.113.9", "Mozilla/5.0 (auditor test)")


def test_a_job_entry_says_it_came_from_no_web_request(account):
    (entry,) = entries(account, 1)
    assert (entry.actor_name, entry.ip_address, entry.user_agent) == ("system", None, audit.JOB_AGENT)


def test_a_tampered_top_up_confirmation_is_recorded(client, manager, account):
    login(client, manager)

    response = client.post(
        reverse("topup_confirm", args=[account.cloudflare_id]),
        {"amount_cents": "1", "intent_key": "6f1c1f52-9a43-4a34-8d0b-8f0e3f2f6a11"},
        **BROWSER,
    )

    assert response.status_code == 400
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.outcome, entry.actor, entry.account) == (
        AuditAction.REQUEST_REFUSED,
        AuditOutcome.DENIED,
        manager,
        account,
    )
    assert entry.parameters["posted"]["amount_cents"] == "1"
    assert entry.parameters["route"] == "topup_confirm"
    assert entry.ip_address == "203.0.113.9"


def export(client, query: str) -> str:
    response = client.get(reverse("audit") + query)
    assert response.status_code == 200
    return b"".join(response.streaming_content).decode()


def test_the_audit_page_exports_csv_and_json_lines_that_chain(client, superuser, account):
    made = entries(account, 3)
    login(client, superuser)

    rows = list(csv.DictReader(io.StringIO(export(client, "?format=csv"), newline="")))
    lines = [json.loads(line) for line in export(client, "?format=jsonl").splitlines()]

    assert [int(row["id"]) for row in rows] == [entry.pk for entry in made]
    assert [line["id"] for line in lines] == [entry.pk for entry in made]
    for earlier, later in itertools.pairwise(lines):
        assert later["previous_hash"] == earlier["entry_hash"]
    assert rows[-1]["entry_hash"] == made[-1].entry_hash
    assert json.loads(rows[0]["parameters"]) == {"n": 0, "amount": "-12.50"}
    assert lines[0]["user_agent"] == audit.JOB_AGENT
    assert "format=jsonl" in client.get(reverse("audit")).content.decode()


def test_the_export_keeps_the_page_filter_and_access(client, admin_user, account, other_account):
    entries(account, 2)
    entries(other_account, 1)
    login(client, admin_user)

    lines = export(client, "?format=jsonl").splitlines()

    assert len(lines) == 2
    assert {json.loads(line)["account_cloudflare_id"] for line in lines} == {account.cloudflare_id}


@pytest.mark.django_db(transaction=True)
def test_writers_appending_at_once_keep_one_chain(account):
    errors: list[BaseException] = []

    def write() -> None:
        try:
            entries(account, 5)
        except BaseException as error:  # reported below, with the thread's own failure
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=write) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert AuditEntry.objects.count() == 20
    assert verify() == "All 20 audit entries chain.\n"
