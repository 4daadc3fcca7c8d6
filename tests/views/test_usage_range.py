"""The usage page shows the range it was asked for, or says what it changed and why; the CSV is clean."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.forms.filters import UsageFilterForm
from billing.views.usage import range_label
from tests.support.history import seed_history

pytestmark = pytest.mark.django_db


def get(client, user, account, **query):
    client.force_login(user)
    return client.get(reverse("usage", args=[account.cloudflare_id]), query)


def test_start_after_end_is_refused_beside_the_field_not_swapped(client, viewer, account):
    today = timezone.localdate()
    response = get(
        client, viewer, account, start=str(today - timedelta(days=1)), end=str(today - timedelta(days=5))
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert "must be on or before To" in form.errors["start"][0]
    html = response.content.decode()
    assert 'id="id_start-errors"' in html
    # No figures for a range nobody asked for; the fields keep what was typed.
    assert "cannot be shown" in html
    assert "total</span>" not in html
    assert f'value="{today - timedelta(days=1)}"' in html
    assert f'value="{today - timedelta(days=5)}"' in html


def test_a_date_that_is_not_a_date_is_an_error_naming_the_field(client, viewer, account):
    response = get(client, viewer, account, start="abc")
    assert response.status_code == 400
    assert response.context["form"].errors["start"] == ["From must be a date like 2026-11-01."]
    assert "From must be a date like 2026-11-01." in response.content.decode()


def test_an_unknown_window_is_an_error_naming_the_field(client, viewer, account):
    response = get(client, viewer, account, window="week")
    assert response.status_code == 400
    assert "Group by must be Day or Hour" in response.context["form"].errors["window"][0]


def test_a_future_end_is_moved_to_today_with_a_notice(client, viewer, account):
    today = timezone.localdate()
    response = get(
        client, viewer, account, start=str(today - timedelta(days=3)), end=str(today + timedelta(days=9))
    )
    assert response.status_code == 200
    assert response.context["last"] == today
    assert "was in the future; showing up to today." in response.content.decode()


def test_a_range_over_366_days_is_shortened_with_a_notice(client, viewer, account):
    today = timezone.localdate()
    response = get(client, viewer, account, start=str(today - timedelta(days=800)), end=str(today))
    assert response.status_code == 200
    assert (response.context["last"] - response.context["first"]).days == 365
    assert "longer than 366 days" in response.content.decode()


def test_a_range_within_the_rules_has_no_notice(client, viewer, account):
    today = timezone.localdate()
    response = get(client, viewer, account, start=str(today - timedelta(days=9)), end=str(today))
    assert response.status_code == 200
    assert response.context["notices"] == ()
    assert "range-errors" not in response.content.decode()


def test_the_form_keeps_the_defaults_and_says_nothing_when_nothing_was_asked():
    shown = UsageFilterForm(None).resolve()
    assert shown.notices == ()
    assert (shown.last - shown.first).days == 29


@pytest.mark.parametrize(
    ("first", "last", "label"),
    [
        (date(2025, 12, 2), date(2026, 12, 1), "Dec 2, 2025 – Dec 1, 2026"),
        (date(2026, 11, 2), date(2026, 12, 1), "Nov 2 – Dec 1, 2026"),
        (date(2026, 11, 1), date(2026, 11, 1), "Nov 1, 2026"),
    ],
)
def test_range_titles_carry_the_year_of_each_end_when_they_differ(first, last, label):
    assert range_label(first, last) == label


def test_a_year_long_range_is_titled_with_both_years(client, viewer, account):
    today = timezone.localdate()
    first = today - timedelta(days=365)
    response = get(client, viewer, account, start=str(first), end=str(today))
    assert response.status_code == 200
    assert f"{first:%b %-d, %Y} – {today:%b %-d, %Y}" in response.content.decode()


def test_csv_columns_are_named_once_with_units_and_iso_times(client, viewer, account, settings):
    settings.TIME_ZONE = "UTC"  # the zone whose name once repeated the UTC column
    seed_history(account, days=3)
    response = get(client, viewer, account, format="csv", window="day")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    header = list(rows[0].keys())
    assert header == [
        "account_id",
        "account_name",
        "bucket_start_utc",
        "bucket_start_local",
        "window",
        "usage_usd",
        "partial",
    ]
    assert len({name.lower() for name in header}) == len(header)
    for row in rows:
        utc = datetime.fromisoformat(row["bucket_start_utc"])
        local = datetime.fromisoformat(row["bucket_start_local"])
        assert utc.utcoffset() == timedelta(0)
        assert local.utcoffset() is not None
        assert utc == local
        assert row["window"] == "day"
        assert float(row["usage_usd"]) >= 0
        assert row["partial"] in ("yes", "no")


def test_csv_is_named_by_its_range_newest_first_like_the_page_with_the_account(client, viewer, account):
    account.name = "Acme, Staging"
    account.save()
    seed_history(account, days=3)
    first, last = date(2026, 3, 15), date(2026, 3, 17)
    response = get(client, viewer, account, format="csv", window="day", start=str(first), end=str(last))

    assert "-day-20260315-20260317.csv" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    starts = [row["bucket_start_utc"] for row in rows]
    assert len(starts) == 3
    assert starts == sorted(starts, reverse=True)
    assert {(row["account_id"], row["account_name"]) for row in rows} == {
        (account.cloudflare_id, "Acme, Staging")
    }


def test_csv_local_times_carry_the_portal_zone_offset(client, viewer, account, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    seed_history(account, days=2)
    response = get(client, viewer, account, format="csv", window="hour")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert rows
    assert all(datetime.fromisoformat(row["bucket_start_local"]).utcoffset() != timedelta(0) for row in rows)


def test_csv_of_a_range_that_would_be_changed_is_refused_with_the_reason(client, viewer, account):
    today = timezone.localdate()
    response = get(
        client, viewer, account, format="csv", start=str(today - timedelta(days=800)), end=str(today)
    )
    assert response.status_code == 400
    assert "longer than 366 days" in response.content.decode()
    assert get(client, viewer, account, format="csv", start="abc").status_code == 400


def test_the_download_link_is_the_range_shown(client, viewer, account):
    today = timezone.localdate()
    response = get(
        client, viewer, account, start=str(today - timedelta(days=800)), end=str(today + timedelta(days=2))
    )
    query = response.context["csv_query"]
    assert f"start={today - timedelta(days=365):%Y-%m-%d}" in query
    assert f"end={today:%Y-%m-%d}" in query
    assert (
        get(client, viewer, account, **dict(pair.split("=") for pair in query.split("&"))).status_code == 200
    )


def test_a_range_before_the_hourly_history_says_where_it_starts_and_offers_the_day_view(
    client, viewer, account
):
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import UsageRecord

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    for hours_ago in (1, 2):
        start = now - timedelta(hours=hours_ago)
        UsageRecord.objects.create(
            account=account,
            window="hour",
            start=start,
            end=start + timedelta(hours=1),
            value="1",
            synced_at=now,
        )
    client.force_login(viewer)
    first = (now - timedelta(days=20)).date()

    page = client.get(
        f"/accounts/{account.cloudflare_id}/usage/",
        {"window": "hour", "start": f"{first}", "end": f"{now.date()}"},
    )

    text = page.content.decode()
    assert 'id="history-gap"' in text
    assert "Local hourly history starts" in text and "it was not zero" in text
    assert "window=day" in text and "See these days in the day view" in text


def test_no_gap_notice_when_the_history_covers_the_range(client, viewer, account):
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import UsageRecord

    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    old = now - timedelta(days=40)
    UsageRecord.objects.create(
        account=account, window="day", start=old, end=old + timedelta(days=1), value="1", synced_at=now
    )
    client.force_login(viewer)

    page = client.get(f"/accounts/{account.cloudflare_id}/usage/", {"window": "day"})

    assert 'id="history-gap"' not in page.content.decode()


def test_the_day_history_start_is_a_utc_day_not_a_local_time(client, viewer, account, settings):
    from billing.models import UsageRecord

    settings.TIME_ZONE = "Europe/Berlin"  # UTC midnight is 01:00 here: it must not read as a time
    day = datetime(2026, 3, 1, tzinfo=UTC)
    UsageRecord.objects.create(
        account=account, window="day", start=day, end=day + timedelta(days=1), value="1", synced_at=day
    )

    text = get(client, viewer, account, window="day", start="2026-02-20", end="2026-03-10").content.decode()

    assert "Local daily history starts Mar 1, 2026 (a UTC day)" in text
    assert "01:00" not in text
