"""worker/kombu_internals.py: the kombu and Celery internals armswatch relies on are where
that module says, on a real Redis broker, for the versions it was checked against."""

from __future__ import annotations

import json
from importlib.metadata import version

import pytest
import redis
from celery import Task
from celery.exceptions import Reject, Retry

from pipelines.errors import TransientError
from pipelines.keys import Keys
from worker import kombu_internals as internals
from worker.celery_app import create_app
from worker.settings import Settings

TASK = "armswatch.process_batch"


@pytest.mark.parametrize("package", sorted(internals.CHECKED))
def test_the_installed_version_is_the_one_the_internals_were_checked_against(
    package: str,
) -> None:
    installed, checked = version(package), internals.CHECKED[package]
    assert installed == checked, (
        f"{package} {installed} is installed; worker/kombu_internals.py was checked against "
        f"{package} {checked}. Re-read the places its docstring names in {package} "
        f"{installed}, run tests/worker/test_kombu_internals.py, then update CHECKED."
    )


def _app(settings: Settings, redis_url: str):
    app = create_app(settings, redis_url)
    app.conf.task_publish_retry = False  # the failed send below fails at once
    return app


def test_queued_messages_are_lists_by_priority_with_the_task_id_in_their_headers(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    app = _app(settings, redis_url)
    sent = {p: app.send_task(TASK, args=[[]], priority=p).id for p in (0, 3, 6, 9)}
    for key, priority in zip(internals.QUEUES, (0, 3, 6, 9), strict=True):
        (raw,) = redis_client.lrange(key, 0, -1)
        assert json.loads(raw)["headers"]["id"] == sent[priority]
    pipe = redis_client.pipeline(transaction=True)
    internals.read_broker(pipe)
    assert internals.broker_ids(pipe.execute()) == set(sent.values())
    app.close()


def test_a_taken_message_is_in_the_unacked_hash_until_acknowledged(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    app = _app(settings, redis_url)
    task_id = app.send_task(TASK, args=[[]]).id
    with app.connection_for_read() as conn:
        message = conn.default_channel.basic_get(internals.QUEUE, no_ack=False)
        assert redis_client.llen(internals.QUEUE) == 0
        [stored] = redis_client.hvals(internals.UNACKED)
        body, _exchange, routing_key = json.loads(stored)  # [message, exchange, routing key]
        assert routing_key == internals.QUEUE and body["headers"]["id"] == task_id
        assert internals.message_ids([], [stored]) == {task_id}
        message.ack()
        assert redis_client.hlen(internals.UNACKED) == 0
    app.close()


def test_celery_drops_a_retry_it_cannot_send_and_we_requeue_it(
    settings: Settings, redis_url: str
) -> None:
    # A broker that is away: the retry's send fails (kombu's OperationalError).
    app = _app(settings, "redis://127.0.0.1:1/0")
    # Give up on the absent server after a try, not after the worker's patient retries.
    app.conf.result_backend_transport_options = {"retry_policy": {"timeout": 0.5}}
    app.conf.broker_transport_options = {**app.conf.broker_transport_options, "max_retries": 1}
    task = app.tasks[TASK]
    task.push_request(
        id="t-1", args=[[]], kwargs={}, retries=0, is_eager=False, called_directly=False
    )
    try:
        with pytest.raises(Reject) as dropped:  # Celery's own Task.retry
            Task.retry(task, exc=TransientError("x"), countdown=0)
        assert dropped.value.requeue is False  # type: ignore[attr-defined]
        with pytest.raises(Reject) as handed_back:  # ours (worker/celery_app.py)
            task.retry(exc=TransientError("x"), countdown=0)
        assert handed_back.value.requeue is True  # type: ignore[attr-defined]
    finally:
        task.pop_request()
        app.close()


def test_a_retry_is_sent_through_apply_async_with_its_count(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    # The ledger of sent messages (worker/ledger.py) writes a retry down in apply_async.
    app = _app(settings, redis_url)
    task = app.tasks["armswatch.deliver_webhook"]  # a ledgered task
    args = ["sub", "1-0", "http://127.0.0.1:9/", "SECRET", "{}"]
    task.push_request(
        id="t-3", args=args, kwargs={}, retries=0, is_eager=False, called_directly=False
    )
    try:
        with pytest.raises(Retry):
            task.retry(exc=TransientError("x"), countdown=0)
    finally:
        task.pop_request()
    [raw] = redis_client.hvals(Keys().sent_messages)
    assert json.loads(raw) == {"task": task.name, "args": args, "kwargs": {}, "retries": 1}
    (queued,) = redis_client.lrange(internals.QUEUE, 0, -1)
    assert json.loads(queued)["headers"]["retries"] == 1
    app.close()


def test_a_task_result_is_kept_at_the_result_key(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    app = _app(settings, redis_url)
    app.backend.store_result("t-2", [1], "SUCCESS")
    stored = json.loads(redis_client.get(internals.result_key(app.backend, "t-2")))
    assert stored["task_id"] == "t-2" and stored["result"] == [1]
    app.close()
