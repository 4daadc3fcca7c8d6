"""The outbox: every notification (an email, a Slack message, a webhook call) is a row first, then delivered
by `send_outbox` with retries and backoff.

A row is claimed with a conditional update (ready → sending) before the SMTP conversation or the HTTP call,
so two workers never send the same row. An outage leaves rows ready with a later `next_attempt_at`: a
notification is delayed, never lost; backoff is capped at an hour and attempts go on for more than a day. A
permanent refusal (SMTP 5xx, HTTP 4xx other than 408/429) fails the row at once, with the reason.

The only window for a duplicate is a worker dying between the server's acceptance and the
"sent" update; such a row is taken back after `SENDING_LEASE` rather than lost.
"""

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta
from email import policy
from email.parser import HeaderParser
from pathlib import Path

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db.models import F, Q
from django.template.loader import render_to_string
from django.utils import timezone

from billing.models import Account, AlertEvent, ChannelKind, Delivery, DeliveryState, NotificationChannel
from billing.notifications import channels
from billing.notifications.transports import TransportError
from billing.time_zones import zone_for_recipients

logger = logging.getLogger(__name__)

# 30 s doubling to the hourly cap after about an hour, then hourly: 32 attempts span more than a day, so a
# receiver that is down for hours still gets its messages.
MAX_ATTEMPTS = 32
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# The longest wait a receiver's Retry-After is obeyed for.
LONGEST_RETRY_AFTER = timedelta(hours=6)
EMAIL_DESTINATION = "email"
# A row still "sending" after this was abandoned by a dead worker: SMTP timeouts are far shorter.
SENDING_LEASE = timedelta(minutes=10)


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    text: str
    html: str


def render_email(name: str, context: dict) -> RenderedEmail:
    """Renders the triplet templates/emails/<name>_subject.txt, _body.txt and _body.html."""
    context = {"PORTAL_BASE_URL": settings.PORTAL_BASE_URL, **context}
    # A subject is one line: a newline in it would end the header.
    subject = " ".join(render_to_string(f"emails/{name}_subject.txt", context).split())
    text = render_to_string(f"emails/{name}_body.txt", context).strip() + "\n"
    html = render_to_string(f"emails/{name}_body.html", context)
    return RenderedEmail(subject=subject[:300], text=text, html=html)


def queue_email(
    name: str,
    context: dict,
    recipients: list[str],
    *,
    account: Account | None = None,
    event: AlertEvent | None = None,
    **delivery,
) -> Delivery | None:
    """Renders and stores one email for every recipient to receive; None when there is nobody to send to.
    `delivery` may name the channel, portal_alert, alert_state and sequence of an alert's delivery.

    Call it inside the transaction that decided to send, so the email exists if and only if the decision does.
    """
    recipients = sorted({address.strip().lower() for address in recipients if address and address.strip()})
    if not recipients:
        return None
    # Its times read in its one recipient's zone, or in UTC (named) for several readers.
    with timezone.override(zone_for_recipients(recipients)):
        rendered = render_email(name, context)
    return Delivery.objects.create(
        template=name,
        account=account,
        event=event,
        subject=rendered.subject,
        text=rendered.text,
        html=rendered.html,
        recipients=recipients,
        next_attempt_at=timezone.now(),
        **delivery,
    )


def queue_message(
    channel: NotificationChannel, payload: dict, subject: str, *, template: str, **delivery
) -> Delivery:
    """Stores one Slack or webhook message for `channel` (the body to send in `payload`); `delivery` as for
    `queue_email`. Call it inside the transaction that decided to send."""
    return Delivery.objects.create(
        template=template,
        channel=channel,
        subject=subject[:300],
        text=subject,
        payload=payload,
        next_attempt_at=timezone.now(),
        **delivery,
    )


def retry_delay(attempts: int) -> timedelta:
    """Exponential backoff after `attempts` failures: 30 s, 1 min, 2 min, … capped at an hour."""
    return min(FIRST_RETRY * (2 ** max(attempts - 1, 0)), LONGEST_RETRY)


def is_permanent(error: Exception) -> bool:
    """Whether retrying cannot help: the mail server answered 5xx about the message or its addresses, or an
    HTTP receiver refused the message for good."""
    if isinstance(error, TransportError):
        return error.permanent
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return all(500 <= code < 600 for code, _ in error.recipients.values())
    if isinstance(error, smtplib.SMTPResponseException):
        return 500 <= error.smtp_code < 600 and not isinstance(error, smtplib.SMTPAuthenticationError)
    return False


def release_abandoned(now: datetime | None = None) -> int:
    """Puts rows a dead worker left in "sending" back in the queue; returns how many."""
    now = now or timezone.now()
    return Delivery.objects.filter(state=DeliveryState.SENDING, claimed_at__lt=now - SENDING_LEASE).update(
        state=DeliveryState.READY, next_attempt_at=now
    )


def claim(pk: int, now: datetime | None = None) -> bool:
    """Marks one due row as ours; True only for the one worker whose update changed it."""
    now = now or timezone.now()
    claimed = Delivery.objects.filter(pk=pk, state=DeliveryState.READY, next_attempt_at__lte=now).update(
        state=DeliveryState.SENDING, claimed_at=now, attempts=F("attempts") + 1
    )
    return claimed == 1


def destination(row: Delivery) -> str | int:
    """Where a row goes: "email" (the mail server) or the id of its Slack/webhook channel."""
    if row.channel is not None and row.channel.kind != ChannelKind.EMAIL:
        return row.channel.pk
    return EMAIL_DESTINATION


def deliver(row: Delivery) -> None:
    """One delivery of a claimed row: a Slack/webhook POST, else SMTP (or the file backend); raises whatever
    the transport raises."""
    if destination(row) != EMAIL_DESTINATION and row.channel is not None:  # (a channel's id: it has one)
        channels.deliver(row.channel, row.payload, row.pk)
        return
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=row.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=row.recipients,
        headers={"X-Portal-Outbox-Id": str(row.pk)},
    )
    if row.html:
        message.attach_alternative(row.html, "text/html")
    message.send(fail_silently=False)


def send_claimed(pk: int, now: datetime | None = None) -> Delivery:
    """Delivers a row this worker claimed and records the outcome; returns the updated row."""
    row = Delivery.objects.select_related("channel").get(pk=pk)
    try:
        deliver(row)
    except Exception as error:
        now = now or timezone.now()
        # Only the class and the server's words: never anything that could carry credentials.
        row.last_error = f"{type(error).__name__}: {error}"[:2000]
        if is_permanent(error) or row.attempts >= MAX_ATTEMPTS:
            row.state = DeliveryState.FAILED
        else:
            row.state = DeliveryState.READY
            row.next_attempt_at = now + _wait_after(error, row.attempts)
        Delivery.objects.filter(pk=pk, state=DeliveryState.SENDING).update(
            state=row.state, last_error=row.last_error, next_attempt_at=row.next_attempt_at
        )
        logger.warning("delivery %s not sent (attempt %s): %s", pk, row.attempts, row.last_error)
        return row
    row.state = DeliveryState.SENT
    row.sent_at = timezone.now()
    row.last_error = ""
    Delivery.objects.filter(pk=pk).update(state=row.state, sent_at=row.sent_at, last_error="")
    return row


def _wait_after(error: Exception, attempts: int) -> timedelta:
    wait = retry_delay(attempts)
    asked = getattr(error, "retry_after", None)
    if asked:
        wait = max(wait, min(timedelta(seconds=asked), LONGEST_RETRY_AFTER))
    return wait


def send_one_ready(now: datetime | None = None, skip: frozenset = frozenset()) -> Delivery | None:
    """Claims and sends the oldest due row whose destination is not in `skip`; returns it as it ended, or None
    when nothing was due."""
    now = now or timezone.now()
    due = Delivery.objects.filter(state=DeliveryState.READY, next_attempt_at__lte=now).order_by(
        "next_attempt_at", "pk"
    )
    if EMAIL_DESTINATION in skip:
        due = due.exclude(Q(channel__isnull=True) | Q(channel__kind=ChannelKind.EMAIL))
    due = due.exclude(channel_id__in=[key for key in skip if key != EMAIL_DESTINATION])
    for pk in due.values_list("pk", flat=True)[:5]:
        if claim(pk, now):
            return send_claimed(pk, now)
    return None


@dataclass
class OutboxSummary:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    released: int = 0


def send_outbox(limit: int = 200, now: datetime | None = None) -> OutboxSummary:
    """Drains due rows, at most `limit` of them, one claimed row at a time; returns what happened."""
    summary = OutboxSummary(released=release_abandoned(now))
    down: set = set()
    for _ in range(limit):
        row = send_one_ready(now, frozenset(down))
        if row is None:
            break
        if row.state == DeliveryState.SENT:
            summary.sent += 1
        elif row.state == DeliveryState.FAILED:
            summary.failed += 1
        else:
            summary.retrying += 1
            # That server is down or busy: its other rows wait for the next run instead of each timing out,
            # while the other destinations go on.
            down.add(destination(row))
    return summary


def send_now(pk: int) -> Delivery:
    """Sends one ready row immediately (the "send test" buttons); returns the row as it ended."""
    if claim(pk):
        return send_claimed(pk)
    return Delivery.objects.get(pk=pk)


def retry(pk: int) -> bool:
    """Puts a failed row back in the queue for another round of attempts; True when it was failed."""
    return (
        Delivery.objects.filter(pk=pk, state=DeliveryState.FAILED).update(
            state=DeliveryState.READY, next_attempt_at=timezone.now(), attempts=0
        )
        == 1
    )


# --- Mail written by the file backend (the default), listed in the portal ------------------------


@dataclass(frozen=True)
class MailFile:
    name: str
    modified: datetime
    size: int
    subject: str
    to: str


def mail_dir() -> Path | None:
    """The folder the file backend writes to, or None when mail goes elsewhere (SMTP)."""
    if not settings.EMAIL_BACKEND.endswith("filebased.EmailBackend"):
        return None
    return Path(getattr(settings, "EMAIL_FILE_PATH", None) or settings.MAIL_DIR)


def list_mail_files(limit: int = 200) -> list[MailFile]:
    """The newest files the file backend wrote, with the first message's subject and recipients."""
    folder = mail_dir()
    if folder is None or not folder.is_dir():
        return []
    paths = sorted(
        (path for path in folder.iterdir() if path.is_file()), key=lambda p: p.stat().st_mtime, reverse=True
    )
    files = []
    for path in paths[:limit]:
        headers = _first_headers(path)
        stat = path.stat()
        files.append(
            MailFile(
                name=path.name,
                modified=datetime.fromtimestamp(stat.st_mtime, tz=timezone.get_current_timezone()),
                size=stat.st_size,
                subject=headers.get("subject", ""),
                to=headers.get("to", ""),
            )
        )
    return files


def read_mail_file(name: str) -> str | None:
    """The text of one file in the mail folder; None for anything that is not a plain file there."""
    folder = mail_dir()
    if folder is None or "/" in name or "\\" in name or name.startswith("."):
        return None
    path = folder / name
    if not path.is_file():
        return None
    return path.read_text(encoding="utf-8", errors="replace")


def _first_headers(path: Path) -> dict[str, str]:
    # The file backend appends messages one after another: the headers at the top are the first message's.
    with path.open(encoding="utf-8", errors="replace") as handle:
        message = HeaderParser(policy=policy.default).parse(handle)
    return {"subject": str(message.get("Subject", "")), "to": str(message.get("To", ""))}
