"""Issue 22, finding 6: nothing the portal writes to a CSV is a formula to a spreadsheet. Names from
Cloudflare that start with =, +, -, @, a tab or a carriage return are written with a leading single quote;
numbers, negative ones included, stay numbers."""

import csv
import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.urls import reverse

from billing import csv_cells
from billing.cloudflare import SpendGroup
from billing.sync.spend import store_spend

HOSTILE = {
    '=HYPERLINK("https://evil.test","x")': '\'=HYPERLINK("https://evil.test","x")',
    "+cmd|' /C calc'!A0": "'+cmd|' /C calc'!A0",
    "-2+3": "'-2+3",
    "@SUM(1)": "'@SUM(1)",
    "\tTAB": "'\tTAB",
    "\rCR": "'\rCR",
}


@pytest.mark.parametrize(("text", "written"), list(HOSTILE.items()))
def test_a_text_cell_a_spreadsheet_would_execute_gets_a_leading_quote(text, written):
    assert next(csv.reader(io.StringIO(csv_cells.line([text])))) == [written]


@pytest.mark.parametrize("number", ["-12.50", "-3", "0.000125", "42"])
def test_numbers_stay_numbers_even_negative_ones_written_as_text(number):
    assert csv_cells.cell(number) == number


def test_decimals_and_ints_are_written_as_they_are_and_none_is_empty():
    assert csv_cells.line([Decimal("-12.50"), -3, None, "a,b"]) == '-12.50,-3,,"a,b"\r\n'


def test_the_gateway_spend_csv_neutralises_hostile_names_from_cloudflare(client, manager, account):
    now = datetime(2026, 3, 18, 10, 20, tzinfo=UTC)
    at = now.replace(minute=0) - timedelta(hours=3)
    names = list(HOSTILE)
    groups = [
        SpendGroup(
            hour=at,
            gateway=names[i % len(names)],
            model=names[(i + 1) % len(names)],
            provider=names[(i + 2) % len(names)],
            requests=10,
            cost=Decimal("1.25"),
            tokens_in=100,
            tokens_out=50,
            cached_tokens_in=0,
            cached_tokens_out=0,
            cached_requests=1,
            errored_requests=0,
        )
        for i in range(len(names))
    ]
    store_spend(account, groups, at, at + timedelta(hours=1), now)
    client.force_login(manager)

    url = reverse("gateway_breakdown", args=[account.cloudflare_id]) + "?range=24h&format=csv"
    response = client.get(url)

    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode(), newline="")))
    assert len(rows) == len(names)
    cells = [row[column] for row in rows for column in ("gateway", "model", "provider")]
    assert sorted(set(cells)) == sorted(HOSTILE.values())
    assert {row["estimated_cost_usd"] for row in rows} == {"1.250000"}
