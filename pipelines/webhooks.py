"""Webhook delivery: one signed POST per alert (Standard Webhooks), outcome as an error class.

    2xx                              delivered
    transport error, 5xx, 408, 429   TransientError (RateLimited with Retry-After): retried
    any other status, a redirect     InputRejected: the receiver refuses it; dead-lettered
    an unsafe URL                    UnsafeURL (pipelines.netguard): dead-lettered

Headers: `webhook-id` (the same on every attempt, so a receiver can drop repeats),
`webhook-timestamp` (seconds, per attempt) and `webhook-signature` =
`v1,` + base64(HMAC-SHA256(key, f"{id}.{timestamp}.{body}")). The key is the secret
base64-decoded when it has the convention's `whsec_` prefix, else the secret's UTF-8 bytes.
"""

from __future__ import annotations

import base64
import binascii
import time
from datetime import UTC, datetime

import httpx
from standardwebhooks.webhooks import Webhook

from .errors import ConfigError, InputRejected, RateLimited, TransientError
from .netguard import check_url
from .retry import backoff as backoff  # re-exported: where webhook callers look for it
from .retry import parse_retry_after

SECRET_PREFIX = "whsec_"  # noqa: S105 (the convention's prefix, not a secret)
_RETRYABLE_STATUS = frozenset({408, 425, 429})


def signing_key(secret: str) -> bytes:
    """The HMAC key of a secret: `whsec_<base64>` decoded, anything else as UTF-8 bytes."""
    if not secret:
        raise ConfigError("the webhook secret is empty")
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except binascii.Error as exc:
            raise ConfigError(
                f"the webhook secret is not valid base64 after {SECRET_PREFIX}"
            ) from exc
        if not key:
            raise ConfigError("the webhook secret is empty")
        return key
    return secret.encode("utf-8")


def signed_headers(*, key: bytes, msg_id: str, timestamp: int, body: str) -> dict[str, str]:
    """The Standard Webhooks headers for one attempt."""
    when = datetime.fromtimestamp(timestamp, tz=UTC)
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": Webhook(key).sign(msg_id, when, body),
    }


def deliver(
    client: httpx.Client,
    *,
    url: str,
    body: str,
    msg_id: str,
    key: bytes,
    timestamp: int,
    allow_private: bool,
) -> int:
    """POST one alert; return the status, or raise what the outcome means (see above)."""
    check_url(url, allow_private)
    headers = signed_headers(key=key, msg_id=msg_id, timestamp=timestamp, body=body)
    try:
        # Streamed and closed unread: only the status and headers matter, and a receiver's
        # endless body must not be held (the client bounds the time the head takes).
        with client.stream("POST", url, content=body.encode("utf-8"), headers=headers) as response:
            status, retry_after = response.status_code, response.headers.get("retry-after")
    except httpx.TransportError as exc:
        raise TransientError(f"{type(exc).__name__}: {exc}", input=url) from exc
    if 200 <= status < 300:
        return status
    reason = f"HTTP {status} from the receiver"
    if status in _RETRYABLE_STATUS or status >= 500:
        wait = parse_retry_after(retry_after, now=time.time())
        if wait is not None:
            raise RateLimited(reason, retry_after=wait, input=url)
        raise TransientError(reason, input=url)
    if 300 <= status < 400:
        reason += " (redirects are not followed: they could lead past the address check)"
    raise InputRejected(reason, input=url)
