"""Cost centers and the statement pages: viewers read, only admins add, change and remove (audited), another
account's URLs are 404; the statement's CSV (read with `csv`) and print view sum to billed usage."""

import csv
import io
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import AuditAction, AuditEntry, CostCenter, Gateway, InvoiceLine

pytestmark = pytest.mark.django_db


@pytest.fixture
def gateways(account):
    for name in ("chat-app", "batch-jobs"):
        Gateway.objects.create(account=account, gateway_id=name, synced_at=timezone.now())


def url(name, account, *args):
    return reverse(name, args=[account.cloudflare_id, *args])


def test_an_admin_adds_changes_and_removes_a_cost_center_each_audited(client, admin_user, account, gateways):
    client.force_login(admin_user)
    form = {"name": "Support", "gateways": ["chat-app", "batch-jobs"], "only_providers": "openai, anthropic"}

    assert client.post(url("cost_center_add", account), form).status_code == 302
    center = CostCenter.objects.get(account=account)
    assert (center.gateways, center.only_providers, center.only_models) == (
        ["batch-jobs", "chat-app"],
        ["anthropic", "openai"],
        [],
    )
    client.post(url("cost_center_edit", account, center.pk), {**form, "gateways": ["chat-app"]})
    client.post(url("cost_center_delete", account, center.pk))

    assert not CostCenter.objects.exists()
    entries = list(AuditEntry.objects.filter(action=AuditAction.COST_CENTER_CHANGE).order_by("pk"))
    assert [(e.parameters["before"] is None, e.parameters["after"] is None) for e in entries] == [
        (True, False),
        (False, False),
        (False, True),
    ]
    assert entries[1].parameters["after"]["gateways"] == ["chat-app"] and entries[1].actor == admin_user


def test_bad_input_is_a_message_not_a_500(client, admin_user, account, gateways):
    CostCenter.objects.create(account=account, name="Support", gateways=["chat-app"])
    client.force_login(admin_user)

    response = client.post(url("cost_center_add", account), {"name": "support", "gateways": ["nope"]})

    html = response.content.decode()
    assert response.status_code == 200
    assert "There is already a cost center named" in html and "Select a valid choice" in html
    assert CostCenter.objects.count() == 1


@pytest.mark.parametrize("user", ["viewer", "manager"])
def test_viewers_and_managers_read_but_cannot_edit(client, request, account, gateways, user):
    center = CostCenter.objects.create(account=account, name="Support", gateways=["chat-app"])
    client.force_login(request.getfixturevalue(user))

    assert client.get(url("cost_centers", account)).status_code == 200
    assert client.get(url("statement", account)).status_code == 200
    assert client.get(url("cost_center_add", account)).status_code == 403
    assert client.post(url("cost_center_edit", account, center.pk), {"name": "x"}).status_code == 403
    assert client.post(url("cost_center_delete", account, center.pk)).status_code == 403
    assert CostCenter.objects.get().name == "Support"


def test_another_accounts_urls_are_404(client, outsider, account):
    center = CostCenter.objects.create(account=account, name="Support", gateways=["chat-app"])
    client.force_login(outsider)

    for name, args in [
        ("cost_centers", ()),
        ("cost_center_add", ()),
        ("cost_center_edit", (center.pk,)),
        ("statement", ()),
        ("reconciliation", ()),
    ]:
        assert client.get(url(name, account, *args)).status_code == 404, name
    assert client.post(url("cost_center_delete", account, center.pk)).status_code == 404


def test_the_statement_csv_and_print_view_sum_to_billed_usage(client, viewer, account, itemised_month):
    CostCenter.objects.create(account=account, name="Support", gateways=["chat-app"])
    CostCenter.objects.create(account=account, name="Batch", gateways=["batch-jobs"])
    slug = InvoiceLine.objects.periods(account)[0].slug
    client.force_login(viewer)

    response = client.get(url("statement", account), {"period": slug, "format": "csv"})
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    printed = client.get(url("statement", account), {"period": slug, "view": "print"}).content.decode()
    page = client.get(url("statement", account), {"period": slug}).content.decode()

    assert sum(Decimal(row["amount_usd"]) for row in rows) == Decimal("80.00")
    assert {row["row"] for row in rows} == {"Support", "Batch"}  # every gateway is someone's
    assert 'id="statement-total">$80.00' in printed and 'id="statement-total">$80.00' in page
    assert "Back to the statement" in printed
