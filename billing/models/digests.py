"""Digests: each person's choice of a daily or weekly summary email, and the record of each one sent."""

from django.conf import settings
from django.db import models


class DigestFrequency(models.TextChoices):
    OFF = "off", "Off"
    DAILY = "daily", "Daily"
    WEEKLY = "weekly", "Weekly (Mondays)"


class NotificationSettings(models.Model):
    """A person's digest choice. Without a row the defaults apply (billing/notifications/digests.py): off for
    viewers, DIGEST_MANAGER_DEFAULT for managers and admins, at DIGEST_DEFAULT_HOUR in TIME_ZONE."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_settings"
    )
    digest_frequency = models.CharField(max_length=8, choices=DigestFrequency.choices)
    digest_hour = models.PositiveSmallIntegerField()
    time_zone = models.CharField(max_length=64)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "notification settings"

    def __str__(self) -> str:
        return f"{self.user}: {self.get_digest_frequency_display()} at {self.digest_hour}:00 {self.time_zone}"


class DigestRun(models.Model):
    """One digest of one period for one person: inserted before the email is queued (in one transaction), so
    however many beats and workers look, each period is sent once."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period_kind = models.CharField(max_length=8, choices=DigestFrequency.choices)
    # The first local day of the period, in the person's time zone at the time.
    period_start = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)
    email = models.ForeignKey(
        "billing.Delivery", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-period_start", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "period_kind", "period_start"], name="one_digest_per_person_period"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user}: {self.period_kind} digest from {self.period_start}"
