"""Webhook delivery by a real Celery worker to a real receiver on loopback: retries, DLQ."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from pathlib import Path

import pytest
import redis
import yaml
from celery.contrib.testing.worker import start_worker
from standardwebhooks.webhooks import Webhook

from pipelines.alerts import route
from pipelines.keys import WEBHOOK_GROUP, Keys
from pipelines.record import Evidence, Source, Story, Transfer
from tests.receiver import Receiver, wait_until
from worker.celery_app import create_app
from worker.settings import Settings
from worker.tasks import dispatch_webhooks, route_alerts

KEYS = Keys("armswatch:")
KEY = b"0123456789abcdef0123456789abcdef"
SECRET = "whsec_" + base64.b64encode(KEY).decode()


def _story(story_id: str = "story-1") -> Story:
    sentence = "Iran sent Shahed-136 drones to Russia."
    return Story(
        id=story_id,
        source=Source(kind="feed", url=f"https://news.example/{story_id}"),
        title="Drones",
        text=sentence,
        relevance=0.9,
        transfers=(
            Transfer(
                supplier="IR",
                recipient="RU",
                system_class="drone",
                status="delivered",
                confidence=0.8,
                evidence=(Evidence(sentence=sentence, start=0, end=len(sentence)),),
            ),
        ),
    )


@pytest.fixture
def hook_settings(
    redis_url: str,
    config_dir: Path,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> Settings:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    monkeypatch.delenv("TEST_HOOK_UNSET", raising=False)

    def sub(name: str, path: str, secret_env: str = "TEST_HOOK_SECRET") -> dict:
        hook = {"url": receiver.url(path), "secret_env": secret_env}
        return {"name": name, "match": {"suppliers": ["IR"]}, "deliver": {"webhook": hook}}

    subscriptions = [
        sub("flaky", "/flaky"),
        sub("down", "/down"),
        sub("no-secret", "/never", secret_env="TEST_HOOK_UNSET"),
        {"name": "no-hook", "match": {"suppliers": ["IR"]}},
    ]
    (config_dir / "subscriptions.yaml").write_text(yaml.safe_dump({"subscriptions": subscriptions}))
    return Settings.load(
        redis_url=redis_url,
        config_dir=config_dir,
        data_dir=tmp_path / "data",
        allow_private_networks=True,
        # Short retries for the test: three tries in all.
        webhook_max_retries=2,
        webhook_backoff_base=0.05,
        webhook_backoff_max=0.2,
    )


def _dead(client: redis.Redis) -> dict[str, dict]:
    return {json.loads(e["payload"])["subscription"]: e for _, e in client.xrange(KEYS.dlq)}


def test_webhooks_retry_then_deliver_once_or_dead_letter(
    hook_settings: Settings, redis_url: str, redis_client: redis.Redis, receiver: Receiver
) -> None:
    receiver.script["/flaky"] = [500, 503, 200]
    receiver.script["/down"] = [500]
    app = create_app(hook_settings, redis_url)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        alerts = route_alerts(app, [_story()])
        assert sorted(a.subscription for a in alerts) == ["down", "flaky", "no-hook", "no-secret"]
        assert wait_until(
            lambda: (
                len(_dead(redis_client)) == 2
                and any(r.path == "/flaky" and r.status == 200 for r in receiver.requests)
            )
        ), (receiver.requests, _dead(redis_client))
        # A replay routes nothing new, so nothing more is handed to the webhooks.
        assert route_alerts(app, [_story()]) == []
        assert dispatch_webhooks(app, app.armswatch.subscriptions.current(app.armswatch.redis)) == 0

    flaky = [r for r in receiver.requests if r.path == "/flaky"]
    assert [r.status for r in flaky] == [500, 503, 200]
    assert len({r.headers["webhook-id"] for r in flaky}) == 1  # one message, three tries
    delivered = flaky[-1]
    body = delivered.body.decode()
    # Valid by the reference verifier and by an independent HMAC.
    alert = Webhook(SECRET).verify(body, delivered.headers)
    signed = f"{delivered.headers['webhook-id']}.{delivered.headers['webhook-timestamp']}.{body}"
    digest = base64.b64encode(hmac.new(KEY, signed.encode(), hashlib.sha256).digest()).decode()
    assert delivered.headers["webhook-signature"] == f"v1,{digest}"
    assert alert["subscription"] == "flaky" and alert["kind"] == "new"
    assert alert["record"]["id"] == "story-1"
    assert alert["record"]["transfers"][0]["supplier"] == "IR"
    assert redis_client.exists(KEYS.seen_webhook("flaky", alert["entry_id"]))

    dead = _dead(redis_client)
    assert sorted(dead) == ["down", "no-secret"]
    assert [r.status for r in receiver.requests if r.path == "/down"] == [500, 500, 500]
    assert dead["down"]["stage"] == "deliver"
    assert dead["down"]["error"] == "gave up after 3 tries: HTTP 500 from the receiver"
    assert dead["down"]["input"].startswith("webhook down ")
    assert json.loads(json.loads(dead["down"]["payload"])["body"])["subscription"] == "down"
    assert "TEST_HOOK_UNSET" in dead["no-secret"]["error"]
    assert not any(r.path == "/never" for r in receiver.requests)
    # Everything handed on: no alert left pending in the outbox groups.
    for name in ("flaky", "down", "no-secret"):
        assert redis_client.xpending(KEYS.alerts(name), WEBHOOK_GROUP)["pending"] == 0


def test_an_unsafe_webhook_url_is_dead_lettered_without_a_request(
    hook_settings: Settings, redis_url: str, redis_client: redis.Redis, receiver: Receiver
) -> None:
    settings = hook_settings.model_copy(update={"allow_private_networks": False})
    app = create_app(settings, redis_url)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        route_alerts(app, [_story()])
        assert wait_until(lambda: len(_dead(redis_client)) == 3), _dead(redis_client)
    dead = _dead(redis_client)
    assert "loopback" in dead["flaky"]["error"] and dead["flaky"]["error_type"] == "UnsafeURL"
    assert receiver.requests == []


def test_an_alert_taken_but_never_handed_on_is_reclaimed(
    hook_settings: Settings, redis_url: str, redis_client: redis.Redis, receiver: Receiver
) -> None:
    """The outbox: a worker that died between reading an alert and enqueuing its delivery."""
    settings = hook_settings.model_copy(update={"webhook_reclaim_seconds": 0})
    app = create_app(settings, redis_url)
    subs = app.armswatch.subscriptions.current(app.armswatch.redis)
    flaky = [s for s in subs if s.name == "flaky"]
    route([_story()], flaky, client=redis_client, keys=KEYS, maxlen=100, seen_ttl=60,
          webhook_group=WEBHOOK_GROUP)  # fmt: skip
    # The dying worker read it from the outbox group and never enqueued nor acknowledged it.
    redis_client.xreadgroup(WEBHOOK_GROUP, "dispatcher", {KEYS.alerts("flaky"): ">"})
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        assert dispatch_webhooks(app, flaky) == 1
        assert wait_until(lambda: any(r.status == 200 for r in receiver.requests))
    assert [r.path for r in receiver.requests] == ["/flaky"]


def test_the_webhook_client_checks_the_address_it_connects_to(
    settings: Settings, redis_url: str, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A receiver name that passed the check and then resolves to a private address (DNS
    rebinding) is refused when connecting, and nothing is sent."""
    import pipelines.webhooks
    from pipelines.errors import UnsafeURL
    from pipelines.webhooks import deliver, signing_key
    from worker.context import Context

    monkeypatch.setattr(pipelines.webhooks, "check_url", lambda url, allow_private: None)
    ctx = Context(settings=settings.model_copy(update={"allow_private_networks": False}),
                  redis_url=redis_url)  # fmt: skip
    with pytest.raises(UnsafeURL, match="loopback"):
        deliver(ctx.http, url=receiver.url("/hook"), body="{}", msg_id="m",
                key=signing_key("whsec_" + base64.b64encode(b"k" * 24).decode()),
                timestamp=1, allow_private=False)  # fmt: skip
    assert receiver.requests == []
    ctx.http.close()


def test_slack_and_teams_formats_are_posted_signed(
    redis_url: str,
    config_dir: Path,
    tmp_path: Path,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("TEST_HOOK_SECRET", SECRET)
    subs = [
        {"name": fmt, "match": {"suppliers": ["IR"]},
         "deliver": {"webhook": {"url": receiver.url(f"/{fmt}"), "secret_env": "TEST_HOOK_SECRET",
                                 "format": fmt}}}
        for fmt in ("slack", "teams")
    ]  # fmt: skip
    (config_dir / "subscriptions.yaml").write_text(yaml.safe_dump({"subscriptions": subs}))
    settings = Settings.load(redis_url=redis_url, config_dir=config_dir,
                             data_dir=tmp_path / "data", allow_private_networks=True)  # fmt: skip
    app = create_app(settings, redis_url)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        route_alerts(app, [_story()])
        assert wait_until(lambda: len(receiver.requests) == 2), receiver.requests
    # Signed like every webhook; verify() returns the body it checked.
    bodies = {r.path: Webhook(SECRET).verify(r.body.decode(), r.headers) for r in receiver.requests}
    assert bodies["/slack"]["text"] == "[slack] Drones"
    assert bodies["/slack"]["blocks"][1]["text"]["text"].startswith("*IR -&gt; RU  drone")
    card = bodies["/teams"]["attachments"][0]["content"]
    assert card["type"] == "AdaptiveCard" and card["body"][0]["text"] == "Drones"
