"""The FOCUS export over data synced from the sandbox: what each row says, that billed usage is split to the
micro-dollar, purchases and their fees, who sees what, and bad input. CSVs parsed by `csv`."""

import csv
import io
from collections import defaultdict
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.http import StreamingHttpResponse
from django.urls import reverse
from django.utils import timezone

from billing import sync
from billing.exports.focus import COLUMNS
from billing.figures.allocation import allocate
from billing.models import (
    Account,
    AccountAccess,
    CostCenter,
    GatewaySpendDay,
    Invoice,
    Role,
    SyncJob,
    TopUp,
    TopUpStatus,
    UsageRecord,
    UsageWindow,
)
from tests.support.people_fixtures import login
from tests.support.sync_fixtures import demo_account

pytestmark = pytest.mark.django_db


def export(client, query: str) -> list[dict]:
    response = client.get(reverse("focus_export") + query)
    assert response.status_code == 200
    assert isinstance(response, StreamingHttpResponse)
    text = b"".join(response.streaming_content).decode()
    reader = csv.DictReader(io.StringIO(text))
    assert reader.fieldnames == COLUMNS
    return list(reader)


@pytest.fixture
def synced(cloudflare, make_user):
    """Acme Prod of the demo, synced from the sandbox, and a viewer of it."""
    account = demo_account(cloudflare)
    sync.run_units(SyncJob.ACCOUNT, account)
    user = make_user("finance")
    AccountAccess.objects.create(user=user, account=account, role=Role.VIEWER)
    return account, user


def _last_days(days: int) -> str:
    today = timezone.now().date()
    return f"?start={today - timedelta(days=days):%Y-%m-%d}&end={today:%Y-%m-%d}"


def test_billed_usage_is_split_over_the_analytics_to_the_micro_dollar(client, synced):
    account, user = synced
    rows = export(login(client, user), _last_days(10))
    usage = [row for row in rows if row["ChargeCategory"] == "Usage"]
    assert usage, "ten days of demo usage"
    billed_by_day: dict[str, Decimal] = defaultdict(Decimal)
    estimate_by_day: dict[str, Decimal] = defaultdict(Decimal)
    for row in usage:
        billed_by_day[row["ChargePeriodStart"][:10]] += Decimal(row["BilledCost"])
        estimate_by_day[row["ChargePeriodStart"][:10]] += Decimal(row["x_EstimatedCost"] or 0)
        assert row["BilledCost"] == row["EffectiveCost"] == row["ListCost"] == row["PricingQuantity"]
        assert row["BillingAccountId"] == account.cloudflare_id
        assert row["ChargeFrequency"] == "Usage-Based"
    for record in UsageRecord.objects.filter(account=account, window=UsageWindow.DAY):
        day = f"{record.start:%Y-%m-%d}"
        if day in billed_by_day:
            assert billed_by_day[day] == record.value, day
    stored = GatewaySpendDay.objects.filter(account=account).values("day").annotate(total=Sum("cost"))
    for row in stored:
        if f"{row['day']}" in estimate_by_day:
            assert estimate_by_day[f"{row['day']}"] == row["total"]
    sources = {row["x_CostSource"] for row in usage}
    assert "billed" in sources
    gateways = {row["x_Gateway"] for row in usage if row["x_CostSource"] == "billed"}
    assert gateways >= {"chat-app", "batch-jobs"}


def test_purchases_and_their_fees_add_up_to_each_paid_invoice(client, synced):
    account, user = synced
    rows = export(login(client, user), _last_days(60))
    purchases = [row for row in rows if row["ChargeCategory"] == "Purchase"]
    by_invoice: dict[str, Decimal] = defaultdict(Decimal)
    for row in purchases:
        by_invoice[row["InvoiceId"]] += Decimal(row["BilledCost"])
        assert row["ChargeFrequency"] == "One-Time"
        credit = row["ChargeDescription"].startswith("AI Gateway credit")
        assert Decimal(row["EffectiveCost"]) == (0 if credit else Decimal(row["BilledCost"]))
    since = timezone.now() - timedelta(days=61)
    paid = Invoice.objects.filter(account=account, status="paid", created__gte=since)
    assert by_invoice and set(by_invoice) <= set(paid.values_list("invoice_id", flat=True))
    for invoice in paid.filter(invoice_id__in=by_invoice):
        assert by_invoice[invoice.invoice_id] == invoice.amount_paid


def test_a_portal_top_ups_own_fee_is_used(client, synced):
    account, user = synced
    invoice = Invoice.objects.filter(account=account, status="paid").order_by("-created").first()
    credit_cents = int(invoice.amount_paid * 100) - 123
    TopUp.objects.create(
        account=account,
        amount_cents=credit_cents,
        fee_cents=123,
        payment_intent_id=invoice.invoice_id,
        status=TopUpStatus.COMPLETED,
        requested_at=invoice.created,
    )
    day = invoice.created.date()
    rows = export(login(client, user), f"?start={day}&end={day}")
    mine = [row for row in rows if row["InvoiceId"] == invoice.invoice_id]
    assert [Decimal(row["BilledCost"]) for row in mine] == [Decimal(credit_cents) / 100, Decimal("1.23")]


def test_a_person_exports_only_the_accounts_they_see(client, synced, make_user):
    account, _ = synced
    other = Account.objects.create(cloudflare_id="f" * 32, name="Hidden")
    UsageRecord.objects.create(
        account=other,
        window=UsageWindow.DAY,
        start=timezone.now().replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1),
        end=timezone.now(),
        summary_id="x",
        value=Decimal(5),
        synced_at=timezone.now(),
    )
    outsider = make_user("outsider")
    AccountAccess.objects.create(user=outsider, account=other, role=Role.VIEWER)
    rows = export(login(client, outsider), _last_days(3))
    assert {row["BillingAccountName"] for row in rows} == {"Hidden"}
    assert rows[0]["x_CostSource"] == "billed, no analytics"
    response = client.get(reverse("focus_export") + f"?account={account.cloudflare_id}")
    assert response.status_code == 400
    assert "No such account" in response.content.decode()


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?start=2026-03-10&end=2026-03-01", "The last day is before the first day."),
        ("?start=2024-01-01&end=2026-03-01", "Export at most 400 days at a time."),
        ("?start=yesterday", "Enter a valid date."),
    ],
)
def test_bad_ranges_say_what_is_wrong(client, viewer, query, message):
    response = login(client, viewer).get(reverse("focus_export") + query)
    assert response.status_code == 400
    assert message in response.content.decode()


@pytest.mark.parametrize(
    ("total", "weights"),
    [
        ("10", ["1", "1", "1"]),
        ("0.000005", ["3", "3", "3", "1"]),
        ("123.456789", ["0.1", "7", "0.000001", "99"]),
        ("5", ["0", "0"]),
    ],
)
def test_allocation_sums_exactly(total, weights):
    parts = allocate(Decimal(total), [Decimal(w) for w in weights])
    expected = Decimal(total) if any(Decimal(w) for w in weights) else Decimal(0)
    assert sum(parts) == expected
    assert all(part >= 0 for part in parts)


def test_each_usage_row_names_its_cost_center(client, synced):
    account, user = synced
    CostCenter.objects.create(account=account, name="Support", gateways=["chat-app"])

    rows = [row for row in export(login(client, user), _last_days(3)) if row["x_Gateway"]]

    assert rows and {row["x_CostCenter"] for row in rows if row["x_Gateway"] == "chat-app"} == {"Support"}
    assert {row["x_CostCenter"] for row in rows if row["x_Gateway"] != "chat-app"} == {""}
