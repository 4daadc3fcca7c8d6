"""`manage.py sync [--account ID] [--backfill-days N]`: the sync jobs by hand, with a progress bar."""

import threading
from argparse import ArgumentParser
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from billing import pipeline, sync
from billing.models import Account, SyncJob
from billing.sync import UnitResult


class Command(BaseCommand):
    help = (
        "Syncs balance, auto top-up config, spending limit, usage, invoices and the invoice preview of every "
        "active account (or one) from Cloudflare, with the same code as the scheduled jobs."
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--account", metavar="ID", help="a Cloudflare account id (or the portal's account number)"
        )
        parser.add_argument(
            "--backfill-days",
            type=int,
            metavar="N",
            help="fetch N days of daily usage again (and up to USAGE_BACKFILL_HOURS_DAYS of hourly usage)",
        )
        parser.add_argument(
            "--job",
            choices=[SyncJob.ACCOUNT, *sync.SWEEP_JOBS, SyncJob.GATEWAYS],
            default=SyncJob.ACCOUNT,
            help="one job only (default: all of them)",
        )
        parser.add_argument(
            "--threads", type=int, default=settings.SYNC_THREADS, help="accounts synced at once"
        )

    def handle(
        self,
        *args: Any,
        account: str | None,
        backfill_days: int | None,
        job: str,
        threads: int,
        **options: Any,
    ) -> None:
        if backfill_days is not None and backfill_days < 1:
            raise CommandError("--backfill-days must be at least 1.")
        ids = [self._find(account).pk] if account else sync.active_account_ids()
        if not ids:
            self.stdout.write("No active accounts to sync.")
            return
        lock = threading.Lock()
        # The wrapper's own stream (its write() would end every update with a newline); django-stubs does not
        # declare OutputWrapper._out.
        stream = self.stderr._out
        with tqdm(total=len(ids), unit="account", file=stream, disable=None) as bar:  # type: ignore[call-overload]

            def done(account_obj: Account, results: list[UnitResult]) -> None:
                with lock:
                    bar.set_postfix_str(account_obj.name[:30])
                    bar.update(1)

            summary = pipeline.run(job, ids, threads=threads, backfill_days=backfill_days, on_done=done)
        for line in summary.lines():
            self.stdout.write(line)
        self.stdout.write(f"{len(ids)} account(s), {summary.api_calls} API calls.")
        for unit, cloudflare_id, error in summary.failures:
            self.stderr.write(f"  {cloudflare_id} {unit}: {error}")
        failed = sum(counts.failed for counts in summary.units.values())
        if failed:
            raise CommandError(f"{failed} unit(s) failed to sync.")

    def _find(self, value: str) -> Account:
        account = Account.objects.filter(cloudflare_id=value.strip().lower()).first()
        if account is None and value.isascii() and value.isdigit():
            account = Account.objects.filter(pk=int(value)).first()
        if account is None:
            raise CommandError(f"No account {value!r}.")
        if not account.is_active:
            raise CommandError(f"Account {account} is not active.")
        return account
