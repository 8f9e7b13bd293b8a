"""A loopback SMTP server (aiosmtpd) that records messages and can refuse recipients."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


@dataclass
class Mailbox:
    """What the server received, and how it answers each recipient (`refuse`: address -> reply)."""

    messages: list[EmailMessage] = field(default_factory=list)
    envelopes: list[tuple[str, list[str]]] = field(default_factory=list)
    refuse: dict[str, str] = field(default_factory=dict)
    port: int = 0
    # With a login, the server asks for it (over plain SMTP: a test server on loopback).
    login: tuple[str, str] | None = None
    logins: list[str] = field(default_factory=list)

    def authenticate(self, server: Any, session: Any, envelope: Any, mechanism: str,
                     data: Any) -> AuthResult:  # fmt: skip
        ok = isinstance(data, LoginPassword) and self.login == (
            data.login.decode(),
            data.password.decode(),
        )
        if isinstance(data, LoginPassword):
            self.logins.append(data.login.decode())
        return AuthResult(success=ok)

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, options: Any
    ) -> str:
        if address in self.refuse:
            return self.refuse[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def smtp_server(login: tuple[str, str] | None = None) -> Iterator[Mailbox]:
    """An SMTP server on 127.0.0.1 (no STARTTLS; a login only when given) for the block."""
    box = Mailbox(port=_free_port(), login=login)
    auth: dict[str, Any] = {}
    if login:
        # Login offered, not required (aiosmtpd warns about requiring it without TLS).
        auth = {"authenticator": box.authenticate, "auth_require_tls": False}
    controller = Controller(box, hostname="127.0.0.1", port=box.port, **auth)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
