"""Digests through a real SMTP server, with the clock moved (no real waiting): sent at the person's hour in
their time zone, once per period, the latest period caught up once after a downtime; what they say; the
Notifications page."""

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from billing.models import (
    AlertEvent,
    AlertKind,
    DigestRun,
    GatewaySpendDay,
    NotificationSettings,
    UsageRecord,
    UsageWindow,
)
from billing.notifications import digests
from billing.notifications import outbox as mail
from tests.support.alerts import BASE
from tests.support.history import snapshot
from tests.support.people_fixtures import login


@pytest.fixture(autouse=True)
def _portal(settings):
    settings.PORTAL_BASE_URL = BASE
    settings.TIME_ZONE = "UTC"
    settings.DIGEST_MANAGER_DEFAULT = "daily"
    settings.DIGEST_DEFAULT_HOUR = 8


def utc(*parts) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def day_row(account, day: date, dollars: str) -> None:
    start = utc(day.year, day.month, day.day)
    UsageRecord.objects.create(
        account=account,
        window=UsageWindow.DAY,
        start=start,
        end=start + timedelta(days=1),
        summary_id=f"d-{day}",
        value=Decimal(dollars),
        synced_at=start + timedelta(days=1),
    )


def model_spend(account, day: date, gateway: str, model: str, dollars: str) -> None:
    GatewaySpendDay.objects.create(
        account=account,
        day=day,
        gateway=gateway,
        model=model,
        provider="openai",
        cost=Decimal(dollars),
        synced_at=utc(2026, 12, 1),
    )


CHOSEN_AT = datetime(2026, 11, 1, tzinfo=UTC)


def choose(user, frequency="daily", hour=8, zone="UTC"):
    with time_machine.travel(CHOSEN_AT, tick=False):
        digests.save_preferences(user, frequency, hour, zone)


def joined(*users):
    for user in users:
        user.date_joined = CHOSEN_AT
        user.save(update_fields=["date_joined"])


def run_at(moment: datetime) -> int:
    """The beat task's work at `moment`, then the outbox drained; returns the digests queued."""
    with time_machine.travel(moment, tick=False):
        queued = digests.send_due_digests()
        mail.send_outbox()
    return queued


def test_sent_at_the_persons_hour_in_their_time_zone_once_per_period(manager, account, smtp_server):
    choose(manager, hour=9, zone="America/New_York")  # 09:00 in New York is 14:00 UTC in winter
    assert run_at(utc(2026, 11, 29, 14, 0)) == 1  # Saturday the 28th's

    assert run_at(utc(2026, 11, 30, 13, 59)) == 0
    assert run_at(utc(2026, 11, 30, 14, 0)) == 1
    assert run_at(utc(2026, 11, 30, 14, 15)) == 0
    assert run_at(utc(2026, 12, 1, 3, 0)) == 0  # after midnight UTC, still Nov 30 in New York

    assert len(smtp_server.messages) == 2
    assert smtp_server.recipients()[1] == ["max-manager@example.com"]
    assert "Sunday 29 November 2026" in smtp_server.subjects()[1]
    periods = DigestRun.objects.order_by("period_start").values_list("period_kind", "period_start")
    assert list(periods) == [("daily", date(2026, 11, 28)), ("daily", date(2026, 11, 29))]


def test_after_a_downtime_over_two_periods_only_the_latest_is_caught_up_once(manager, account, smtp_server):
    choose(manager, hour=8)
    assert run_at(utc(2026, 11, 27, 8, 5)) == 1  # the digest of Nov 26
    # The jobs are down from Nov 27 08:05 to Nov 30 12:00: Nov 27's and Nov 28's digests were never sent.
    assert run_at(utc(2026, 11, 30, 12, 0)) == 1
    assert run_at(utc(2026, 11, 30, 12, 15)) == 0

    periods = sorted(DigestRun.objects.values_list("period_start", flat=True))
    assert periods == [date(2026, 11, 26), date(2026, 11, 29)]
    assert len(smtp_server.messages) == 2


def test_weekly_covers_monday_to_sunday_and_comes_the_monday_after(manager, account, smtp_server):
    choose(manager, "weekly", hour=7, zone="Europe/Berlin")  # 07:00 in Berlin is 06:00 UTC in winter
    for day in range(23, 30):
        day_row(account, date(2026, 11, day), "10")
    day_row(account, date(2026, 11, 22), "35")  # the week before ends on Sunday the 22nd

    assert run_at(utc(2026, 11, 23, 6, 0)) == 1  # the week of the 16th
    assert run_at(utc(2026, 11, 30, 5, 59)) == 0  # Monday, 06:59 in Berlin
    assert run_at(utc(2026, 11, 30, 6, 0)) == 1
    assert run_at(utc(2026, 12, 3, 6, 0)) == 0

    assert DigestRun.objects.order_by("period_start").last().period_start == date(2026, 11, 23)
    text = smtp_server.text_of(smtp_server.messages[1])
    # Berlin's week starts at 23:00 UTC on the 22nd: one hour of the 22nd's day row counts, in proportion.
    assert "Spent:            $71.04" in text


def test_what_a_digest_says(manager, account, smtp_server, capsys):
    choose(manager, hour=8)
    snapshot(account, "240.00", at=utc(2026, 11, 30, 7, 0))
    day_row(account, date(2026, 11, 28), "20")
    day_row(account, date(2026, 11, 29), "30")
    model_spend(account, date(2026, 11, 29), "chat-app", "gpt-4o", "18")
    model_spend(account, date(2026, 11, 29), "chat-app", "claude-sonnet", "8")
    model_spend(account, date(2026, 11, 29), "batch", "gpt-4o-mini", "4")
    model_spend(account, date(2026, 11, 28), "chat-app", "older-model", "99")  # the day before: not counted
    AlertEvent.objects.create(
        account=account,
        kind=AlertKind.LOW_BALANCE,
        headline="Low balance: Acme Prod $4.20, threshold $10.00",
        opened_at=utc(2026, 11, 29, 10, 0),
        resolved_at=utc(2026, 11, 29, 15, 0),
    )

    assert run_at(utc(2026, 11, 30, 8, 0)) == 1

    message = smtp_server.messages[0]
    text = smtp_server.text_of(message)
    print(message["Subject"], "\n", text)
    assert message["Subject"] == (
        "Your daily AI Gateway billing digest: $30.00 spent on Sunday 29 November 2026"
    )
    assert "Spent:            $30.00 (up 50% on the day before: $20.00)" in text
    assert "Balance now:      $240.00" in text
    models = text.split("Where the money goes")[1].split("Top gateways")[0]
    assert models.index("gpt-4o: $18.00 (60.0%)") < models.index("claude-sonnet: $8.00 (26.7%)")
    assert "older-model" not in text
    assert "chat-app: $26.00 (86.7%)" in text
    assert "Alerts opened:    1" in text and "Alerts resolved:  1" in text
    html = message.get_body(("html",)).get_content()
    assert "Where the money goes" in html and "gpt-4o" in html


def test_viewers_get_none_by_default_managers_daily(viewer, manager, account, smtp_server):
    joined(viewer, manager)
    assert digests.preferences_for(viewer).frequency == "off"
    assert digests.preferences_for(manager).frequency == "daily"
    assert run_at(utc(2026, 11, 30, 8, 0)) == 1
    assert smtp_server.recipients() == [["max-manager@example.com"]]


def test_a_choice_made_after_the_hour_starts_with_the_next_digest(manager, account, smtp_server):
    with time_machine.travel(utc(2026, 11, 30, 15, 0), tick=False):
        digests.save_preferences(manager, "daily", 8, "UTC")
    assert run_at(utc(2026, 11, 30, 15, 15)) == 0  # not yesterday's, chosen after its hour
    assert run_at(utc(2026, 12, 1, 8, 0)) == 1
    assert DigestRun.objects.get().period_start == date(2026, 11, 30)


def test_a_period_is_claimed_once(manager, account, smtp_server):
    prefs = digests.preferences_for(manager)
    with time_machine.travel(utc(2026, 11, 30, 9, 0), tick=False):
        first = digests.send_digest(manager, prefs, date(2026, 11, 29), utc(2026, 11, 30, 9, 0))
        again = digests.send_digest(manager, prefs, date(2026, 11, 29), utc(2026, 11, 30, 9, 0))
    assert first is not None and again is None
    assert DigestRun.objects.get().email == first


def test_someone_who_sees_no_account_gets_no_digest(make_user, smtp_server):
    person = make_user("nobody")
    choose(person)
    assert run_at(utc(2026, 11, 30, 8, 0)) == 0


# --- The Notifications page --------------------------------------------------------------------------------
def test_the_notifications_page_saves_the_persons_choice(client, viewer):
    login(client, viewer)
    url = reverse("notification_settings")
    page = client.get(url).content.decode()
    assert "You have not chosen yet: the defaults apply (times in UTC; digest off)" in page

    response = client.post(
        url, {"digest_frequency": "weekly", "digest_hour": "18", "time_zone": "Asia/Tokyo"}
    )

    assert response.status_code == 302
    row = NotificationSettings.objects.get(user=viewer)
    assert (row.digest_frequency, row.digest_hour, row.time_zone) == ("weekly", 18, "Asia/Tokyo")


@pytest.mark.parametrize("zone", ["Mars/Olympus", "../etc/passwd", ""])
def test_the_notifications_page_refuses_an_unknown_time_zone(client, viewer, zone):
    login(client, viewer)
    response = client.post(
        reverse("notification_settings"), {"digest_frequency": "daily", "digest_hour": "8", "time_zone": zone}
    )
    assert response.status_code == 200
    assert not NotificationSettings.objects.exists()
