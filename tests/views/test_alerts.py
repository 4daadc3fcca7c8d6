"""Alert screens: rules per account (admins edit, managers and viewers read, outsiders get 404), history,
the outbox, the mail folder and the test email."""

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from billing.models import AlertEvent, AlertKind, AlertRule, AuditEntry, Delivery, DeliveryState
from tests.support.alerts import RULE_POST, rule_url
from tests.support.people_fixtures import login


@pytest.mark.parametrize("person", ["admin_user", "superuser"])
def test_admins_set_an_account_rule(client, account, person, request):
    login(client, request.getfixturevalue(person))

    page = client.get(rule_url(account))
    response = client.post(rule_url(account), RULE_POST)

    assert page.status_code == 200
    assert response.status_code == 302
    rule = AlertRule.objects.get(account=account, kind=AlertKind.LOW_BALANCE)
    assert (rule.threshold, rule.hysteresis, rule.reminder_hours) == (Decimal(25), Decimal(5), 12)
    assert rule.recipients == ["finance@example.com", "oncall@example.com"]
    entry = AuditEntry.objects.get()
    assert entry.parameters["threshold"] == "25"
    assert entry.account_cloudflare_id == account.cloudflare_id


def test_viewer_reads_rules_but_cannot_change_them(client, account, viewer):
    login(client, viewer)

    page = client.get(reverse("account_alerts", args=[account.cloudflare_id]))
    assert page.status_code == 200
    assert b"Low balance" in page.content
    assert rule_url(account).encode() not in page.content

    assert client.get(rule_url(account)).status_code == 403
    assert client.post(rule_url(account), RULE_POST).status_code == 403
    reset = reverse("account_alert_rule_reset", args=[account.cloudflare_id, "low_balance"])
    assert client.post(reset).status_code == 403
    assert not AlertRule.objects.filter(account=account).exists()


def test_outsider_gets_404_for_every_alert_page_of_the_account(client, account, outsider):
    login(client, outsider)
    reset = reverse("account_alert_rule_reset", args=[account.cloudflare_id, "low_balance"])
    for url in (reverse("account_alerts", args=[account.cloudflare_id]), rule_url(account)):
        assert client.get(url).status_code == 404
    assert client.post(rule_url(account), RULE_POST).status_code == 404
    assert client.post(reset).status_code == 404


def test_malformed_recipients_are_rejected_with_a_message_naming_them(client, account, admin_user):
    login(client, admin_user)

    response = client.post(
        rule_url(account), {**RULE_POST, "recipients": "ok@example.com, bob@@example.com\nnot-an-address"}
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["recipients"]
    assert errors == [
        "“bob@@example.com”, “not-an-address” are not valid email addresses. "
        "Write addresses like name@example.com, one per line."
    ]
    assert "bob@@example.com" in response.content.decode()
    assert not AlertRule.objects.filter(account=account).exists()


def test_header_injection_in_recipients_is_rejected(client, account, admin_user):
    login(client, admin_user)
    injected = {**RULE_POST, "recipients": "a@example.com\r\nBcc:evil@example.com"}
    response = client.post(rule_url(account), injected)
    assert response.status_code == 200
    errors = response.context["form"].errors["recipients"]
    assert "“Bcc:evil@example.com” is not a valid email address" in errors[0]


@pytest.mark.parametrize(
    ("kind", "field", "value", "message"),
    [
        ("spending_limit", "threshold", "150", "Between 1 and 100"),
        ("spending_limit", "hysteresis", "90", "margin must be smaller"),
        ("low_balance", "hysteresis", "-1", "cannot be negative"),
        ("low_balance", "threshold", "abc", "Enter a number"),
        ("runway", "reminder_hours", "1000", "At most 720 hours"),
    ],
)
def test_bad_rule_values_are_refused_with_the_rule(client, account, admin_user, kind, field, value, message):
    login(client, admin_user)
    data = {**RULE_POST, "threshold": "80", field: value}
    response = client.post(rule_url(account, kind), data)
    assert response.status_code == 200
    assert message in " ".join(response.context["form"].errors[field])


def test_reset_returns_the_account_to_the_portal_default(client, account, admin_user):
    AlertRule.objects.create(account=account, kind=AlertKind.LOW_BALANCE, threshold=50)
    login(client, admin_user)

    response = client.post(reverse("account_alert_rule_reset", args=[account.cloudflare_id, "low_balance"]))

    assert response.status_code == 302
    assert not AlertRule.objects.filter(account=account).exists()
    page = client.get(reverse("account_alerts", args=[account.cloudflare_id]))
    row = next(row for row in page.context["rows"] if row["kind"] == AlertKind.LOW_BALANCE)
    assert row["source"] == "portal default"


def test_unknown_kind_is_404(client, account, admin_user):
    login(client, admin_user)
    assert client.get(rule_url(account, "weather")).status_code == 404


def test_only_superusers_edit_portal_wide_defaults(client, account, manager, superuser):
    url = reverse("alert_default_edit", args=["low_balance"])
    login(client, manager)
    assert client.get(reverse("alert_defaults")).status_code == 404
    assert client.post(url, RULE_POST).status_code == 404

    login(client, superuser)
    assert client.get(reverse("alert_defaults")).status_code == 200
    assert client.get(reverse("alert_default_edit", args=["stale_data"])).status_code == 200
    assert client.post(url, RULE_POST).status_code == 302
    assert AlertRule.objects.get(account=None, kind="low_balance").threshold == 25


def make_event(account, headline, resolved=False):
    now = timezone.now()
    return AlertEvent.objects.create(
        account=account,
        kind=AlertKind.LOW_BALANCE,
        headline=headline,
        opened_at=now,
        resolved_at=now if resolved else None,
    )


def test_history_shows_only_the_persons_accounts(client, account, other_account, viewer):
    make_event(account, "Low balance: Acme Prod $4.20, threshold $10.00", resolved=True)
    make_event(account, "Low balance: Acme Prod $3.10, threshold $10.00")
    make_event(other_account, "Low balance: Other Team $1.00, threshold $10.00")
    login(client, viewer)

    everything = client.get(reverse("alert_history")).content.decode()
    only_open = client.get(reverse("alert_history"), {"state": "open"}).content.decode()

    assert "Acme Prod $4.20" in everything and "Acme Prod $3.10" in everything
    assert "Other Team" not in everything
    assert "Acme Prod $3.10" in only_open and "Acme Prod $4.20" not in only_open


def test_badges_partial_lists_open_alerts(client, account, viewer):
    make_event(account, "Low balance: Acme Prod $3.10, threshold $10.00")
    login(client, viewer)
    page = client.get(reverse("account_alerts", args=[account.cloudflare_id])).content.decode()
    assert "● low balance" in page


def test_outbox_shows_delivery_state_of_the_persons_accounts(client, account, other_account, viewer):
    common = {"template": "alert_opened", "text": "x", "recipients": ["a@example.com"]}
    now = timezone.now()
    Delivery.objects.create(
        account=account,
        subject="Mine failed",
        state=DeliveryState.FAILED,
        last_error="SMTP 550",
        next_attempt_at=now,
        attempts=3,
        **common,
    )
    Delivery.objects.create(account=other_account, subject="Not mine", next_attempt_at=now, **common)
    login(client, viewer)

    page = client.get(reverse("alert_outbox")).content.decode()

    assert "Mine failed" in page and "SMTP 550" in page and "Failed" in page
    assert "Not mine" not in page


def test_test_email_goes_through_smtp_to_the_persons_own_address(client, viewer, smtp_server):
    login(client, viewer)

    response = client.post(reverse("alert_test_email"), {"to": "someone-else@example.com"}, follow=True)

    assert smtp_server.recipients() == [["vera-viewer@example.com"]]
    assert "Test email sent to vera-viewer@example.com" in response.content.decode()
    assert Delivery.objects.get().state == DeliveryState.SENT


def test_test_email_while_smtp_is_down_says_so_and_stays_queued(client, superuser, smtp_server):
    smtp_server.stop()
    login(client, superuser)

    response = client.post(reverse("alert_test_email"), {"to": "ops@example.com"}, follow=True)

    assert "not sent yet" in response.content.decode()
    assert Delivery.objects.get().state == DeliveryState.READY


def test_mail_files_are_listed_for_superusers_only(client, settings, tmp_path, superuser, manager):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    login(client, superuser)
    client.post(reverse("alert_test_email"), {"to": "ops@example.com"})
    name = next(tmp_path.iterdir()).name

    listing = client.get(reverse("alert_mail_files")).content.decode()
    message = client.get(reverse("alert_mail_file", args=[name])).content.decode()

    assert "Test email from AI Gateway billing" in listing
    assert "ops@example.com" in message
    # Read as mail, not as MIME: the subject as a heading, the body decoded, the source tucked away.
    assert "<h2>Test email from AI Gateway billing</h2>" in message
    readable = message.split("<details")[0]
    assert "Content-Transfer-Encoding" not in readable and "alert emails reach you" in readable
    assert client.get(reverse("alert_mail_file", args=["nope.log"])).status_code == 404
    client.logout()
    login(client, manager)
    assert client.get(reverse("alert_mail_files")).status_code == 404


def test_rule_tables_show_every_level_and_margin_in_its_unit(client, account, manager):
    client.force_login(manager)

    text = client.get(reverse("account_alerts", args=[account.cloudflare_id])).content.decode()

    low = AlertRule.objects.get(account__isnull=True, kind=AlertKind.LOW_BALANCE)
    expected = " / ".join(f"${level:,.2f}" for level in low.levels)
    assert expected in text
    assert "80% / 95% / 100%" in text  # spending limit and gateway rules
    assert ">3 / 1<" not in text and ">10 / 5 / 2<" not in text


@pytest.mark.parametrize("kind", [kind.value for kind in AlertKind])
def test_every_kind_of_rule_form_opens_for_an_admin(client, account, admin_user, kind):
    client.force_login(admin_user)

    response = client.get(reverse("account_alert_rule", args=[account.cloudflare_id, kind]))

    assert response.status_code == 200
