"""A real Celery worker (solo pool) on the Redis broker runs the replay task."""

from __future__ import annotations

import json

import redis
from celery.contrib.testing.worker import start_worker

from pipelines.record import Source, Story, to_payload
from tests.conftest import SEEDS
from worker.celery_app import create_app
from worker.settings import Settings
from worker.tasks import process_batch


def test_worker_processes_a_batch_from_the_broker(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    app = create_app(settings, redis_url)
    payloads = [
        to_payload(Story(source=Source(kind="file", path=str(p)), raw=p.read_text("utf-8")))
        for p in sorted(SEEDS.glob("*.txt"))
    ]
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        result = app.tasks[process_batch.name].delay(payloads)
        summaries = result.get(timeout=240)
    assert [len(s["stories"]) for s in summaries] == [1, 2, 1, 1]
    assert all(st["new"] for s in summaries for st in s["stories"])
    records = [json.loads(f["record"]) for _, f in redis_client.xrange("armswatch:tagged")]
    assert {r["id"] for r in records} == {st["id"] for s in summaries for st in s["stories"]}
    # The message was acknowledged after the task ran: nothing left in the queue.
    assert redis_client.llen("armswatch") == 0
    # The same task applied the stories to the transfer ledger.
    assert redis_client.hexists("armswatch:ledger:entries", "KP:RU:missile:transfer")
    assert redis_client.scard("armswatch:ledger:applied") == 5
