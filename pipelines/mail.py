"""Email alerts: one message per alert or a daily digest, sent over SMTP; outcome as an error.

    accepted                                 delivered
    connection refused, timeout, dropped,    TransientError: retried with backoff, then
      a 4xx reply                              dead-lettered
    a 5xx reply (recipient, sender, data)    InputRejected: the server refuses it; dead-lettered
    some recipients refused, others not      sent; `send` returns the refused ones (the
                                               caller dead-letters a message to them)
    no STARTTLS offered, login refused       ConfigError: fix the settings; dead-lettered

Messages are plain text only (article text is hostile: nothing in it is rendered as HTML).
The headers come from `summary`, whose text is on one line, and `EmailMessage` refuses any
header with a line break, so a title cannot add headers.
"""

from __future__ import annotations

import smtplib
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from .alert_formats import plain_text, summary
from .errors import ConfigError, InputRejected, TransientError


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    starttls: bool
    username: str | None
    password: str | None
    sender: str
    timeout: float


def _message(
    subject: str, body: str, *, sender: str, to: Sequence[str], msg_id: str
) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = subject
    message["From"] = sender
    message["To"] = ", ".join(to)
    message["Date"] = formatdate(usegmt=True)
    # Stable per alert: a retried send is recognisable as the same message.
    message["Message-ID"] = make_msgid(idstring=msg_id, domain="armswatch")
    message.set_content(body)
    return message


def alert_message(alert: dict[str, Any], *, sender: str, to: Sequence[str]) -> EmailMessage:
    """One alert as one message."""
    s = summary(alert)
    subject = f"[armswatch {s['subscription']}] {s['title']}"
    msg_id = f"{s['subscription']}.{s['entry_id']}"
    return _message(subject, plain_text(s) + "\n", sender=sender, to=to, msg_id=msg_id)


def digest_message(
    subscription: str, alerts: Sequence[dict[str, Any]], *, sender: str, to: Sequence[str]
) -> EmailMessage:
    """Several alerts of one subscription as one message, oldest first."""
    parts = [plain_text(summary(a)) for a in alerts]
    noun = "alert" if len(alerts) == 1 else "alerts"
    subject = f"[armswatch {subscription}] digest: {len(alerts)} {noun}"
    body = f"{len(alerts)} {noun} of subscription {subscription}:\n\n" + "\n\n".join(parts)
    last = alerts[-1].get("entry_id") if alerts else "none"
    return _message(subject, body + "\n", sender=sender, to=to, msg_id=f"{subscription}.d{last}")


def send(message: EmailMessage, config: SmtpConfig) -> dict[str, str]:
    """Hand one message to the SMTP server, or raise what the failure means (see above).

    Returns the recipients the server refused while accepting the message for others,
    address -> its reply (empty when every recipient was accepted).
    """
    where = f"smtp://{config.host}:{config.port}"
    try:
        with smtplib.SMTP(config.host, config.port, timeout=config.timeout) as smtp:
            if config.starttls:
                smtp.starttls(context=ssl.create_default_context())
            if config.username:
                smtp.login(config.username, config.password or "")
            refused = smtp.send_message(message)
    except smtplib.SMTPNotSupportedError as exc:
        raise ConfigError(f"the server does not offer STARTTLS: {exc}", input=where) from exc
    except smtplib.SMTPAuthenticationError as exc:
        raise ConfigError(
            f"login refused: {exc.smtp_code} {_text(exc.smtp_error)}", input=where
        ) from exc
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _ in exc.recipients.values()]
        reason = "recipients refused: " + ", ".join(
            f"{addr} ({code} {_text(text)})" for addr, (code, text) in exc.recipients.items()
        )
        raise _by_code(min(codes), reason, where) from exc
    except smtplib.SMTPResponseException as exc:
        raise _by_code(exc.smtp_code, f"{exc.smtp_code} {_text(exc.smtp_error)}", where) from exc
    except (smtplib.SMTPException, OSError) as exc:  # refused, timed out, dropped
        raise TransientError(f"{type(exc).__name__}: {exc}", input=where) from exc
    return {addr: f"{code} {_text(text)}" for addr, (code, text) in refused.items()}


def _by_code(code: int, reason: str, where: str) -> TransientError | InputRejected:
    # RFC 5321: 4yz is a transient failure (try again), 5yz a permanent one.
    if 400 <= code < 500:
        return TransientError(reason, input=where)
    return InputRejected(reason, input=where)


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
