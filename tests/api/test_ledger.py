"""The API's ledger is the ledger page's: the days of a month and the 13 months' rows (stored rows)."""

from decimal import Decimal

import pytest
from django.urls import reverse

from tests.support.api_fixtures import bearer
from tests.support.history import ledger_history, utc_midnight
from tests.support.people_fixtures import login

pytestmark = pytest.mark.django_db


def _amount(money: dict | None) -> Decimal | None:
    return None if money is None else Decimal(money["amount"])


def test_the_ledger_reads_as_its_page(client, viewer, account, make_token):
    ledger_history(account)
    month = f"{utc_midnight(4):%Y-%m}"
    login(client, viewer)
    page = client.get(reverse("ledger", args=[account.cloudflare_id]), {"month": month}).context
    path = f"/api/v1/accounts/{account.cloudflare_id}/ledger"

    response = client.get(path, {"month": month}, **bearer(make_token(viewer)))

    assert response.status_code == 200
    found = response.json()
    assert [(d["day"], d["state"], _amount(d["difference"])) for d in found["days"]] == [
        (f"{row.day:%Y-%m-%d}", row.state, row.difference) for row in page["month"].days
    ]
    days = {d["day"]: d for d in found["days"]}
    short = days[f"{utc_midnight(4):%Y-%m-%d}"]
    assert (short["state"], _amount(short["difference"])) == ("unexplained", Decimal("-5.00"))
    balanced = days[f"{utc_midnight(5):%Y-%m-%d}"]
    assert _amount(balanced["auto_topups"]) == Decimal(20) and balanced["sources"][0]["ref"] == "in_auto1"
    assert (
        found["month"]["month"] == month and found["month"]["unexplained_days"] == page["month"].unexplained
    )
    assert [(m["month"], m["state"], _amount(m["usage"])) for m in found["months"]] == [
        (f"{m.first:%Y-%m}", m.state, m.usage) for m in page["months"]
    ]
    assert found["months"][-1]["month"] == f"{utc_midnight(6):%Y-%m}"  # none before the first ledger day


def test_a_month_that_is_not_one_answers_400(client, viewer, account, make_token):
    path = f"/api/v1/accounts/{account.cloudflare_id}/ledger"
    response = client.get(path, {"month": "=2026-99"}, **bearer(make_token(viewer)))
    assert response.status_code == 400
    assert "is not a month (YYYY-MM)" in response.json()["detail"]["month"][0]
