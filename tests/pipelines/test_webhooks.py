"""Webhook signing (checked with the standardwebhooks verifier and by hand), delivery, SSRF."""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import json
import time

import httpx
import pytest
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from pipelines.errors import ConfigError, InputRejected, RateLimited, TransientError, UnsafeURL
from pipelines.netguard import check_url, unsafe_reason
from pipelines.webhooks import backoff, deliver, signed_headers, signing_key
from tests.receiver import Receiver

SECRET = "whsec_" + base64.b64encode(b"a test key of 32 bytes, roughly!").decode()
BODY = json.dumps({"subscription": "s", "record": {"id": "x", "title": "Ünïcode"}})


def _by_hand(secret_key: bytes, headers: dict[str, str], body: str) -> bool:
    """Standard Webhooks, independently: v1,base64(HMAC-SHA256(key, id.timestamp.body))."""
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.{body}".encode()
    expected = base64.b64encode(hmac.new(secret_key, signed, hashlib.sha256).digest()).decode()
    return f"v1,{expected}" in headers["webhook-signature"].split(" ")


def test_signature_verifies_with_the_reference_verifier_and_by_hand() -> None:
    now = int(time.time())
    headers = signed_headers(key=signing_key(SECRET), msg_id="msg_1", timestamp=now, body=BODY)
    assert Webhook(SECRET).verify(BODY, headers) == json.loads(BODY)
    assert _by_hand(b"a test key of 32 bytes, roughly!", headers, BODY)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET).verify(BODY.replace("x", "y"), headers)


def test_a_plain_secret_is_used_as_its_bytes() -> None:
    headers = signed_headers(key=signing_key("hunter2"), msg_id="m", timestamp=1, body="{}")
    assert _by_hand(b"hunter2", headers, "{}")


@pytest.mark.parametrize("secret", ["", "whsec_", "whsec_not*base64"])
def test_bad_secrets_are_refused(secret: str) -> None:
    with pytest.raises(ConfigError):
        signing_key(secret)


def test_backoff_grows_is_capped_and_honours_retry_after() -> None:
    assert 1.0 <= backoff(0, base=2, cap=600) <= 2.0
    assert 16.0 <= backoff(4, base=2, cap=600) <= 32.0
    assert backoff(30, base=2, cap=600) <= 600
    assert backoff(0, base=2, cap=600, retry_after=120) == 120
    assert backoff(0, base=2, cap=60, retry_after=120) == 60


def _deliver(receiver: Receiver, path: str, *, allow_private: bool = True) -> int:
    with httpx.Client(timeout=5, follow_redirects=False, trust_env=False) as client:
        return deliver(
            client,
            url=receiver.url(path),
            body=BODY,
            msg_id="msg_1",
            key=signing_key(SECRET),
            timestamp=int(time.time()),
            allow_private=allow_private,
        )


def test_delivery_posts_the_signed_body(receiver: Receiver) -> None:
    assert _deliver(receiver, "/ok") == 200
    (request,) = receiver.requests
    assert request.body.decode() == BODY
    assert request.headers["content-type"] == "application/json"
    assert Webhook(SECRET).verify(request.body, request.headers) == json.loads(BODY)


@pytest.mark.parametrize(
    ("status", "error"),
    [
        (500, TransientError),
        (503, TransientError),
        (408, TransientError),
        (429, TransientError),
        (404, InputRejected),
        (401, InputRejected),
        (302, InputRejected),
    ],
)
def test_status_codes_map_to_retry_or_rejection(receiver: Receiver, status, error) -> None:
    receiver.script["/x"] = [status]
    with pytest.raises(error) as caught:
        _deliver(receiver, "/x")
    assert f"HTTP {status}" in caught.value.reason
    assert caught.value.input == receiver.url("/x")


def test_a_refused_connection_is_transient() -> None:
    with httpx.Client(trust_env=False) as client, pytest.raises(TransientError):
        deliver(
            client,
            url="http://127.0.0.1:9/",  # discard port: nothing listens
            body="{}",
            msg_id="m",
            key=b"k",
            timestamp=1,
            allow_private=True,
        )


def test_retry_after_is_read(receiver: Receiver) -> None:
    receiver.script["/slow"] = [429]
    receiver.headers["/slow"] = {"Retry-After": "120"}
    with pytest.raises(RateLimited) as caught:
        _deliver(receiver, "/slow")
    assert caught.value.retry_after == 120
    receiver.script["/busy"] = [429]
    with pytest.raises(TransientError) as plain:
        _deliver(receiver, "/busy")
    assert not isinstance(plain.value, RateLimited)  # no Retry-After: our own backoff


def test_loopback_receiver_is_refused_unless_private_networks_are_allowed(
    receiver: Receiver,
) -> None:
    with pytest.raises(UnsafeURL, match="loopback"):
        _deliver(receiver, "/ok", allow_private=False)
    assert receiver.requests == []


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/",
        "http://localhost:8080/hook",
        "http://10.1.2.3/",
        "http://192.168.0.1/",
        "http://172.16.0.1/",
        "http://[::1]/",
        "http://[fe80::1]/",
        "http://[::ffff:127.0.0.1]/",
        "http://100.64.0.1/",
        "http://0.0.0.0/",
        "http://169.254.169.254/latest/meta-data/",
    ],
)
def test_internal_addresses_are_refused(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=False)


def test_metadata_is_refused_even_when_private_networks_are_allowed() -> None:
    with pytest.raises(UnsafeURL, match="metadata"):
        check_url("http://169.254.169.254/", allow_private=True)
    check_url("http://127.0.0.1:8000/hook", allow_private=True)


@pytest.mark.parametrize("url", ["ftp://example.org/", "file:///etc/passwd", "http:///x"])
def test_only_http_urls_with_a_host(url: str) -> None:
    with pytest.raises(UnsafeURL):
        check_url(url, allow_private=True)


def test_public_addresses_pass() -> None:
    check_url("https://93.184.215.14/hook", allow_private=False)  # literal: no DNS needed
    assert unsafe_reason(ipaddress.ip_address("2606:4700::1"), allow_private=False) is None
