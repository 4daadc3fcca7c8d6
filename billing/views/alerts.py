"""Alert pages: rules per account, alert history, the outbox, mail written to files, the test email."""

from datetime import timedelta

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing.alerts import headlines
from billing.alerts import rules as alert_rules
from billing.alerts import text as alert_text
from billing.alerts.kinds import KINDS
from billing.alerts.rules import operator_emails, rules_for
from billing.forms.alerts import AlertRuleForm, TestEmailForm
from billing.forms.fields import whole_number
from billing.models import (
    Account,
    AlertEvent,
    AlertKind,
    AlertRule,
    AlertSubscription,
    Delivery,
    DeliveryState,
    Role,
)
from billing.notifications import mail_file_view
from billing.notifications import outbox as mail_outbox
from billing.permissions import (
    AuthenticatedHttpRequest,
    accounts_for,
    can_administer,
    can_manage,
    get_account_for,
)
from billing.views.common import client_ip

HISTORY_PAGE_SIZE = 50
# What the snooze field offers first: a working day's pause.
SNOOZE_DEFAULT_HOURS = 8


def _superuser_only(request: HttpRequest) -> None:
    # Portal-wide defaults and the raw mail folder span every account: only superusers see them.
    if not request.user.is_superuser:
        raise Http404("No such page.")


def _rule_texts(kind: AlertKind, rule) -> dict:
    """The kind's entry, and the rule's levels and margin in its unit, for the tables of rules."""
    entry = KINDS[kind]
    if rule is None:
        return {"entry": entry, "levels_text": "", "margin_text": ""}
    return {
        "entry": entry,
        "levels_text": entry.levels_text(rule),
        "margin_text": entry.threshold_text(rule.hysteresis),
    }


def _rule_rows(account) -> list[dict]:
    """One row per kind: the rule in force for the account and where it comes from."""
    rules = {
        (rule.account_id, rule.kind): rule
        for rule in AlertRule.objects.filter(Q(account=account) | Q(account__isnull=True))
    }
    in_force = rules_for(account)
    rows = []
    for kind in AlertKind:
        own = rules.get((account.pk, kind))
        default = rules.get((None, kind))
        rule = in_force.get(kind)
        rows.append(
            {
                "kind": kind,
                "rule": rule,
                **_rule_texts(kind, rule),
                "own": own,
                "default": default,
                "source": "this account" if own else ("portal default" if default else "none"),
            }
        )
    return rows


def account_alerts(request: AuthenticatedHttpRequest, account_id: str) -> HttpResponse:
    account = get_account_for(request.user, account_id)
    events = AlertEvent.objects.filter(account=account).select_related("rule")
    facts = headlines.facts_for([account])
    shown = alert_text.shown(list(events[:HISTORY_PAGE_SIZE]), facts)
    return render(
        request,
        "billing/alerts/account.html",
        {
            "account": account,
            "can_manage": can_manage(account),
            "can_edit_rules": can_administer(account),
            "rows": _rule_rows(account),
            "open_alerts": alert_text.shown(events.filter(resolved_at__isnull=True), facts),
            "history": shown,
            "emails": Delivery.objects.filter(account=account).select_related("channel")[:20],
            "subscribed": AlertSubscription.objects.filter(account=account, user=request.user).exists(),
            "operators": operator_emails(),
            "now": timezone.now(),
            "snooze_default": timezone.localtime() + timedelta(hours=SNOOZE_DEFAULT_HOURS),
            "section": "alerts",
        },
    )


def _kind_or_404(kind: str) -> AlertKind:
    try:
        return AlertKind(kind)
    except ValueError:
        raise Http404("No such kind of alert.") from None


def account_rule_edit(request: HttpRequest, account_id: str, kind: str) -> HttpResponse:
    """Sets the account's own rule of one kind; it starts as a copy of the portal default. Admins only: a
    rule names who is emailed."""
    account = get_account_for(request.user, account_id, need=Role.ADMIN)
    kind = _kind_or_404(kind)
    own, default = alert_rules.own_rule_draft(account, kind)
    form = AlertRuleForm(request.POST or None, instance=own, kind=kind)
    if request.method == "POST" and form.is_valid():
        alert_rules.save_rule(form, request.user, account, ip_address=client_ip(request))
        messages.success(request, f"{kind.label} rule saved for {account.name}.")
        return redirect("account_alerts", account_id=account.cloudflare_id)
    return render(
        request,
        "billing/alerts/rule_form.html",
        {"account": account, "kind": kind, "form": form, "default": default, "is_own": own.pk is not None},
    )


@require_POST
def account_rule_reset(request: HttpRequest, account_id: str, kind: str) -> HttpResponse:
    """Removes the account's own rule, so the portal default applies again (admins only)."""
    account = get_account_for(request.user, account_id, need=Role.ADMIN)
    kind = _kind_or_404(kind)
    alert_rules.reset_rule(account, kind, request.user, ip_address=client_ip(request))
    messages.success(request, f"{account.name} now follows the portal default for {kind.label.lower()}.")
    return redirect("account_alerts", account_id=account.cloudflare_id)


def default_rules(request: HttpRequest) -> HttpResponse:
    _superuser_only(request)
    rules = {rule.kind: rule for rule in AlertRule.objects.filter(account__isnull=True)}
    rows = [
        {"kind": kind, "rule": rules.get(kind), **_rule_texts(kind, rules.get(kind))} for kind in AlertKind
    ]
    return render(
        request,
        "billing/alerts/defaults.html",
        {"rows": rows, "operators": operator_emails(), "section": "defaults"},
    )


def default_rule_edit(request: HttpRequest, kind: str) -> HttpResponse:
    _superuser_only(request)
    kind = _kind_or_404(kind)
    rule = AlertRule.objects.filter(account__isnull=True, kind=kind).first() or AlertRule(kind=kind)
    form = AlertRuleForm(request.POST or None, instance=rule, kind=kind)
    if request.method == "POST" and form.is_valid():
        alert_rules.save_rule(form, request.user, None, ip_address=client_ip(request))
        messages.success(request, f"Portal default for {kind.label.lower()} saved.")
        return redirect("alert_defaults")
    return render(
        request,
        "billing/alerts/rule_form.html",
        {"account": None, "kind": kind, "form": form, "default": None},
    )


def alert_history(request: HttpRequest) -> HttpResponse:
    accounts = accounts_for(request.user)
    events = AlertEvent.objects.filter(account__in=accounts).select_related("account")
    selected = request.GET.get("account", "")
    if selected:
        events = events.filter(account__cloudflare_id=selected)
    state = request.GET.get("state", "")
    if state == "open":
        events = events.filter(resolved_at__isnull=True)
    elif state == "resolved":
        events = events.filter(resolved_at__isnull=False)
    page = Paginator(events.select_related("rule"), HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    shown = _shown(list(page.object_list))
    return render(
        request,
        "billing/alerts/history.html",
        {
            "page": page,
            "shown": shown,
            "accounts": accounts,
            "selected": selected,
            "state": state,
            "section": "history",
        },
    )


def _shown(events: list[AlertEvent]) -> list:
    """The events as of now: open ones worded from their account's figures of today."""
    open_accounts = {event.account_id for event in events if event.is_open}
    accounts = Account.objects.filter(pk__in=open_accounts).select_related(
        "summary", "spending_limit", "auto_topup"
    )
    return alert_text.shown(events, headlines.facts_for(accounts))


def outbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    emails = Delivery.objects.select_related("account", "event", "channel")
    if not request.user.is_superuser:
        emails = emails.filter(account__in=accounts_for(request.user))
    state = request.GET.get("state", "")
    if state in DeliveryState.values:
        emails = emails.filter(state=state)
    channel = request.GET.get("channel", "")
    channel_id = whole_number(channel)
    if channel_id is not None:
        emails = emails.filter(channel_id=channel_id)
    page = Paginator(emails, HISTORY_PAGE_SIZE).get_page(request.GET.get("page"))
    return render(
        request,
        "billing/alerts/outbox.html",
        {
            "page": page,
            "state": state,
            "states": DeliveryState.choices,
            "channel": channel,
            "test_form": TestEmailForm(initial={"to": request.user.email}),
            "mail_dir": mail_outbox.mail_dir(),
            "section": "outbox",
        },
    )


@require_POST
def outbox_retry(request: HttpRequest, pk: int) -> HttpResponse:
    _superuser_only(request)
    if mail_outbox.retry(pk):
        messages.success(request, "The delivery is queued again; the outbox job sends it within a minute.")
    else:
        messages.info(request, "That delivery is not failed: nothing to retry.")
    return redirect("alert_outbox")


@require_POST
def send_test_email(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Queues a test email and sends it at once, so the person sees whether mail works."""
    form = TestEmailForm(request.POST)
    if not form.is_valid():
        messages.error(request, " ".join(str(m) for m in form.errors.get("to", ["Enter an email address."])))
        return redirect("alert_outbox")
    # Anyone may test their own address; only superusers may mail someone else from the portal.
    to = form.cleaned_data["to"] if request.user.is_superuser else request.user.email
    context = {"sent_at": timezone.now(), "requested_by": request.user.get_username()}
    queued = mail_outbox.queue_email("test_email", context, [to]) if to else None
    if queued is None:  # no address to send to
        messages.error(request, "Your account has no email address: ask an admin to add one.")
        return redirect("alert_outbox")
    row = mail_outbox.send_now(queued.pk)
    if row.state == DeliveryState.SENT:
        where = f" It was written to {mail_outbox.mail_dir()}." if mail_outbox.mail_dir() else ""
        messages.success(request, f"Test email sent to {to}.{where}")
    else:
        messages.error(
            request, f"Test email to {to} not sent yet: {row.last_error}. The outbox job will retry it."
        )
    return redirect("alert_outbox")


def mail_files(request: HttpRequest) -> HttpResponse:
    _superuser_only(request)
    return render(
        request,
        "billing/alerts/mail_files.html",
        {"files": mail_outbox.list_mail_files(), "mail_dir": mail_outbox.mail_dir(), "section": "mail"},
    )


def mail_file(request: HttpRequest, name: str) -> HttpResponse:
    _superuser_only(request)
    text = mail_outbox.read_mail_file(name)
    if text is None:
        raise Http404("No such mail file.")
    return render(
        request,
        "billing/alerts/mail_file.html",
        {"name": name, "text": text, "messages": mail_file_view.messages_in(text), "section": "mail"},
    )
