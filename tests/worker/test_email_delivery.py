"""Email delivery by a real Celery worker to a loopback SMTP server: once, retries, DLQ, digests."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import redis
import yaml
from celery.contrib.testing.worker import start_worker

from pipelines.keys import DIGEST_GROUP, EMAIL_GROUP, Keys
from tests.receiver import wait_until
from tests.smtp import smtp_server
from tests.web.conftest import make_story
from worker.celery_app import create_app
from worker.dlq import Entry, redrive
from worker.mail_tasks import beat_digests, dispatch_email, enqueue_due_digests
from worker.settings import Settings
from worker.tasks import route_alerts

KEYS = Keys("armswatch:")
DAY = 1_577_836_800.0  # 2020-01-01 00:00 UTC: a day the real clock is not on


def _settings(redis_url: str, config_dir: Path, tmp_path: Path, port: int) -> Settings:
    subs = [
        {
            "name": "each",
            "match": {"suppliers": ["IR"]},
            "deliver": {"email": {"to": ["desk@example.org", "bad@example.org"]}},
        },
        {
            "name": "daily",
            "match": {"suppliers": ["IR"]},
            "deliver": {"email": {"to": "chief@example.org", "mode": "digest"}},
        },
    ]
    (config_dir / "subscriptions.yaml").write_text(yaml.safe_dump({"subscriptions": subs}))
    return Settings.load(
        redis_url=redis_url,
        config_dir=config_dir,
        data_dir=tmp_path / "data",
        smtp_host="127.0.0.1",
        smtp_port=port,
        smtp_starttls=False,
        smtp_from="armswatch@example.org",
        email_digest_hour=7,
        webhook_max_retries=2,
        webhook_backoff_base=0.05,
        webhook_backoff_max=0.2,
    )


def _dead(client: redis.Redis) -> list[dict]:
    return [e for _, e in client.xrange(KEYS.dlq)]


def test_one_message_per_alert_once_and_a_daily_digest(
    redis_url: str, config_dir: Path, tmp_path: Path, redis_client: redis.Redis
) -> None:
    with smtp_server() as box:
        settings = _settings(redis_url, config_dir, tmp_path, box.port)
        app = create_app(settings, redis_url)
        # Every dispatch also looks for due digests by the real clock: today's is taken here,
        # so that only the test's own day sends one.
        for when in (time.time(), time.time() + 86400):
            day = datetime.fromtimestamp(when, tz=UTC).strftime("%Y-%m-%d")
            redis_client.set(KEYS.digest_claim("daily", day), "1")
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            stories = [
                make_story(f"s{i}", title=f"Story {i}", sentence=f"Iran sent drones ({i}).")
                for i in (1, 2)
            ]
            assert len(route_alerts(app, stories)) == 4
            assert wait_until(lambda: len(box.messages) == 2), box.messages
            # A replay alerts nothing, so nothing more is sent.
            assert route_alerts(app, stories) == []
            subs = app.armswatch.subscriptions.current(app.armswatch.redis)
            assert dispatch_email(app, subs) == 0
            # Before the digest hour nothing; at it, one digest, once, whoever asks first.
            assert enqueue_due_digests(app, subs, now=DAY + 6 * 3600) == []
            assert enqueue_due_digests(app, subs, now=DAY + 7 * 3600) == ["daily"]
            assert enqueue_due_digests(app, subs, now=DAY + 9 * 3600) == []
            assert beat_digests(app) == []  # the beat's look: today's was taken above
            assert wait_until(lambda: len(box.messages) == 3), box.messages
    each = [m for m in box.messages if "digest" not in m["subject"]]
    assert sorted(m["subject"] for m in each) == [
        "[armswatch each] Story 1",
        "[armswatch each] Story 2",
    ]
    assert all(m["to"] == "desk@example.org, bad@example.org" for m in each)
    (digest,) = [m for m in box.messages if "digest" in m["subject"]]
    assert digest["subject"] == "[armswatch daily] digest: 2 alerts"
    assert digest["to"] == "chief@example.org"
    for name, group in (("each", EMAIL_GROUP), ("daily", DIGEST_GROUP)):
        assert redis_client.xpending(KEYS.alerts(name), group)["pending"] == 0
    assert _dead(redis_client) == []


def test_refused_and_unreachable_mail_is_dead_lettered_and_can_be_retried(
    redis_url: str, config_dir: Path, tmp_path: Path, redis_client: redis.Redis
) -> None:
    with smtp_server() as box:
        box.refuse["bad@example.org"] = "550 5.1.1 no such user"
        settings = _settings(redis_url, config_dir, tmp_path, box.port)
        app = create_app(settings, redis_url)
        with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
            route_alerts(app, [make_story("s1", title="Story", sentence="Iran sent drones.")])
            assert wait_until(lambda: len(_dead(redis_client)) == 1 and len(box.messages) == 2)
        (dead,) = _dead(redis_client)
        assert dead["stage"] == "deliver" and dead["error_type"] == "InputRejected"
        assert "bad@example.org (550" in dead["error"]
        assert dead["input"].startswith("email each ")
        # Sent to the recipient the server took; the dead letter is addressed to the other.
        assert [to for _, to in box.envelopes] == [["desk@example.org"], ["chief@example.org"]]
        task, args = redrive(Entry("0-1", dead)) or ("", [])
        assert task == "armswatch.deliver_email" and args[2] == ["bad@example.org"]
    # The server gone: retried (three tries), then dead-lettered with the reason.
    settings = settings.model_copy(update={"smtp_port": box.port})
    app = create_app(settings, redis_url)
    redis_client.delete(KEYS.dlq)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        app.tasks["armswatch.deliver_email"].delay(*args)
        assert wait_until(lambda: len(_dead(redis_client)) == 1, timeout=30)
    (dead,) = _dead(redis_client)
    assert dead["error"].startswith("gave up after 3 tries: ConnectionRefusedError")
    assert json.loads(dead["payload"])["to"] == ["bad@example.org"]
