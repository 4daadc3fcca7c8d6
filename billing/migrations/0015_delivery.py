# The outbox's row is a delivery (an email, a Slack message or a webhook call), not only an email: the model
# OutboxEmail is renamed Delivery, keeping every row (its table is renamed with it; indexes and constraints
# keep their names).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0014_portal_alert_reminders"),
    ]

    operations = [
        migrations.RenameModel(old_name="OutboxEmail", new_name="Delivery"),
        migrations.AlterModelOptions(
            name="delivery",
            options={"ordering": ["-created_at", "-id"], "verbose_name_plural": "deliveries"},
        ),
        migrations.AlterField(
            model_name="delivery",
            name="account",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="deliveries",
                to="billing.account",
            ),
        ),
        migrations.AlterField(
            model_name="delivery",
            name="event",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="deliveries",
                to="billing.alertevent",
            ),
        ),
    ]
