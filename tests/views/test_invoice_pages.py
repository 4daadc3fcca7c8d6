"""The invoice pages a finance person uses: an invoice (credit, purchase fee, PDF), a period's usage invoice
(lines per model), the reconciliation page, and the invoices CSV of one account or of all, read with `csv`."""

import csv
import io
import uuid
from decimal import Decimal
from html import unescape

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import sync
from billing.models import Invoice, InvoiceLine, Role, TopUp
from billing.operations.topups import start_topup
from tests.support.billed_usage import MODELS
from tests.support.people_fixtures import grant

pytestmark = pytest.mark.django_db


def read_csv(response) -> list[dict]:
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def page(client, name, *args, **query) -> str:
    response = client.get(reverse(name, args=args), query)
    assert response.status_code == 200
    return unescape(response.content.decode())


@pytest.fixture
def bought(account, cloudflare, manager, sandbox_api) -> TopUp:
    """A $20.00 top-up made in the portal, then a $30.00 one made elsewhere (the dashboard), both paid."""
    start_topup(account, manager, 2000, uuid.uuid4())
    assert sandbox_api.post(account.cloudflare_id, "topup", json={"amount": 3000}).status_code == 200
    cloudflare.advance(10)
    sync.sync_invoices(account)
    return TopUp.objects.get(account=account)


def test_an_invoice_of_a_portal_top_up_shows_credit_fee_and_pdf(client, viewer, account, bought):
    topup = bought
    client.force_login(viewer)

    html = page(client, "invoice_detail", account.cloudflare_id, topup.payment_intent_id)

    assert topup.payment_intent_id in html
    assert "AI Gateway credit" in html and "$20.00" in html
    assert "Purchase fee" in html and "$1.00" in html  # 5 %
    assert f"/__sandbox__/invoices/{topup.payment_intent_id}.pdf" in html


def test_the_invoices_list_numbers_each_invoice_and_links_its_page(client, viewer, account, bought):
    topup = bought
    client.force_login(viewer)

    html = page(client, "invoices", account.cloudflare_id)

    assert reverse("invoice_detail", args=[account.cloudflare_id, topup.payment_intent_id]) in html


def test_the_usage_invoice_has_one_line_per_model(client, viewer, account, itemised_month):
    period = InvoiceLine.objects.periods(account)[0]
    client.force_login(viewer)

    html = page(client, "usage_invoice", account.cloudflare_id, period.slug)

    for model in MODELS:
        assert f"AI Gateway usage: {model}" in html
    assert "$80.00" in html  # 40 hours at $2, paid by credit
    assert period.slug in page(client, "invoices", account.cloudflare_id)


def test_the_reconciliation_page_and_its_csv_agree(client, viewer, account, itemised_month):
    client.force_login(viewer)

    html = page(client, "reconciliation", account.cloudflare_id)
    rows = read_csv(client.get(reverse("reconciliation", args=[account.cloudflare_id]), {"format": "csv"}))

    assert {row["model"] for row in rows} == MODELS
    assert sum(Decimal(row["billed_usd"]) for row in rows) == Decimal("80.00")
    for row in rows:
        assert row["model"] in html and row["flagged"] == "no"
        difference = Decimal(row["billed_usd"]) - Decimal(row["analytics_estimate_usd"])
        assert abs(difference - Decimal(row["difference_usd"])) <= Decimal("0.01")


def test_an_unknown_period_is_404_not_500(client, viewer, account):
    client.force_login(viewer)

    url = reverse("reconciliation", args=[account.cloudflare_id])
    assert client.get(url, {"period": "x"}).status_code == 404
    assert client.get(reverse("usage_invoice", args=[account.cloudflare_id, "2026-13-01"])).status_code == 404


def test_another_accounts_invoice_is_404(client, outsider, account, bought):
    client.force_login(outsider)

    url = reverse("invoice_detail", args=[account.cloudflare_id, bought.payment_intent_id])
    assert client.get(url).status_code == 404


def test_the_invoices_csv_of_one_account(client, viewer, account, bought):
    client.force_login(viewer)

    rows = read_csv(client.get(reverse("invoices_csv", args=[account.cloudflare_id])))

    figures = {r["invoice_number"]: (r["amount_due"], r["credit_purchased"], r["purchase_fee"]) for r in rows}
    # The fee of the top-up made elsewhere is not known to the portal.
    assert figures.pop(bought.payment_intent_id) == ("21.00", "20.00", "1.00")
    assert list(figures.values()) == [("31.50", "", "")]
    assert {r["account_name"] for r in rows} == {"Acme Prod"} and {r["status"] for r in rows} == {"paid"}


def test_the_invoices_csv_of_all_accounts_has_only_those_the_person_sees(
    client, make_user, account, other_account
):
    for which in (account, other_account):
        Invoice.objects.create(
            account=which,
            invoice_id=f"in_{which.pk}",
            amount_due=Decimal(5),
            amount_paid=0,
            amount_remaining=0,
            description='credits, "quoted"',
            synced_at=timezone.now(),
        )
    person = make_user("finance")
    grant(person, account, Role.VIEWER)
    client.force_login(person)

    rows = read_csv(client.get(reverse("all_invoices_csv")))

    assert [(r["account_id"], r["invoice_number"], r["description"]) for r in rows] == [
        (account.cloudflare_id, f"in_{account.pk}", 'credits, "quoted"')
    ]
