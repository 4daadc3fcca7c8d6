from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0022_audit_refused"),
    ]

    operations = [
        migrations.RenameModel("GatewayRuleChange", "WriteIntent"),
        migrations.RenameField("writeintent", "gateway_id", "target"),
        migrations.AlterField(
            model_name="writeintent",
            name="target",
            field=models.CharField(blank=True, default="", max_length=128),
        ),
        migrations.AddField(
            model_name="writeintent",
            name="parameters",
            field=models.JSONField(blank=True, default=dict),
        ),
        migrations.AddField(
            model_name="writeintent",
            name="last_checked_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="writeintent",
            name="settled_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="writeintent",
            name="cloudflare_holds",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AddField(
            model_name="topup",
            name="evidence",
            field=models.CharField(blank=True, default="", max_length=300),
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
                ],
                max_length=32,
            ),
        ),
        migrations.AddIndex(
            model_name="writeintent",
            index=models.Index(fields=["outcome", "account"], name="writeintent_outcome"),
        ),
    ]
