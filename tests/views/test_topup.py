"""The top-up pages against the sandbox: form, confirmation, result; once only; errors designed."""

import re

import pytest
from django.urls import reverse

from billing import sync
from billing.models import AuditEntry, TopUp, TopUpStatus
from tests.support.history import snapshot
from tests.support.sandbox_fixtures import api_requests

pytestmark = pytest.mark.django_db


def new_url(account):
    return reverse("topup_new", args=[account.cloudflare_id])


def confirm_url(account):
    return reverse("topup_confirm", args=[account.cloudflare_id])


def confirm_fields(html: str) -> dict:
    return dict(re.findall(r'name="(amount_cents|intent_key)" value="([^"]+)"', html))


def test_form_shows_bounds_card_and_makes_no_api_call(client, manager, account, cloudflare):
    snapshot(account, "50")
    client.force_login(manager)
    html = client.get(new_url(account)).content.decode()
    assert "From $10.00 to $10,000.00" in html
    assert "Visa •••• 4242" in html
    assert api_requests(cloudflare) == []


def test_confirmation_shows_amount_fee_total_and_card(client, manager, account, cloudflare, settings):
    settings.TOPUP_FEE_PERCENT = 5
    snapshot(account, "50")
    client.force_login(manager)
    response = client.post(new_url(account), {"amount": "100"})
    html = response.content.decode()
    assert response.status_code == 200
    assert "$100.00" in html and "$5.00" in html and "$105.00" in html
    assert "Visa •••• 4242" in html
    assert confirm_fields(html)["amount_cents"] == "10000"
    # Showing the confirmation sends no top-up; only the limits are asked for.
    assert api_requests(cloudflare, "POST") == []
    assert TopUp.objects.count() == 0


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("abc", "Amount must be a number of dollars"),
        ("-5", "Amount cannot be negative."),
        ("10.005", "Amount can have at most 2 decimal places"),
        ("5", "Amount must be at least $10.00."),
        # Cloudflare's own maximum, stored by a sync (sandbox: $1,000), wins over the portal's.
        ("1000.01", "Amount must be at most $1,000.00."),
        ("NaN", "Amount must be a number of dollars"),
        ("1" * 30, "Amount is far too large."),
    ],
)
def test_bad_amounts_are_explained_and_nothing_is_sent(client, manager, account, cloudflare, typed, message):
    sync.sync_topup_range(account)  # as a sync stores them; the submit itself asks nothing
    client.force_login(manager)
    response = client.post(new_url(account), {"amount": typed})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert api_requests(cloudflare, "POST") == []


def test_no_default_card_is_explained_and_confirm_disabled(client, manager, account, cloudflare):
    snapshot(account, "50", card=False)
    client.force_login(manager)
    html = client.post(new_url(account), {"amount": "20"}).content.decode()
    assert "no default payment method" in html
    assert re.search(r'<button class="button primary" type="submit"[^>]*disabled', html)


def test_confirm_sends_once_and_shows_the_result_page(client, manager, account, cloudflare):
    snapshot(account, "50")
    client.force_login(manager)
    fields = confirm_fields(client.post(new_url(account), {"amount": "25"}).content.decode())
    response = client.post(confirm_url(account), fields)
    topup = TopUp.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("topup_detail", args=[account.cloudflare_id, topup.pk])
    html = client.get(response["Location"]).content.decode()
    assert "Waiting for Cloudflare to confirm" in html
    assert 'data-reload-after="5"' in html
    assert topup.status == TopUpStatus.PENDING and topup.requested_by == manager


def test_double_submit_creates_one_topup(client, manager, account, cloudflare):
    client.force_login(manager)
    fields = confirm_fields(client.post(new_url(account), {"amount": "25"}).content.decode())
    first = client.post(confirm_url(account), fields)
    second = client.post(confirm_url(account), fields)  # double click, reload or back button
    assert first["Location"] == second["Location"]
    assert TopUp.objects.count() == 1
    assert len(api_requests(cloudflare, "POST", "/topup")) == 1
    assert AuditEntry.objects.count() == 1
    assert "already submitted" in client.get(second["Location"]).content.decode()


def test_tampered_confirmation_amount_is_refused(client, manager, account, cloudflare):
    client.force_login(manager)
    fields = confirm_fields(client.post(new_url(account), {"amount": "25"}).content.decode())
    fields["amount_cents"] = "50"
    response = client.post(confirm_url(account), fields)
    assert response.status_code == 400
    assert "Amount must be between" in response.content.decode()
    assert TopUp.objects.count() == 0


def test_unknown_outcome_says_we_dont_know_yet_not_try_again(client, manager, account, cloudflare):
    client.force_login(manager)
    fields = confirm_fields(client.post(new_url(account), {"amount": "25"}).content.decode())
    cloudflare.add_fault(method="POST", path_contains="/topup", count=1, status=502, body="html")
    response = client.post(confirm_url(account), fields, follow=True)
    html = response.content.decode()
    assert "We don't know yet whether this top-up went through" in html
    assert "not</strong> be sent again" in html
    assert "try again" not in html.lower()
    assert TopUp.objects.get().status == TopUpStatus.UNKNOWN


def test_refused_topup_rerenders_the_form_with_cloudflares_message(client, manager, account, cloudflare):
    client.force_login(manager)
    fields = confirm_fields(client.post(new_url(account), {"amount": "25"}).content.decode())
    cloudflare.add_fault(method="POST", path_contains="/topup", count=1, status=400)
    response = client.post(confirm_url(account), fields)
    html = response.content.decode()
    assert response.status_code == 502
    assert "Nothing was changed." in html
    assert 'value="25.00"' in html
    assert TopUp.objects.get().status == TopUpStatus.FAILED


def test_result_follows_status_to_completed(client, manager, account, cloudflare):
    from billing import operations

    client.force_login(manager)
    fields = confirm_fields(client.post(new_url(account), {"amount": "25"}).content.decode())
    detail = client.post(confirm_url(account), fields)["Location"]
    cloudflare.advance(10)
    topup = TopUp.objects.get()
    TopUp.objects.filter(pk=topup.pk).update(next_check_at=topup.requested_at)
    operations.poll_due_topups()
    html = client.get(detail).content.decode()
    assert "Completed." in html
    assert "data-reload-after" not in html


def test_check_now_button_polls_the_status(client, manager, account, cloudflare):
    client.force_login(manager)
    fields = confirm_fields(client.post(new_url(account), {"amount": "25"}).content.decode())
    detail = client.post(confirm_url(account), fields)["Location"]
    cloudflare.advance(10)
    topup = TopUp.objects.get()
    response = client.post(reverse("topup_check", args=[account.cloudflare_id, topup.pk]))
    assert response["Location"] == detail
    topup.refresh_from_db()
    assert topup.status == TopUpStatus.COMPLETED


def test_long_pending_topup_asks_for_a_person(client, manager, account, settings):
    from datetime import timedelta

    from django.utils import timezone

    topup = TopUp.objects.create(
        account=account,
        amount_cents=1000,
        status=TopUpStatus.PENDING,
        payment_intent_id="pi_1",
        requested_at=timezone.now() - timedelta(minutes=settings.TOPUP_UNKNOWN_AFTER_MINUTES + 1),
    )
    client.force_login(manager)
    html = client.get(reverse("topup_detail", args=[account.cloudflare_id, topup.pk])).content.decode()
    assert "We don't know yet" in html
    assert "data-reload-after" not in html


def test_topup_of_another_account_is_404(client, manager, account, other_account):
    from django.utils import timezone

    topup = TopUp.objects.create(account=other_account, amount_cents=1000, requested_at=timezone.now())
    client.force_login(manager)
    assert client.get(reverse("topup_detail", args=[account.cloudflare_id, topup.pk])).status_code == 404


def test_a_completed_topup_shows_the_balance_after_it_or_when_it_will(client, manager, account, settings):
    from datetime import timedelta

    from django.utils import timezone

    settings.TIME_ZONE = "UTC"
    settings.SYNC_BALANCE_INTERVAL = 600
    done = timezone.now().replace(microsecond=0)
    topup = TopUp.objects.create(
        account=account,
        amount_cents=2500,
        status=TopUpStatus.COMPLETED,
        payment_intent_id="pi_1",
        requested_at=done - timedelta(seconds=5),
        completed_at=done,
    )
    snapshot(account, "10.00", at=done - timedelta(minutes=1))  # before it: not the balance after it
    client.force_login(manager)
    url = reverse("topup_detail", args=[account.cloudflare_id, topup.pk])

    waiting = client.get(url).content.decode()
    expected_by = done + timedelta(seconds=600)
    assert f"shows after the next balance sync, by {expected_by:%b %-d, %H:%M} UTC" in waiting

    snapshot(account, "35.00", at=done + timedelta(minutes=2))
    assert "Balance after it: <strong>$35.00</strong>" in client.get(url).content.decode()
