"""A real SMTP server on loopback for the mail tests: aiosmtpd's Controller on a free port.

It keeps every accepted message, can answer the next N messages with a temporary failure, and can be
stopped and started again on the same port to play an outage. The `smtp_server` fixture (registered by
tests/conftest.py) starts one and points Django's SMTP backend at it.
"""

import socket
import threading
from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from aiosmtpd.controller import Controller


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Handler:
    def __init__(self, sink: "SmtpSink"):
        self.sink = sink

    async def handle_DATA(self, server, session, envelope) -> str:
        with self.sink.lock:
            if self.sink.failures_left > 0:
                self.sink.failures_left -= 1
                return self.sink.failure_reply
            message = message_from_bytes(envelope.content, policy=policy.default)
            self.sink.messages.append(message)
            self.sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"


class SmtpSink:
    def __init__(self):
        self.port = free_port()
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.failures_left = 0
        self.failure_reply = ""
        self.lock = threading.Lock()
        self._controller: Controller | None = None

    def start(self) -> None:
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def fail_next(self, count: int, reply: str = "451 4.3.0 Try again later") -> None:
        """Answers the next `count` messages with `reply` (by default a temporary failure)."""
        with self.lock:
            self.failures_left = count
            self.failure_reply = reply

    def subjects(self) -> list[str]:
        return [str(message["Subject"]) for message in self.messages]

    def recipients(self) -> list[list[str]]:
        return [rcpts for _, rcpts in self.envelopes]

    @staticmethod
    def text_of(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("plain",)).get_content()

    @staticmethod
    def html_of(message: EmailMessage) -> str:
        return message.get_body(preferencelist=("html",)).get_content()


@pytest.fixture
def smtp_server(settings):
    """aiosmtpd on 127.0.0.1 and a free port, with Django's SMTP backend pointed at it."""
    sink = SmtpSink()
    sink.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST = "127.0.0.1"
    settings.EMAIL_PORT = sink.port
    settings.EMAIL_HOST_USER = ""
    settings.EMAIL_HOST_PASSWORD = ""
    settings.EMAIL_USE_TLS = False
    settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    yield sink
    sink.stop()
