"""Notification channels (superusers): list and create, a channel's page, send a test, rotate its secret,
enable, remove; and a person's own subscription to an account's alerts. A secret is shown once, in the
answer to the request that made it; URLs never again in full."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from billing.forms.channels import ChannelForm
from billing.models import AlertSubscription, DeliveryState, NotificationChannel
from billing.notifications import channel_admin
from billing.permissions import AuthenticatedHttpRequest, get_account_for, sudo_required
from billing.views.common import client_ip


def _superuser_only(request: HttpRequest) -> None:
    if not request.user.is_superuser:
        raise Http404("No such page.")


def _secret_page(request: HttpRequest, channel: NotificationChannel, secret: str, why: str) -> HttpResponse:
    return render(
        request,
        "billing/alerts/channel_secret.html",
        {"channel": channel, "secret": secret, "why": why, "section": "channels"},
    )


@sudo_required  # creating a channel makes a secret (a webhook's, a Slack URL)
@never_cache
def channel_list(request: HttpRequest) -> HttpResponse:
    _superuser_only(request)
    form = ChannelForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        created = channel_admin.create_channel(
            request.user, **form.cleaned_data, ip_address=client_ip(request)
        )
        if created.secret:
            return _secret_page(request, created.channel, created.secret, "created")
        messages.success(request, f"Channel “{created.channel.name}” created.")
        return redirect("alert_channel", pk=created.channel.pk)
    channels = NotificationChannel.objects.select_related("account")
    return render(
        request, "billing/alerts/channels.html", {"form": form, "channels": channels, "section": "channels"}
    )


def channel_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _superuser_only(request)
    channel = get_object_or_404(NotificationChannel.objects.select_related("account"), pk=pk)
    deliveries = channel.deliveries.select_related("account", "channel")[:20]
    return render(
        request,
        "billing/alerts/channel_detail.html",
        {
            "channel": channel,
            "deliveries": deliveries,
            "rules": channel.rules.all(),
            "section": "channels",
            "confirm_remove": request.GET.get("remove") == "1",
        },
    )


@sudo_required
@require_POST
@never_cache
def channel_rotate(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """A new signing secret for a webhook channel, shown once (a sudo action: it hands out a secret)."""
    _superuser_only(request)
    channel = get_object_or_404(NotificationChannel, pk=pk, kind="webhook")
    secret = channel_admin.rotate_secret(request.user, channel, ip_address=client_ip(request))
    return _secret_page(request, channel, secret, "rotated")


@require_POST
@never_cache
def channel_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    _superuser_only(request)
    channel = get_object_or_404(NotificationChannel, pk=pk)
    ip = client_ip(request)
    if action == "test":
        _send_test(request, channel)
    elif action == "finish-rotation":
        if channel_admin.finish_rotation(request.user, channel, ip_address=ip):
            messages.success(request, "The old secret is retired: only the new one signs now.")
    elif action in ("enable", "disable"):
        channel_admin.set_enabled(request.user, channel, action == "enable", ip_address=ip)
    elif action == "delete":
        if request.POST.get("confirm") != "yes":  # removing stops its alerts: the page asks first
            return redirect(f"{reverse('alert_channel', args=[pk])}?remove=1")
        channel_admin.delete_channel(request.user, channel, ip_address=ip)
        messages.success(request, f"Channel “{channel.name}” removed.")
        return redirect("alert_channels")
    else:
        raise Http404("No such action.")
    return redirect("alert_channel", pk=pk)


def _send_test(request: HttpRequest, channel: NotificationChannel) -> None:
    row = channel_admin.send_test(channel, request.user.get_username())
    if row is None:
        messages.error(request, "This channel has no address to send to.")
    elif row.state == DeliveryState.SENT:
        messages.success(request, f"Test message delivered to “{channel.name}”.")
    elif row.state == DeliveryState.FAILED:
        messages.error(request, f"Test message refused: {row.last_error}. It will not be retried.")
    else:
        messages.error(
            request, f"Test message not delivered yet: {row.last_error}. The outbox job will retry it."
        )


@require_POST
def account_subscription(request: AuthenticatedHttpRequest, account_id: str) -> HttpResponse:
    """Subscribes (or unsubscribes) the person, whatever their role, to every alert of the account by email:
    their own address only, never a channel (so nothing of a channel's secrets is theirs to see)."""
    account = get_account_for(request.user, account_id)
    if not request.user.email:
        messages.error(request, "Your account has no email address: ask an admin to add one.")
    elif request.POST.get("subscribe") == "1":
        AlertSubscription.objects.get_or_create(account=account, user=request.user)
        messages.success(request, f"You will be emailed every alert of {account.name}.")
    else:
        AlertSubscription.objects.filter(account=account, user=request.user).delete()
        messages.success(request, f"You are no longer subscribed to the alerts of {account.name}.")
    return redirect("account_alerts", account_id=account.cloudflare_id)
