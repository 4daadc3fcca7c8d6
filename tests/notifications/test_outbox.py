"""The outbox, delivered through a real SMTP server on loopback (aiosmtpd)."""

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from billing.models import Delivery, DeliveryState
from billing.notifications import outbox as mail


def queue_test_email(to=("ops@example.com",), **context) -> Delivery:
    return mail.queue_email(
        "test_email", {"sent_at": timezone.now(), "requested_by": "tester", **context}, list(to)
    )


def later(minutes: float = 0, hours: float = 0):
    return timezone.now() + timedelta(minutes=minutes, hours=hours)


def test_queued_email_is_delivered_once_with_text_and_html(db, smtp_server, settings):
    row = queue_test_email(to=["Ops@Example.com", "ops@example.com", "fin@example.com"])

    first = mail.send_outbox()
    second = mail.send_outbox()

    assert (first.sent, second.sent) == (1, 0)
    assert len(smtp_server.messages) == 1
    message = smtp_server.messages[0]
    assert message["Subject"] == "Test email from AI Gateway billing"
    assert message["From"] == settings.DEFAULT_FROM_EMAIL
    assert sorted(smtp_server.recipients()[0]) == ["fin@example.com", "ops@example.com"]
    assert "alert emails reach you" in smtp_server.text_of(message)
    assert f'href="{settings.PORTAL_BASE_URL}/alerts/outbox/"' in smtp_server.html_of(message)
    row.refresh_from_db()
    assert (row.state, row.attempts, row.last_error) == (DeliveryState.SENT, 1, "")
    assert row.sent_at is not None


def test_email_without_recipients_is_not_queued(db):
    assert queue_test_email(to=["", "  "]) is None
    assert Delivery.objects.count() == 0


def test_smtp_down_then_up_delivers_once(db, smtp_server):
    row = queue_test_email()
    smtp_server.stop()

    down = mail.send_outbox()

    row.refresh_from_db()
    assert (down.sent, down.retrying) == (0, 1)
    assert row.state == DeliveryState.READY
    assert row.attempts == 1
    assert "Connection" in row.last_error or "refused" in row.last_error.lower()
    assert row.next_attempt_at > timezone.now()

    smtp_server.start()
    assert mail.send_outbox().sent == 0  # not due yet: the backoff holds
    assert smtp_server.messages == []

    assert mail.send_outbox(now=later(minutes=5)).sent == 1
    assert mail.send_outbox(now=later(hours=5)).sent == 0
    assert len(smtp_server.messages) == 1
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.SENT, 2)


def test_temporary_rejections_back_off_longer_each_time(db, smtp_server):
    row = queue_test_email()
    smtp_server.fail_next(2)

    delays = []
    now = timezone.now()
    for _ in range(2):
        mail.send_outbox(now=now)
        row.refresh_from_db()
        assert row.state == DeliveryState.READY
        assert "451" in row.last_error
        delays.append(row.next_attempt_at - now)
        now = row.next_attempt_at
    mail.send_outbox(now=now)

    assert delays[1] > delays[0] >= timedelta(seconds=30)
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.SENT, 3)
    assert len(smtp_server.messages) == 1


def test_permanent_rejection_fails_at_once(db, smtp_server):
    row = queue_test_email()
    smtp_server.fail_next(1, reply="550 5.1.1 Mailbox does not exist")

    summary = mail.send_outbox(now=later(hours=1))

    row.refresh_from_db()
    assert summary.failed == 1
    assert (row.state, row.attempts) == (DeliveryState.FAILED, 1)
    assert "550" in row.last_error
    assert mail.send_outbox(now=later(hours=48)).sent == 0


def test_gives_up_after_the_last_attempt(db, smtp_server):
    row = queue_test_email()
    smtp_server.stop()
    now = timezone.now()
    for _ in range(mail.MAX_ATTEMPTS):
        mail.send_outbox(now=now)
        now += mail.LONGEST_RETRY
    row.refresh_from_db()
    assert (row.state, row.attempts) == (DeliveryState.FAILED, mail.MAX_ATTEMPTS)

    assert mail.retry(row.pk)
    smtp_server.start()
    assert mail.send_outbox().sent == 1


def test_a_claimed_email_cannot_be_claimed_again(db):
    row = queue_test_email()
    assert mail.claim(row.pk) is True
    assert mail.claim(row.pk) is False
    assert mail.send_one_ready() is None


def test_an_abandoned_sending_row_is_taken_back_after_the_lease(db, smtp_server):
    row = queue_test_email()
    assert mail.claim(row.pk)  # a worker that then died

    assert mail.send_outbox().sent == 0
    assert mail.send_outbox(now=later(minutes=11)).sent == 1
    assert len(smtp_server.messages) == 1


@pytest.mark.django_db(transaction=True)
def test_two_workers_draining_at_once_send_each_email_once(smtp_server):
    rows = [queue_test_email(to=[f"p{n}@example.com"]) for n in range(12)]
    start = threading.Barrier(2)
    errors = []

    def drain():
        try:
            start.wait(timeout=10)
            mail.send_outbox()
        except Exception as error:  # surfaced below: a thread's exception would otherwise vanish
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=drain) for _ in range(2)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=60)

    assert errors == []
    ids = sorted(int(message["X-Portal-Outbox-Id"]) for message in smtp_server.messages)
    assert ids == sorted(row.pk for row in rows)
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 12


def test_subject_is_one_line_even_if_a_template_value_has_newlines(db, smtp_server, settings, tmp_path):
    (tmp_path / "emails").mkdir()
    for part, body in (("subject.txt", "Hello\n{{ name }}\r\nthere"), ("body.txt", "x"), ("body.html", "x")):
        (tmp_path / "emails" / f"probe_{part}").write_text(body)
    settings.TEMPLATES = [{**settings.TEMPLATES[0], "DIRS": [tmp_path, *settings.TEMPLATES[0]["DIRS"]]}]

    rendered = mail.render_email("probe", {"name": "evil\nBcc: victim@example.com"})

    assert rendered.subject == "Hello evil Bcc: victim@example.com there"


def test_file_backend_mail_is_listed_and_readable(db, settings, tmp_path):
    settings.EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    settings.EMAIL_FILE_PATH = str(tmp_path)
    queue_test_email(to=["ops@example.com"])

    assert mail.send_outbox().sent == 1

    files = mail.list_mail_files()
    assert [(f.subject, f.to) for f in files] == [("Test email from AI Gateway billing", "ops@example.com")]
    assert "alert emails reach you" in mail.read_mail_file(files[0].name)
    assert mail.read_mail_file("../portal.sqlite3") is None
    assert mail.read_mail_file(".hidden") is None
