"""The audit log reads at a glance: outcome and error before the parameters, parameters as key: value lines
(never a Python repr), times that do not wrap and name their zone."""

import pytest
from django.urls import reverse

from billing import audit
from billing.models import AuditAction, AuditOutcome

pytestmark = pytest.mark.django_db


def test_parameters_read_as_key_value_lines_after_outcome_and_error(client, superuser, account):
    audit.record(
        actor=superuser,
        account=account,
        action=AuditAction.TOPUP_CREATE,
        outcome=AuditOutcome.FAILED,
        parameters={"amount_cents": 2500, "card": {"brand": "visa", "last4": "4242"}, "tags": ["a", "b"]},
        error="card_declined: the card was declined",
    )
    client.force_login(superuser)

    html = client.get(reverse("audit")).content.decode()

    assert "card.brand:</span> visa" in html
    assert "tags:</span> a, b" in html
    assert "{&#x27;brand" not in html and "{'brand" not in html
    header = html[html.index("<thead>") : html.index("</thead>")]
    assert header.index("Outcome") < header.index("Error") < header.index("Parameters")
    assert '<td class="when">' in html and " UTC</td>" in html
