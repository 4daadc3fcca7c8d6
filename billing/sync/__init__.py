"""Snapshot jobs: copy Cloudflare's point-in-time answers into local history tables.

`runs` records every unit of work for one account (and is its lock); `balance`, `usage`, `invoices`,
`gateways`, `spend` and `topup_range` are the job families; `jobs` runs a job for one account or many (on
`threads`); `slots` gives each sweep its slot; `retention` thins the old history. API calls happen outside
database transactions; each unit's writes are one transaction of upserts keyed by unique constraints, so a
repeated or concurrent run updates rows, never duplicates them. Alerts are not this package's business:
`billing.pipeline` evaluates them after a sync.
"""

from billing.sync.balance import (
    balance_due,
    balance_due_ids,
    spending_limit_due,
    sync_balance,
    sync_spending_limit,
)
from billing.sync.gateways import gateways_due, store_gateways, sync_gateways
from billing.sync.invoices import store_invoice_preview, store_invoices, sync_invoices, synthetic_invoice_id
from billing.sync.jobs import JobSummary, active_account_ids, chunked, run_job, run_units, sweep_account_ids
from billing.sync.retention import apply_retention
from billing.sync.runs import (
    SWEEP_JOBS,
    UnitResult,
    describe,
    finish,
    retry_after,
)
from billing.sync.slots import (
    claim_slot,
    forget_slots_before,
    job_slice,
    slot_interval,
    slot_number,
    slot_start,
)
from billing.sync.spend import store_spend, sync_gateway_spend
from billing.sync.topup_range import store_topup_range, sync_topup_range, topup_range_due
from billing.sync.usage import store_usage, sync_usage, usage_window_start

__all__ = [
    "SWEEP_JOBS",
    "JobSummary",
    "UnitResult",
    "active_account_ids",
    "apply_retention",
    "balance_due",
    "balance_due_ids",
    "chunked",
    "claim_slot",
    "describe",
    "finish",
    "forget_slots_before",
    "gateways_due",
    "job_slice",
    "retry_after",
    "run_job",
    "run_units",
    "slot_interval",
    "slot_number",
    "slot_start",
    "spending_limit_due",
    "store_gateways",
    "store_invoice_preview",
    "store_invoices",
    "store_spend",
    "store_topup_range",
    "store_usage",
    "sweep_account_ids",
    "sync_balance",
    "sync_gateway_spend",
    "sync_gateways",
    "sync_invoices",
    "sync_spending_limit",
    "sync_topup_range",
    "sync_usage",
    "synthetic_invoice_id",
    "topup_range_due",
    "usage_window_start",
]
