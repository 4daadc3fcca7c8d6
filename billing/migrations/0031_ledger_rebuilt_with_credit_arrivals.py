"""Ledger rows written before credit was placed on the day its balance rose (billing.figures.ledger.arrivals)
may show a top-up that landed after midnight twice: as a shortfall on the day it was asked for and as credit
from elsewhere on the next. Settled rows are never written again, so they are removed here and the next sync
of each account writes its ledger again from its first balance reading."""

from django.db import migrations


def remove_ledger_rows(apps, schema_editor):
    apps.get_model("billing", "LedgerDay").objects.all().delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0030_audit_chain")]

    operations = [migrations.RunPython(remove_ledger_rows, migrations.RunPython.noop)]
