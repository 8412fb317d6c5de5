"""Outgoing email: one function, `send`, over SMTP (aiosmtplib) or, in the dev profile, into the log.

Sending happens after the HTTP response (a background task), so how long an SMTP server takes never shows in
an endpoint's timing. A failed send is logged (`mail.send_failed`, with the error's type) and not retried.
"""

from __future__ import annotations

from dataclasses import dataclass
from email.message import EmailMessage

import aiosmtplib
import structlog

from control_plane.settings import MailSettings

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class Mail:
    """A plain-text message to one recipient."""

    to: str
    subject: str
    body: str
    # What the message is for (`signup_confirmation`, ...): logged, never the body or any token in it.
    kind: str


def _message(settings: MailSettings, mail: Mail) -> EmailMessage:
    message = EmailMessage()
    message["From"] = settings.sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    message.set_content(mail.body)
    return message


async def send(settings: MailSettings, mail: Mail) -> bool:
    """Deliver `mail`; True when the SMTP server accepted it (or it was logged). Never raises."""
    if settings.backend == "log":
        # The dev profile: the developer reads the message (and its link) in the log.
        log.info("mail.logged", kind=mail.kind, to=mail.to, subject=mail.subject, body=mail.body)
        return True
    try:
        await aiosmtplib.send(
            _message(settings, mail),
            hostname=settings.smtp_host,
            port=settings.smtp_port,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_security == "tls",
            start_tls=settings.smtp_security == "starttls",
            timeout=settings.smtp_timeout_s,
        )
    except (aiosmtplib.SMTPException, OSError) as exc:
        log.warning("mail.send_failed", kind=mail.kind, error_type=type(exc).__name__, error=str(exc))
        return False
    log.info("mail.sent", kind=mail.kind)
    return True
