"""Reliability settings: countdowns inside the visibility timeout, poison messages stopped."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from celery.contrib.testing.worker import start_worker

from pipelines.errors import ConfigError
from pipelines.record import Source, Story, to_payload
from tests.processes import free_port
from worker.celery_app import ArmswatchTask, create_app
from worker.context import Context
from worker.replay import enqueue, lost_messages, wait_for
from worker.settings import Settings
from worker.tasks import process_batch

SEED = Path(__file__).resolve().parents[2] / "seeds"


def test_a_visibility_timeout_shorter_than_a_countdown_plus_a_run_is_refused(
    config_dir: Path,
) -> None:
    with pytest.raises(ConfigError) as caught:
        Settings.load(
            config_dir=config_dir,
            visibility_timeout_seconds=600,
            max_countdown_seconds=500,
            task_time_limit=180,
        )
    assert "visibility_timeout_seconds (600)" in str(caught.value)
    assert "680" in str(caught.value)
    Settings.load(config_dir=config_dir, visibility_timeout_seconds=681, max_countdown_seconds=500)


def test_a_soft_limit_must_leave_time_before_the_hard_one(config_dir: Path) -> None:
    with pytest.raises(ConfigError, match="task_soft_time_limit"):
        Settings.load(config_dir=config_dir, task_soft_time_limit=200, task_time_limit=180)


def test_countdowns_are_cut_to_the_maximum(settings: Settings) -> None:
    assert settings.countdown(6 * 3600) == settings.max_countdown_seconds
    assert settings.countdown(12.5) == 12.5
    assert settings.countdown(-3) == 0.0


def test_the_celery_app_carries_the_reliability_settings(
    settings: Settings, redis_url: str
) -> None:
    app = create_app(settings, redis_url)
    conf = app.conf
    assert conf.task_acks_late and conf.task_reject_on_worker_lost
    assert conf.worker_prefetch_multiplier == 1
    assert conf.broker_connection_max_retries is None
    assert conf.worker_max_tasks_per_child == settings.worker_max_tasks_per_child
    transport = conf.broker_transport_options
    assert transport["visibility_timeout"] == settings.visibility_timeout_seconds
    assert transport["visibility_timeout"] > settings.max_countdown_seconds + conf.task_time_limit
    # kombu's own channel reads them (a misspelt option would be ignored silently).
    with app.connection_for_write() as connection:
        channel = connection.default_channel
        assert channel.visibility_timeout == settings.visibility_timeout_seconds
        assert channel.unacked_mutex_expire == settings.restore_lock_seconds
        assert channel.unacked_restore_interval == settings.restore_interval_seconds
    app.close()


def _payloads(name: str) -> list[dict]:
    path = next(SEED.glob("*.txt"))
    story = Story(source=Source(kind="file", path=f"{name}/{path.name}"), raw=path.read_text())
    return [to_payload(story)]


def test_a_message_that_keeps_killing_its_worker_is_dead_lettered_not_run_again(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    app = create_app(settings, redis_url)
    task = app.tasks[process_batch.name]
    # This message was started max_deliveries times already, and its worker died each time.
    redis_client.set("armswatch:deliveries:poison-1:0", settings.max_deliveries)
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        poisoned = task.apply_async(args=(_payloads("poison"),), task_id="poison-1")
        assert poisoned.get(timeout=60) is None
        assert redis_client.xlen("armswatch:tagged") == 0
        # A message started fewer times runs as usual.
        redis_client.set("armswatch:deliveries:healthy-1:0", settings.max_deliveries - 1)
        healthy = task.apply_async(args=(_payloads("healthy"),), task_id="healthy-1")
        assert healthy.get(timeout=120)[0]["error"] is None
    del poisoned, healthy
    app.close()

    assert redis_client.xlen("armswatch:tagged") >= 1
    [(_, entry)] = redis_client.xrange("armswatch:dlq")
    assert entry["error_type"] == "PoisonMessage" and entry["stage"] == "worker"
    assert f"started {settings.max_deliveries} times" in entry["error"]
    payload = json.loads(entry["payload"])
    assert payload["task"] == "armswatch.process_batch"
    assert payload["args"][0] == _payloads("poison")  # what is needed to re-drive it


def test_replay_sends_again_a_message_the_broker_lost(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    app = create_app(settings, redis_url)
    batches = [_payloads(f"batch-{n}") for n in range(3)]
    task_ids = enqueue(app, batches)
    assert lost_messages(app, task_ids) == set()
    # A worker took the oldest message (BRPOP) and was killed before recording it as taken.
    lost_id = json.loads(redis_client.rpop("armswatch"))["headers"]["id"]
    assert lost_messages(app, task_ids) == {lost_id}
    # One taken and recorded (kombu's unacked hash) is not lost: it comes back by itself.
    taken = redis_client.rpop("armswatch")
    redis_client.hset("unacked", "tag-1", json.dumps([json.loads(taken), "", "armswatch"]))
    assert lost_messages(app, task_ids) == {lost_id}
    redis_client.delete("unacked")
    redis_client.rpush("armswatch", taken)

    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        tasks = dict(zip(task_ids, batches, strict=True))
        done = list(
            wait_for(app, tasks, poll_seconds=0.1, idle_timeout=120, lost_check_seconds=0.5)
        )
    app.close()
    assert sorted(d.task_id for d in done) == sorted(task_ids)
    assert all(d.error is None and d.summaries for d in done)
    assert redis_client.xlen("armswatch:tagged") == 1  # the same text each time: one story


def test_a_task_started_while_redis_is_away_runs_instead_of_failing_outside_its_retries(
    settings: Settings, redis_url: str
) -> None:
    app = create_app(settings, redis_url)

    @app.task(bind=True, base=ArmswatchTask, name="armswatch.test_noop")
    def noop(self: ArmswatchTask) -> str:
        return "ran"

    # The delivery count goes to a Redis that refuses connections (restarting, say).
    app.armswatch = Context(settings=settings, redis_url=f"redis://127.0.0.1:{free_port()}/0")
    noop.push_request(id="away-1", retries=0, is_eager=False)
    try:
        assert noop() == "ran"
    finally:
        noop.pop_request()
        app.close()
