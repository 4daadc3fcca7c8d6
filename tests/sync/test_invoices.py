"""The invoices job reads every invoice: it follows Cloudflare's pages per type, stops on a repeated page and
at the page cap, and when Cloudflare reports more than were read the invoices page says "N of M"."""

from html import unescape

import pytest
from django.urls import reverse

from billing import sync
from billing.models import Invoice, InvoiceListing, InvoiceType, SyncOutcome
from billing.sync import invoices
from tests.support.local_cloudflare import TOKEN, LocalCloudflare, reply
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_pages(monkeypatch):
    """Pages of 2 invoices, so a handful of invoices spans several pages."""
    monkeypatch.setattr(invoices, "INVOICES_PER_PAGE", 2)


def make_invoices(sandbox_api, account, manual: int) -> None:
    """Manual top-ups through the API, each with its invoice."""
    for n in range(manual):
        response = sandbox_api.post(account.cloudflare_id, "topup", json={"amount": 1000 + n})
        assert response.status_code == 200


def ok(result) -> dict:
    return {"success": True, "errors": [], "messages": [], "result": result, "result_info": {}}


def history_queries(cloudflare, kind: str) -> list[dict]:
    return [
        r["query"] for r in api_requests(cloudflare, "GET", "/invoice-history") if r["query"]["type"] == kind
    ]


def invoices_page(client, account, kind: str = "all") -> str:
    url = reverse("invoices", args=[account.cloudflare_id]) + f"?type={kind}"
    return unescape(client.get(url).content.decode())


def test_every_page_of_each_type_is_read(account, cloudflare, sandbox_api, small_pages):
    make_invoices(sandbox_api, account, manual=5)
    cloudflare.clear_requests()

    assert sync.sync_invoices(account).outcome == SyncOutcome.SUCCEEDED

    pages = history_queries(cloudflare, "manual")
    assert [(q["page"], q["per_page"]) for q in pages] == [("1", "2"), ("2", "2"), ("3", "2")]
    assert [(q["page"], q["per_page"]) for q in history_queries(cloudflare, "auto")] == [("1", "2")]
    assert Invoice.objects.filter(account=account, invoice_type=InvoiceType.MANUAL).count() == 5
    listing = InvoiceListing.objects.get(account=account, invoice_type=InvoiceType.MANUAL)
    assert (listing.read_count, listing.reported_count) == (5, 5)
    assert InvoiceListing.objects.shortfall(account) is None


def test_a_cloudflare_ignoring_paging_is_read_once_and_the_page_says_n_of_m(
    client, manager, account, cloudflare, sandbox_api
):
    make_invoices(sandbox_api, account, manual=23)
    cloudflare.configure(invoice_paging=False)  # every page is the first 20, total_count 23
    cloudflare.clear_requests()

    assert sync.sync_invoices(account).outcome == SyncOutcome.SUCCEEDED

    # Page 2 repeats page 1: the job stops there instead of asking up to the cap.
    assert [q["page"] for q in history_queries(cloudflare, "manual")] == ["1", "2"]
    assert Invoice.objects.filter(account=account).count() == 20
    assert InvoiceListing.objects.shortfall(account) == (20, 23)
    client.force_login(manager)
    html = invoices_page(client, account)
    assert "Cloudflare returned 20 of 23 invoices." in html
    assert "Cloudflare returned 20 of 23 manual invoices." in invoices_page(client, account, "manual")
    assert "Cloudflare returned" not in invoices_page(client, account, "auto")


def test_the_page_cap_stops_the_reading_and_the_page_says_what_is_missing(
    client, manager, account, cloudflare, sandbox_api, settings, small_pages
):
    settings.SYNC_INVOICES_MAX_PAGES = 2
    make_invoices(sandbox_api, account, manual=5)
    cloudflare.clear_requests()

    assert sync.sync_invoices(account).outcome == SyncOutcome.SUCCEEDED

    assert [q["page"] for q in history_queries(cloudflare, "manual")] == ["1", "2"]
    assert Invoice.objects.filter(account=account).count() == 4
    client.force_login(manager)
    assert "Cloudflare returned 4 of 5 invoices." in invoices_page(client, account)


def test_a_later_complete_read_clears_the_notice(client, manager, account, cloudflare, sandbox_api):
    make_invoices(sandbox_api, account, manual=21)
    cloudflare.configure(invoice_paging=False)
    sync.sync_invoices(account)
    assert InvoiceListing.objects.shortfall(account) == (20, 21)

    cloudflare.configure(invoice_paging=True)
    sync.sync_invoices(account)

    assert InvoiceListing.objects.shortfall(account) is None
    assert Invoice.objects.filter(account=account).count() == 21
    client.force_login(manager)
    assert "Cloudflare returned" not in invoices_page(client, account)


def test_an_empty_page_stops_the_reading_even_when_has_more_says_otherwise(account, settings):
    from billing import clients

    def answer(request):
        if request["path"].endswith("/invoice-preview"):
            preview = {"id": "upcoming", "amount_due": 0, "amount_paid": 0, "amount_remaining": 0}
            period = {"period_start": 1_764_547_200, "period_end": 1_767_225_600, "status": "draft"}
            return reply(body=ok({**preview, **period, "currency": "usd", "invoice_lines": []}))
        # Every page claims more, and none holds an invoice.
        pagination = {
            "has_more": True,
            "page": int(request["query"]["page"]),
            "per_page": 50,
            "total_count": 7,
        }
        return reply(body=ok({"invoices": [], "pagination": pagination}))

    with LocalCloudflare() as local:
        settings.CLOUDFLARE_API_BASE_URL, settings.CLOUDFLARE_API_TOKEN = local.base_url, TOKEN
        settings.CLOUDFLARE_MAX_RETRIES = 0
        clients.reset_clients()
        local.answer(answer)
        assert sync.sync_invoices(account).outcome == SyncOutcome.SUCCEEDED
    clients.reset_clients()

    pages = [(r["query"]["type"], r["query"]["page"]) for r in local.requests if "page" in r["query"]]
    assert pages == [("manual", "1"), ("auto", "1")]
    assert InvoiceListing.objects.shortfall(account) == (0, 14)
