"""The FOCUS export judged by the FinOps Foundation's focus-validator (its 1.2 rule set), run from its own
test-only environment (scripts/focus-validator-env), on an export of data synced from the sandbox."""

import csv
import io
import re
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from billing import sync
from billing.models import AccountAccess, Role, SyncJob
from tests.support.paths import ROOT
from tests.support.people_fixtures import login
from tests.support.sync_fixtures import demo_account

pytestmark = [pytest.mark.django_db, pytest.mark.process]

# Conditional and optional rules the validator checks over the whole column, where FOCUS words a condition per
# row it cannot read (README, "FOCUS export"): InvoiceId is set on the purchase rows only (usage is invoiced
# monthly by an invoice the API does not name), and the purchase fee's EffectiveCost is the fee (it covers no
# future charge). Any other failure fails the test.
KNOWN_CONDITIONAL_FAILURES = {
    "EffectiveCost-C-005-C",
    "InvoiceId-C-000-O",
    "InvoiceId-C-003-C",
    "InvoiceId-C-004-C",
    "InvoiceId-C-005-C",
}


@pytest.fixture(scope="session")
def focus_validator() -> tuple[Path, Path]:
    """(its python, its site-packages folder), built once per machine and cached outside the checkout."""
    script = ROOT / "scripts" / "focus-validator-env"
    site_packages = Path(subprocess.run([script], check=True, capture_output=True, text=True).stdout.strip())
    python = site_packages.parents[2] / "bin" / "python"
    return python, site_packages


def test_the_export_of_synced_data_passes_every_mandatory_focus_1_2_rule(
    client, make_user, cloudflare, tmp_path, focus_validator
):
    account = demo_account(cloudflare)
    user = make_user("finance")
    AccountAccess.objects.create(user=user, account=account, role=Role.VIEWER)
    sync.run_units(SyncJob.ACCOUNT, account)
    today = timezone.now().date()
    query = f"?start={today - timedelta(days=20):%Y-%m-%d}&end={today:%Y-%m-%d}"
    response = login(client, user).get(reverse("focus_export") + query)
    assert response.status_code == 200
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(text)))
    categories = {row["ChargeCategory"] for row in rows}
    assert categories == {"Usage", "Purchase"}, "the demo account has usage and top-ups in three weeks"
    export = tmp_path / "focus.csv"
    export.write_text(text)

    python, site_packages = focus_validator
    result = subprocess.run(
        [python, "-m", "focus_validator.main", "--data-file", str(export), "--validate-version", "1.2"],
        cwd=site_packages,
        capture_output=True,
        text=True,
        timeout=600,
    )
    report = result.stdout + result.stderr
    (tmp_path / "report.txt").write_text(report)
    totals = re.search(r"^Total: (\d+) \| Pass: (\d+) \| Fail: (\d+)", report, re.M)
    assert totals is not None, report[-3000:]
    failed = re.findall(r"^❌ (\S+): FAIL", report, re.M)
    failed_mandatory = [rule for rule in failed if rule.endswith("-M")]
    assert failed_mandatory == [], "\n".join(line for line in report.splitlines() if line.startswith("❌"))
    assert set(failed) <= KNOWN_CONDITIONAL_FAILURES, failed
    assert int(totals[2]) > 100, "the rules ran and passed, not only skipped"
