"""Each person's time zone: picked from a case-insensitive list on their settings page, one stored preference
(also their digest's), every time on their pages in it and naming it; emails in their one recipient's zone,
else UTC named."""

from datetime import UTC, datetime

import pytest
from django.urls import reverse

from billing.models import NotificationSettings
from billing.notifications import outbox
from tests.support.history import snapshot
from tests.support.people_fixtures import login

pytestmark = pytest.mark.django_db

TAKEN = datetime(2026, 3, 18, 10, 5, tzinfo=UTC)


@pytest.fixture(autouse=True)
def _utc_portal(settings):
    settings.TIME_ZONE = "UTC"
    settings.CLOUDFLARE_API_BASE_URL = "http://127.0.0.1:9/client/v4"


def choose_zone(client, person, typed: str):
    login(client, person)
    return client.post(
        reverse("notification_settings"), {"time_zone": typed, "digest_frequency": "off", "digest_hour": "8"}
    )


def test_a_zone_typed_in_any_case_is_stored_in_its_iana_spelling(client, viewer):
    response = choose_zone(client, viewer, "  europe/berlin ")

    assert response.status_code == 302
    assert NotificationSettings.objects.get(user=viewer).time_zone == "Europe/Berlin"


def test_the_settings_page_offers_every_zone_to_search(client, viewer):
    login(client, viewer)
    page = client.get(reverse("notification_settings")).content.decode()

    assert '<datalist id="time-zones">' in page
    assert '<option value="America/New_York">' in page
    assert 'list="time-zones"' in page


def test_an_unknown_zone_is_refused_with_a_message(client, viewer):
    response = choose_zone(client, viewer, "Europe/Atlantis")

    assert response.status_code == 200
    assert "is not a time zone this server knows" in response.content.decode()
    assert not NotificationSettings.objects.exists()


def test_pages_show_times_in_the_persons_zone_and_name_it(client, viewer, account):
    snapshot(account, "120.00", at=TAKEN)
    choose_zone(client, viewer, "Europe/Berlin")

    overview = client.get(reverse("overview")).content.decode()

    assert "Mar 18, 11:05 CET" in overview
    assert "10:05" not in overview


def test_without_a_choice_times_are_in_the_portals_zone_named(client, viewer, account):
    snapshot(account, "120.00", at=TAKEN)
    login(client, viewer)

    assert "Mar 18, 10:05 UTC" in client.get(reverse("overview")).content.decode()


def test_an_email_to_one_person_reads_in_their_zone(client, viewer):
    choose_zone(client, viewer, "America/New_York")

    email = outbox.queue_email("test_email", {"sent_at": TAKEN, "requested_by": "x"}, [viewer.email])

    assert email is not None
    assert "2026-03-18 06:05 EDT" in email.text


def test_an_email_to_several_people_reads_in_utc_named(client, viewer, manager):
    choose_zone(client, viewer, "America/New_York")

    email = outbox.queue_email(
        "test_email", {"sent_at": TAKEN, "requested_by": "x"}, [viewer.email, manager.email]
    )

    assert email is not None
    assert "2026-03-18 10:05 UTC" in email.text
