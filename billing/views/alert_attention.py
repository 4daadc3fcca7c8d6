"""Acknowledging and snoozing an open alert: anyone who can see its account may (one POST each)."""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_POST

from billing.alerts import attention
from billing.forms.alerts import SnoozeForm
from billing.models import AlertEvent
from billing.permissions import AuthenticatedHttpRequest, get_account_for
from billing.views.common import client_ip


def _open_event(request: AuthenticatedHttpRequest, account_id: str, pk: int) -> AlertEvent:
    account = get_account_for(request.user, account_id)
    return get_object_or_404(AlertEvent.objects.select_related("account"), pk=pk, account=account)


@require_POST
def alert_acknowledge(request: AuthenticatedHttpRequest, account_id: str, pk: int) -> HttpResponse:
    event = _open_event(request, account_id, pk)
    if attention.acknowledge(request.user, event, ip_address=client_ip(request)):
        messages.success(request, "Acknowledged: no more reminders unless it gets worse.")
    else:
        messages.info(request, "That alert is resolved or was already acknowledged.")
    return redirect("account_alerts", account_id=account_id)


@require_POST
def alert_snooze(request: AuthenticatedHttpRequest, account_id: str, pk: int) -> HttpResponse:
    event = _open_event(request, account_id, pk)
    form = SnoozeForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(error) for error in form.errors["until"]))
    elif attention.snooze(request.user, event, form.cleaned_data["until"], ip_address=client_ip(request)):
        messages.success(request, f"Snoozed until {form.cleaned_data['until']:%Y-%m-%d %H:%M}.")
    else:
        messages.info(request, "That alert is resolved: nothing to snooze.")
    return redirect("account_alerts", account_id=account_id)
