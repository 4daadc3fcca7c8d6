"""`manage.py verify_audit`: checks the audit log's hash chain; names the first entry that does not chain
and exits with status 1, else says how many entries chain."""

from django.core.management.base import BaseCommand, CommandError

from billing.audit import first_break


class Command(BaseCommand):
    help = "Checks that every audit entry chains to the one before it; names the first that does not."

    def handle(self, *args: object, **options: object) -> None:
        checked, broken = first_break()
        if broken is not None:
            entry = broken.entry
            raise CommandError(
                f"Audit entry {entry.pk} ({entry.created_at:%Y-%m-%d %H:%M:%S} UTC, {entry.action}, "
                f"{entry.actor_name}) does not chain: {broken.reason}. The {checked} entries before it chain."
            )
        self.stdout.write(f"All {checked} audit entries chain.")
