"""Sync runs (the jobs' log and locks), the job names they record, sweep slots and API call counts."""

from datetime import datetime

from django.db import models
from django.db.models import Q

from billing.models.accounts import Account


class SyncJob(models.TextChoices):
    """Every job a `SyncRun` (and a `SweepSlot`) records: one unit of sync work for an account, or a job made
    of units ("account": every unit, in order). The values are stored: never change one."""

    BALANCE = "balance", "Balance"  # the balance and auto top-up config (one call)
    SPENDING_LIMIT = "spending_limit", "Spending limit"
    TOPUP_RANGE = "topup_limits", "Top-up range"  # Cloudflare's `topup/limits` (the value predates the name)
    USAGE = "usage", "Usage"
    INVOICES = "invoices", "Invoices"  # and the invoice preview
    GATEWAYS = "gateways", "Gateways"  # the gateways and their rules (hourly, from the usage job)
    GATEWAY_SPEND = "gateway_spend", "Gateway spend"  # spend analytics (one GraphQL call, in every usage job)
    ACCOUNT = "account", "Everything"  # every unit above, for one account
    TOPUPS = "topups", "Top-up status"  # asking Cloudflare about an unsettled top-up
    RETENTION = "retention", "Retention"
    REFRESH = "refresh", "Refresh now"  # queued by a person; runs "account"


class SyncOutcome(models.TextChoices):
    QUEUED = "queued", "Queued"  # "Refresh now": sent to a worker, not started yet
    RUNNING = "running", "Running"
    SUCCEEDED = "succeeded", "Succeeded"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Skipped"


class SyncRunQuerySet(models.QuerySet):
    def last_success_at(self, account: Account | int, *jobs: SyncJob) -> datetime | None:
        """When the newest successful run of any of `jobs` for the account finished, or None."""
        return (
            self.filter(account=account, job__in=jobs, outcome=SyncOutcome.SUCCEEDED)
            .order_by("-finished_at")
            .values_list("finished_at", flat=True)
            .first()
        )

    def last_finished(self, account: Account | int, job: SyncJob) -> "SyncRun | None":
        """The account's latest finished run of `job` (its outcome and error say why its data is missing, and
        its finished_at how fresh it is), or None."""
        return (
            self.filter(account=account, job=job)
            .exclude(outcome=SyncOutcome.RUNNING)
            .order_by("-started_at")
            .only("outcome", "error", "finished_at")
            .first()
        )


class SyncRun(models.Model):
    """One job's run for one account; the last successful one drives the "data as of" notice."""

    job = models.CharField(max_length=32, choices=SyncJob.choices)
    account = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.CASCADE, related_name="sync_runs"
    )
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=SyncOutcome.choices, default=SyncOutcome.RUNNING)
    error = models.TextField(blank=True, default="")
    api_calls = models.PositiveIntegerField(default=0)

    objects = SyncRunQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        get_latest_by = "started_at"
        indexes = [
            models.Index(fields=["account", "job", "outcome", "-started_at"], name="syncrun_latest"),
            # The watchdog's "last completed sweep" (every overview and /healthz): newest first, no scan.
            models.Index(fields=["job", "-finished_at"], name="syncrun_job_finished"),
        ]
        constraints = [
            # The lock of a (job, account): a second run is refused by the database while one is running.
            models.UniqueConstraint(
                fields=["job", "account"],
                condition=Q(outcome="running"),
                name="one_running_sync_per_job_account",
            )
        ]

    def __str__(self) -> str:
        return f"{self.job} {self.account} {self.outcome}"


class SweepSlot(models.Model):
    """One sweep of a job per scheduled slot (slot = the interval the sweep's time falls in, counted from
    the Unix epoch). The unique row is the claim: a second beat, a restarted beat or a manual trigger in the
    same slot fails to insert it and sends nothing."""

    job = models.CharField(max_length=32, choices=SyncJob.choices)
    slot_start = models.DateTimeField()
    claimed_at = models.DateTimeField()

    class Meta:
        ordering = ["-slot_start", "job"]
        constraints = [models.UniqueConstraint(fields=["job", "slot_start"], name="one_sweep_per_job_slot")]

    def __str__(self) -> str:
        return f"{self.job} sweep of {self.slot_start:%Y-%m-%d %H:%M:%S}"


class ApiCallCount(models.Model):
    """Cumulative count of API calls per operation and result ("ok" or an error class), for /metrics.

    Workers add to it in batches (see billing.metrics), so every process's calls are counted in one place.
    """

    operation = models.CharField(max_length=64)
    result = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["operation", "result"], name="one_counter_per_operation_result")
        ]

    def __str__(self) -> str:
        return f"{self.operation} {self.result}: {self.count}"
