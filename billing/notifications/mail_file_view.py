"""A file the file email backend wrote, as people read mail: each message's sender, recipients, date, subject
and plain-text body, decoded (the raw MIME source stays one click away)."""

import email
import re
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage

# Django's file backend writes each message followed by a line of 79 dashes.
_SEPARATOR = re.compile(r"^-{79}$", re.MULTILINE)


@dataclass(frozen=True)
class ReadableMessage:
    sender: str
    to: str
    date: str
    subject: str
    body: str


def messages_in(source: str) -> list[ReadableMessage]:
    """Every message in a mail file's text, in the order written."""
    found = []
    for chunk in _SEPARATOR.split(source):
        if not chunk.strip():
            continue
        message = email.message_from_string(chunk.lstrip("\n"), policy=policy.default)
        assert isinstance(message, EmailMessage)
        found.append(
            ReadableMessage(
                sender=str(message.get("From", "")),
                to=str(message.get("To", "")),
                date=str(message.get("Date", "")),
                subject=str(message.get("Subject", "")),
                body=_plain_body(message),
            )
        )
    return found


def _plain_body(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain", "html"))
    if part is None:
        return ""
    content = part.get_content()
    return content if isinstance(content, str) else content.decode("utf-8", errors="replace")
