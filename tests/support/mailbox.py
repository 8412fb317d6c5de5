"""A real SMTP server on loopback (aiosmtpd) that keeps what the control plane sends, for the tests."""

from __future__ import annotations

import email
import email.policy
import re
import threading
import time
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

_TOKEN = re.compile(r"confirm-email\?token=([A-Za-z0-9._~%-]+)")


@dataclass
class Mailbox:
    """Messages received so far, oldest first."""

    messages: list[EmailMessage] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        with self._lock:
            return [message for message in self.messages if message["To"] == address]

    def wait_for(self, address: str, count: int = 1, timeout_s: float = 10.0) -> list[EmailMessage]:
        """The first `count` messages to `address`, waiting for them (mail is sent after the response)."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            received = self.to(address)
            if len(received) >= count:
                return received
            time.sleep(0.05)
        raise AssertionError(f"expected {count} message(s) to {address}, got {len(self.to(address))}")

    @staticmethod
    def body(message: EmailMessage) -> str:
        part = message.get_body(preferencelist=("plain",))
        assert part is not None
        return str(part.get_content())

    @classmethod
    def confirmation_token(cls, message: EmailMessage) -> str:
        from urllib.parse import unquote

        found = _TOKEN.search(cls.body(message))
        assert found is not None, cls.body(message)
        return unquote(found.group(1))


def start_smtp(port: int) -> tuple[Controller, Mailbox]:
    mailbox = Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, mailbox
