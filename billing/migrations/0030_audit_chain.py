"""The audit log as a chain: each entry's user agent, the previous entry's hash and its own. Entries written
before are chained here in the order they were written (their address stays as recorded; their user agent is
empty), so `manage.py verify_audit` checks them like any other."""

import django.utils.timezone
from django.db import migrations, models

from billing.models.audit import CHAINED_FIELDS, chain_hash


def chain_existing(apps, schema_editor):
    entries = apps.get_model("billing", "AuditEntry").objects
    previous = ""
    for entry in entries.order_by("id").iterator():
        own = chain_hash(previous, {name: getattr(entry, name) for name in CHAINED_FIELDS})
        entries.filter(pk=entry.pk).update(previous_hash=previous, entry_hash=own)
        previous = own


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0029_ledger"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="user_agent",
            field=models.CharField(blank=True, default="", max_length=300),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="previous_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(max_length=64, null=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="created_at",
            field=models.DateTimeField(db_index=True, default=django.utils.timezone.now),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="action",
            field=models.CharField(
                choices=[
                    ("topup.create", "Top-up"),
                    ("auto_topup.set", "Auto top-up set"),
                    ("auto_topup.delete", "Auto top-up removed"),
                    ("spending_limit.set", "Spending limit set"),
                    ("spending_limit.delete", "Spending limit removed"),
                    ("topup.reconciled", "Top-up outcome settled"),
                    ("topup.rechecked", "Unsettled top-ups checked before buying again"),
                    ("write.settled", "Change outcome settled by a read"),
                    ("account.refresh", "Refresh now"),
                    ("alert_rule.change", "Alert rule changed"),
                    ("gateway_rule.add", "Gateway rule added"),
                    ("gateway_rule.edit", "Gateway rule changed"),
                    ("gateway_rule.remove", "Gateway rule removed"),
                    ("gateway_rule.toggle", "Gateway rule switched on or off"),
                    ("gateway_spend_limits.enable", "Gateway spend limits switched on"),
                    ("alert_channel.change", "Notification channel changed"),
                    ("signin.lockout", "Sign-in locked after failures"),
                    ("signin.unlock", "Sign-in unlocked"),
                    ("two_factor.enrolled", "Two-factor turned on"),
                    ("two_factor.disabled", "Two-factor turned off"),
                    ("two_factor.recovery_used", "Recovery code used"),
                    ("two_factor.recovery_renewed", "Recovery codes renewed"),
                    ("request.refused", "Request refused by the portal"),
                    ("cost_center.change", "Cost center changed"),
                    ("person.invited", "Person invited"),
                    ("person.invitation_accepted", "Invitation accepted"),
                    ("person.role_set", "Role given or changed"),
                    ("person.access_removed", "Access removed"),
                    ("alert.acknowledged", "Alert acknowledged"),
                    ("alert.snoozed", "Alert snoozed"),
                    ("budget.set", "Monthly budget changed"),
                    ("sudo.confirmed", "Identity confirmed again"),
                    ("sso.signin", "Signed in with SSO"),
                    ("sso.roles_changed", "SSO groups changed roles"),
                    ("sso.mapping_change", "SSO role mapping changed"),
                    ("api_token.create", "API token made"),
                    ("api_token.revoke", "API token revoked"),
                ],
                max_length=32,
            ),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="outcome",
            field=models.CharField(
                choices=[
                    ("succeeded", "Succeeded"),
                    ("failed", "Failed"),
                    ("refused", "Refused by Cloudflare"),
                    ("unknown", "Outcome unknown"),
                    ("pending", "Pending"),
                    ("queued", "Queued"),
                    ("denied", "Denied by the portal"),
                ],
                max_length=16,
            ),
        ),
        migrations.RunPython(chain_existing, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="auditentry",
            name="previous_hash",
            field=models.CharField(max_length=64, unique=True),
        ),
        migrations.AlterField(
            model_name="auditentry",
            name="entry_hash",
            field=models.CharField(max_length=64, unique=True),
        ),
    ]
