""" "Data as of" is per table (never a claim for data not fetched), and periods and prices read as people say
them: the invoices and usage pages say when their own table was fetched."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import display
from billing.models import InvoicePreview, InvoicePreviewLine, SyncOutcome, SyncRun
from tests.support.history import snapshot

pytestmark = pytest.mark.django_db


def finished_run(account, job: str, minutes_ago: int) -> SyncRun:
    at = timezone.now() - timedelta(minutes=minutes_ago)
    return SyncRun.objects.create(
        job=job, account=account, started_at=at, finished_at=at, outcome=SyncOutcome.SUCCEEDED
    )


def test_the_invoices_page_says_when_invoices_were_fetched_not_the_balance(client, viewer, account):
    snapshot(account, "10")
    finished_run(account, "balance", minutes_ago=1)
    invoices_run = finished_run(account, "invoices", minutes_ago=180)
    client.force_login(viewer)

    for path in ("invoices/", "invoices/upcoming/"):
        text = client.get(f"/accounts/{account.cloudflare_id}/{path}").content.decode()
        assert 'id="table-as-of"' in text
        assert invoices_run.finished_at.isoformat(timespec="seconds")[:16] in text  # the invoices' own time
        assert "3 hours ago" in text


def test_a_table_never_fetched_says_so(client, viewer, account):
    finished_run(account, "balance", minutes_ago=1)
    client.force_login(viewer)

    text = client.get(f"/accounts/{account.cloudflare_id}/usage/").content.decode()

    assert "Usage not fetched from Cloudflare yet" in text


def test_the_upcoming_invoice_shows_its_period_across_a_year_and_unit_prices_as_money(
    client, viewer, account
):
    now = timezone.now()
    preview = InvoicePreview.objects.create(
        account=account,
        amount_due=Decimal("0"),
        amount_paid=Decimal("0"),
        amount_remaining=Decimal("0"),
        currency="usd",
        period_start=now.replace(year=2026, month=12, day=1, hour=0),
        period_end=now.replace(year=2027, month=1, day=1, hour=0),
        status="draft",
        synced_at=now,
    )
    InvoicePreviewLine.objects.create(
        preview=preview,
        position=0,
        amount=Decimal("20.87"),
        currency="usd",
        description="AI Gateway usage",
        unit_amount_decimal="0.0001",
        quantity=Decimal("20867045"),
        credits=[],
    )
    client.force_login(viewer)

    text = client.get(f"/accounts/{account.cloudflare_id}/invoices/upcoming/").content.decode()

    assert "Dec 1, 2026 – Jan 1, 2027" in text
    assert "$0.000001" in text and "20,867,045" in text


def test_date_ranges_and_unit_prices_read_one_way():
    assert display.date_range(date(2026, 11, 2), date(2026, 12, 1)) == "Nov 2 – Dec 1, 2026"
    assert display.date_range(date(2025, 12, 2), date(2026, 12, 1)) == "Dec 2, 2025 – Dec 1, 2026"
    assert display.date_range(date(2026, 11, 1), date(2026, 11, 1)) == "Nov 1, 2026"
    assert display.unit_price("0.0001") == "$0.000001"
    assert display.unit_price("250") == "$2.50"
    assert display.unit_price("abc") == "–" and display.unit_price(None) == "–"
