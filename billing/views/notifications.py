"""The signed-in person's own settings: their time zone and digest."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from billing.forms.notifications import NotificationSettingsForm
from billing.notifications import digests
from billing.time_zones import zone_names


def notification_settings(request: HttpRequest) -> HttpResponse:
    prefs = digests.preferences_for(request.user)
    form = NotificationSettingsForm(
        request.POST or None,
        initial={
            "digest_frequency": prefs.frequency,
            "digest_hour": prefs.hour,
            "time_zone": prefs.time_zone,
        },
    )
    if request.method == "POST" and form.is_valid():
        saved = digests.save_preferences(
            request.user,
            form.cleaned_data["digest_frequency"],
            form.cleaned_data["digest_hour"],
            form.cleaned_data["time_zone"],
        )
        messages.success(
            request,
            f"Saved: times shown in {saved.time_zone}; digest {saved.frequency}, at {saved.hour:02d}:00.",
        )
        return redirect("notification_settings")
    return render(
        request,
        "billing/notifications.html",
        {"form": form, "prefs": prefs, "zones": zone_names()},
    )
