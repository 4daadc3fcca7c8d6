"""Personal access tokens: made on a page and shown once, kept hashed, audited, revoked from the page,
last use recorded; and the rate limit per token (429 with Retry-After, over again once the minute ends)."""

from datetime import timedelta

import time_machine
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from billing.api import tokens
from billing.models import ApiRequestCount, ApiToken, AuditAction, AuditEntry
from tests.support.api_fixtures import bearer
from tests.support.people_fixtures import login


def test_a_token_made_on_the_page_is_shown_once_and_kept_only_as_its_digest(client, viewer, account):
    login(client, viewer)
    response = client.post(reverse("api_tokens"), {"name": "BI export", "days": "30"})
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0")
    secret = response.context["secret"]
    assert secret.startswith("agbp_") and len(secret) >= 45
    assert secret in response.content.decode()
    token = ApiToken.objects.get(user=viewer)
    assert token.digest == tokens.digest_of(secret) and secret not in (token.digest, token.hint)
    assert token.expires_at == token.created_at + timedelta(days=30)
    again = client.get(reverse("api_tokens")).content.decode()
    assert secret not in again and f"agbp_{token.hint}…" in again
    assert client.get("/api/v1/accounts", **bearer(secret)).json()[0]["id"] == account.cloudflare_id


def test_making_and_revoking_a_token_are_audited(client, viewer, account):
    login(client, viewer)
    client.post(reverse("api_tokens"), {"name": "nightly", "days": "7", "accounts": [account.pk]})
    token = ApiToken.objects.get(user=viewer)
    assert list(token.accounts.all()) == [account]
    response = client.post(reverse("api_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    entries = AuditEntry.objects.filter(actor=viewer).order_by("id")
    assert [entry.action for entry in entries] == [AuditAction.API_TOKEN_CREATE, AuditAction.API_TOKEN_REVOKE]
    assert entries[0].parameters["accounts"] == [account.cloudflare_id]
    assert "agbp_" not in str(entries[0].parameters)  # never the secret


def test_nobody_revokes_another_person_s_token(client, viewer, outsider, make_token):
    make_token(viewer)
    token = ApiToken.objects.get(user=viewer)
    login(client, outsider)
    assert client.post(reverse("api_token_revoke", args=[token.pk])).status_code == 404
    assert ApiToken.objects.get(pk=token.pk).revoked_at is None


def test_bad_input_on_the_page_is_a_message_beside_its_field(client, viewer, settings):
    settings.API_TOKEN_MAX_DAYS = 90
    login(client, viewer)
    response = client.post(reverse("api_tokens"), {"name": "", "days": "400"})
    assert response.status_code == 400
    html = response.content.decode()
    assert "This field is required." in html and "A token lives at most 90 days." in html
    assert not ApiToken.objects.exists()


def test_each_request_records_the_token_s_last_use(client, viewer, account, make_token):
    secret = make_token(viewer)
    assert ApiToken.objects.get().last_used_at is None
    client.get("/api/v1/accounts", **bearer(secret))
    assert abs(ApiToken.objects.get().last_used_at - timezone.now()) < timedelta(seconds=5)


@override_settings(API_RATE_LIMIT_PER_MINUTE=3)
def test_past_the_rate_limit_a_token_gets_429_with_retry_after_until_the_minute_ends(
    client, viewer, account, make_token
):
    secret = make_token(viewer)
    other = make_token(viewer)
    start = timezone.now().replace(second=15, microsecond=0) + timedelta(minutes=1)
    with time_machine.travel(start, tick=False) as clock:
        for _ in range(3):
            assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 200
        refused = client.get("/api/v1/accounts", **bearer(secret))
        assert refused.status_code == 429
        assert refused["Retry-After"] == "45"
        assert client.get("/api/v1/accounts", **bearer(other)).status_code == 200  # per token
        clock.shift(timedelta(seconds=44))
        assert client.get("/api/v1/accounts", **bearer(secret))["Retry-After"] == "1"
        clock.shift(timedelta(seconds=1))
        assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 200
    # Only the current minute's count is kept.
    assert ApiRequestCount.objects.filter(token__digest=tokens.digest_of(secret)).count() == 1


@override_settings(API_RATE_LIMIT_PER_MINUTE=1)
def test_a_refused_token_is_refused_before_the_rate_limit_counts(client, viewer, account, make_token):
    secret = make_token(viewer)
    for _ in range(3):
        assert client.get("/api/v1/accounts", HTTP_AUTHORIZATION="Bearer agbp_wrong").status_code == 401
    assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 200


def test_a_superuser_revokes_anyone_s_token_in_the_admin_and_never_sees_its_secret(
    client, superuser, viewer, account, make_token
):
    secret = make_token(viewer)
    token = ApiToken.objects.get(user=viewer)
    client.force_login(superuser)
    listing = client.get(reverse("admin:billing_apitoken_changelist")).content.decode()
    assert token.hint in listing and secret not in listing and token.digest not in listing
    data = {"action": "revoke", "_selected_action": [token.pk]}
    client.post(reverse("admin:billing_apitoken_changelist"), data)
    assert client.get("/api/v1/accounts", **bearer(secret)).status_code == 401
    assert AuditEntry.objects.filter(actor=superuser, action=AuditAction.API_TOKEN_REVOKE).count() == 1
