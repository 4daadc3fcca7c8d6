"""Gateway spend over a range, read once (`billing.figures.gateway_spend`): every page, the CSV, the account
summary and a digest give the same figure for the same gateway and range; what a preset covers at the edges of
an hour and a day; a range that starts before the data says where the data starts, on the page and in the CSV;
a sliding rule's window agrees with the preset of the same length."""

import csv
import io
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.core import mail
from django.urls import reverse

from billing import tasks
from billing.cloudflare import SpendGroup
from billing.figures.gateway_spend import HOURS_GONE, history_of, preset, spend_over
from billing.figures.rule_windows import draft_window
from billing.models import Gateway, NotificationSettings, SyncOutcome, SyncRun
from billing.money import format_money
from billing.sync.retention import apply_retention
from billing.sync.spend import store_spend

pytestmark = pytest.mark.django_db

# A Monday, half an hour into the UTC day: the last 7 days are the week a weekly digest covers.
MONDAY = datetime(2026, 11, 30, 0, 30, tzinfo=UTC)


def hour(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def synced(account, now: datetime, *rows: tuple) -> None:
    """What the analytics sync and the retention job leave for these (hour, dollars, gateway, model,
    provider) rows: the hours and their days, and only the days of hours past the hourly history."""
    groups = [
        SpendGroup(
            hour=at,
            gateway=gateway,
            model=model,
            provider=provider,
            requests=10,
            cost=Decimal(dollars),
            tokens_in=100,
            tokens_out=50,
            cached_tokens_in=0,
            cached_tokens_out=0,
            cached_requests=1,
            errored_requests=0,
        )
        for at, dollars, gateway, model, provider in rows
    ]
    first, last = min(g.hour for g in groups), max(g.hour for g in groups)
    store_spend(account, groups, first, last + timedelta(hours=1), now)
    apply_retention(now)


def chat(at: datetime, dollars: str, model: str = "gpt-4o", provider: str = "openai") -> tuple:
    return (at, dollars, "chat-app", model, provider)


def page(client, name: str, account, query: str = "") -> str:
    response = client.get(reverse(name, args=[account.cloudflare_id]) + query)
    assert response.status_code == 200
    return response.content.decode()


def csv_rows(client, account, query: str) -> list[dict]:
    response = client.get(reverse("gateway_breakdown", args=[account.cloudflare_id]) + query + "&format=csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


def tab_cell(html: str, gateway: str, key: str) -> str:
    row = html.split(f"<strong>{gateway}</strong>", 1)[1].split("</tr>", 1)[0]
    return re.search(rf"range={key}\">([^<]+)</a>", row).group(1)


def breakdown_total(html: str) -> str:
    return re.search(r"Spend over the range <span class=\"muted small\">([^ ]+) estimated", html).group(1)


def csv_total(rows: list[dict], gateway: str) -> str:
    return format_money(sum(Decimal(r["estimated_cost_usd"]) for r in rows if r["gateway"] == gateway))


def summary_cell(html: str, gateway: str) -> str:
    card = html.split('id="where-the-money-goes"', 1)[1].split("</section>", 1)[0]
    return re.search(
        rf"<td>{gateway}</td><td class=\"num\">[^<]*</td><td class=\"num\">([^<]+)</td>", card
    ).group(1)


def test_every_page_the_csv_the_summary_and_a_digest_give_one_figure_per_gateway_and_range(
    client, account, manager, settings
):
    settings.TIME_ZONE = "UTC"
    with time_machine.travel(hour(2026, 11, 1), tick=False):
        NotificationSettings.objects.create(
            user=manager, digest_frequency="weekly", digest_hour=0, time_zone="UTC"
        )
    with time_machine.travel(MONDAY, tick=False):
        Gateway.objects.create(account=account, gateway_id="chat-app", synced_at=MONDAY)
        Gateway.objects.create(account=account, gateway_id="batch", synced_at=MONDAY)
        synced(
            account,
            MONDAY,
            chat(hour(2026, 11, 29, 23), "1.25"),  # the hour that just ended
            chat(hour(2026, 11, 25, 12), "10.00"),
            chat(hour(2026, 11, 27, 5), "3.33", "claude-sonnet-4", "anthropic"),
            chat(hour(2026, 11, 23, 0), "2.50"),  # the first hour of the last 7 days
            chat(hour(2026, 11, 22, 23), "4.00"),  # 7 × 24 h + 1 h before the hour under way
            chat(hour(2026, 11, 30, 0), "8.00"),  # the hour under way: in no range
            chat(hour(2026, 11, 1, 9), "5.55"),  # past the hourly history: its day row is left
            chat(hour(2026, 10, 20, 9), "9.99"),  # before the last 30 days
            (hour(2026, 11, 26, 10), "7.77", "batch", "gpt-4o-mini", "openai"),
            (hour(2026, 11, 10, 9), "20.00", "batch", "gpt-4o-mini", "openai"),
        )
        client.force_login(manager)
        tab = page(client, "gateways", account)
        week = page(client, "gateway_breakdown", account, "?range=7d&gateway=chat-app")
        month = page(client, "gateway_breakdown", account, "?range=30d&gateway=chat-app")
        week_csv = csv_rows(client, account, "?range=7d")
        month_csv = csv_rows(client, account, "?range=30d")
        summary = page(client, "account", account)
        assert tasks.send_digests() == 1
        tasks.send_outbox()

    (digest,) = [m for m in mail.outbox if "digest" in m.subject]
    top_gateways = digest.body.split("Top gateways:", 1)[1]
    week_figure, month_figure = "$17.08", "$26.63"
    assert tab_cell(tab, "chat-app", "24h") == "$1.25"
    assert tab_cell(tab, "chat-app", "7d") == week_figure
    assert breakdown_total(week) == week_figure
    assert csv_total(week_csv, "chat-app") == week_figure
    assert f"chat-app: {week_figure} (68.7%)" in top_gateways
    assert tab_cell(tab, "chat-app", "30d") == month_figure
    assert breakdown_total(month) == month_figure
    assert csv_total(month_csv, "chat-app") == month_figure
    assert summary_cell(summary, "chat-app") == month_figure
    # The other gateway, through the same pages.
    assert tab_cell(tab, "batch", "7d") == csv_total(week_csv, "batch") == "$7.77"
    assert "batch: $7.77 (31.3%)" in top_gateways
    assert tab_cell(tab, "batch", "30d") == summary_cell(summary, "batch") == csv_total(month_csv, "batch")
    assert csv_total(month_csv, "batch") == "$27.77"
    # Each page says what the range means.
    meaning = preset("7d", MONDAY).meaning
    assert meaning in tab and meaning in week and week_csv[0]["range_meaning"] == meaning
    assert preset("30d", MONDAY).meaning in summary
    assert "Data from" not in month and "data from" not in summary
    assert "hours, midnight to midnight UTC" in " ".join(digest.body.split())


@pytest.mark.parametrize("now", [hour(2026, 11, 30, 0, 30), hour(2026, 11, 29, 23, 59)])
def test_last_7_days_are_the_7_times_24_hours_ending_with_the_last_complete_hour(
    client, account, manager, now
):
    under_way = now.replace(minute=0)
    with time_machine.travel(now, tick=False):
        synced(
            account,
            now,
            chat(under_way - timedelta(hours=1), "1.00"),  # the hour that just ended: counted
            chat(under_way, "2.00"),  # the hour under way: not counted
            chat(under_way - timedelta(days=7), "4.00"),  # the first of the 7 × 24 hours: counted
            chat(under_way - timedelta(days=7, hours=1), "8.00"),  # 7 × 24 h + 1 h ago: not counted
        )
        history = history_of(account.pk, now)
        week = spend_over(account.pk, preset("7d", now), history=history)
        day = spend_over(account.pk, preset("24h", now), history=history)
        client.force_login(manager)
        html = page(client, "gateway_breakdown", account, "?range=7d")

    assert week.total == Decimal("5.00") and day.total == Decimal("1.00")
    assert not week.clipped
    shown = f"{under_way - timedelta(days=7):%b %-d, %H:%M} – {under_way:%b %-d, %H:%M} UTC"
    assert shown in html and "$5.00 estimated" in html


def test_a_range_before_the_analytics_history_says_where_its_data_starts_on_the_pages_and_in_the_csv(
    client, account, manager
):
    first_sync = hour(2026, 11, 25, 10)  # read the hours from Nov 11, the first ones without traffic
    SyncRun.objects.create(
        job="gateway_spend",
        account=account,
        started_at=first_sync,
        finished_at=first_sync,
        outcome=SyncOutcome.SUCCEEDED,
    )
    Gateway.objects.create(account=account, gateway_id="chat-app", synced_at=first_sync)
    with time_machine.travel(MONDAY, tick=False):
        synced(account, MONDAY, chat(hour(2026, 11, 20, 9), "5.00"), chat(hour(2026, 11, 28, 9), "2.00"))
        client.force_login(manager)
        month = page(client, "gateway_breakdown", account, "?range=30d")
        week = page(client, "gateway_breakdown", account, "?range=7d")
        rows = csv_rows(client, account, "?range=30d")
        tab = page(client, "gateways", account)
        summary = page(client, "account", account)

    assert "Data from Nov 11, 00:00 UTC only</strong>: the analytics history starts then" in month
    assert "Data from" not in week
    assert "Data from Nov 11, 00:00 UTC only" in tab
    assert "(data from Nov 11, a UTC day, only)" in summary
    assert [(r["range_start_utc"], r["data_from_utc"]) for r in rows] == [
        ("2026-10-31T00:00:00+00:00", "2026-11-11T00:00:00+00:00")
    ]
    assert rows[0]["estimated_cost_usd"] == "7.000000"


def test_a_range_cutting_a_day_whose_hours_are_gone_starts_at_the_midnight_after(client, account, manager):
    now = hour(2026, 11, 30, 13, 30)  # the last 30 days start at Oct 31, 13:00: a day kept only whole
    with time_machine.travel(now, tick=False):
        synced(
            account,
            now,
            chat(hour(2026, 10, 1, 9), "1.00"),
            chat(hour(2026, 10, 31, 15), "6.00"),  # inside the range, in a day that cannot be split
            chat(hour(2026, 11, 1, 9), "5.00"),
        )
        month = spend_over(account.pk, preset("30d", now), "gateway", history=history_of(account.pk, now))
        client.force_login(manager)
        html = page(client, "gateway_breakdown", account, "?range=30d")

    assert month.total == Decimal("5.00")
    assert (month.data_from, month.why) == (hour(2026, 11, 1), HOURS_GONE)
    assert f"Data from Nov 1, 00:00 UTC only</strong>: {HOURS_GONE}" in html


def test_a_sliding_rule_reads_as_the_preset_of_its_length_on_the_hour_and_says_how_it_differs_after(account):
    on_the_hour = hour(2026, 11, 29, 23)
    with time_machine.travel(on_the_hour, tick=False):
        synced(
            account,
            on_the_hour,
            chat(hour(2026, 11, 22, 23), "4.00"),
            chat(hour(2026, 11, 26, 0), "10.00"),
            chat(hour(2026, 11, 29, 22), "1.00"),
        )

    def rule_and_preset(now: datetime) -> tuple[Decimal, Decimal]:
        window = draft_window(
            account,
            "chat-app",
            window_seconds=7 * 86400,
            technique="sliding",
            models=(),
            providers=(),
            limit=Decimal(100),
            now=now,
        )
        last_7_days = spend_over(account.pk, preset("7d", now), history=history_of(account.pk, now))
        return window.spend, last_7_days.total

    assert rule_and_preset(on_the_hour) == (Decimal("15.00"), Decimal("15.00"))
    half_past = on_the_hour + timedelta(minutes=30)
    with time_machine.travel(half_past, tick=False):
        synced(account, half_past, chat(on_the_hour, "3.00"))  # spend in the hour under way
        rule, last_7_days = rule_and_preset(half_past)
    # The rule counts the hour under way, and half of its first hour (the other half has left its window).
    assert last_7_days == Decimal("15.00")
    assert rule == last_7_days - Decimal("4.00") / 2 + Decimal("3.00")
