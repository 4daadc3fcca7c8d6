from decimal import Decimal

from django.db import migrations

# Further levels of the portal-wide default rules, after their threshold (level 1), least severe first.
# A default whose threshold someone changed is left as they set it (one level).
DEFAULT_LEVELS = {
    "low_balance": ("10", ["5", "2"]),  # $10 / $5 / $2
    "runway": ("3", ["1"]),  # 3 days / 1 day
    "spending_limit": ("80", ["95", "100"]),  # 80 / 95 / 100 %
    "gateway_rule": ("80", ["95", "100"]),
}


def set_default_levels(apps, schema_editor):
    AlertRule = apps.get_model("billing", "AlertRule")
    for kind, (threshold, further) in DEFAULT_LEVELS.items():
        AlertRule.objects.filter(
            account__isnull=True, kind=kind, threshold=Decimal(threshold)
        ).update(further_levels=further)


def clear_default_levels(apps, schema_editor):
    AlertRule = apps.get_model("billing", "AlertRule")
    AlertRule.objects.filter(account__isnull=True, kind__in=list(DEFAULT_LEVELS)).update(further_levels=[])


class Migration(migrations.Migration):
    dependencies = [("billing", "0011_alert_levels_digests")]

    operations = [migrations.RunPython(set_default_levels, clear_default_levels)]
