"""Alerts, deciding: rules (`rules`), reading them against local figures (`checks`), opening, reminding and
resolving events (`evaluation`) and the jobs' watchdog (`watchdog`). Nothing here delivers: what they
decide is handed to a `notify` function the caller passes."""

from billing.alerts.evaluation import EvaluationSummary, evaluate_account, evaluate_all
from billing.alerts.rules import operator_emails, recipients_for, rules_for

__all__ = [
    "EvaluationSummary",
    "evaluate_account",
    "evaluate_all",
    "operator_emails",
    "recipients_for",
    "rules_for",
]
