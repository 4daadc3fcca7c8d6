"""Deciding apart from delivering: `billing.alerts` imports nothing that delivers, and an evaluation (or the
watchdog) hands each message it decided to the notifier it is given, inside the change's transaction."""

import ast
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

import billing.alerts
from billing.alerts import evaluate_account, watchdog
from billing.models import AlertKind, AlertRule, Delivery
from tests.support.history import snapshot

pytestmark = pytest.mark.django_db


def imported_modules(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            names.add(node.module or "")
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_no_alerts_module_imports_the_delivering_package():
    folder = Path(billing.alerts.__file__).parent
    importing = {
        path.name: sorted(name for name in imported_modules(path) if name.startswith("billing.notifications"))
        for path in sorted(folder.glob("*.py"))
    }
    assert {name: found for name, found in importing.items() if found} == {}
    assert len(importing) >= 8  # the folder was read


def test_an_evaluation_hands_its_messages_to_the_notifier_it_is_given(account):
    AlertRule.objects.all().delete()
    AlertRule.objects.create(
        account=account, kind=AlertKind.LOW_BALANCE, threshold=Decimal(10), hysteresis=Decimal(5)
    )
    snapshot(account, "4.20")
    notices = []

    changes = evaluate_account(account, notify=lambda notice: notices.append(notice) or True)

    assert [(n.state, n.event.kind, n.sequence, n.check.value) for n in notices] == [
        ("opened", "low_balance", 0, "$4.20")
    ]
    assert [(c.action, c.emailed) for c in changes] == [("opened", True)]
    assert not Delivery.objects.exists()


def test_the_watchdog_hands_its_messages_to_the_notifier_it_is_given(account, settings):
    settings.SYNC_BALANCE_INTERVAL = 300
    notices = []
    later = account.created_at + timedelta(minutes=16)

    change = watchdog.check(notify=notices.append, now=later)

    assert change == "opened"
    told = [(n.state, n.alert.kind, n.status.stalled) for n in notices]
    assert told == [("opened", "sweeps_stalled", True)]
    assert not Delivery.objects.exists()
    assert watchdog.check(notify=notices.append, now=later) is None
    assert len(notices) == 1
