"""`armswatch dlq`: every kind of dead letter is re-driven by the task that failed it."""

from __future__ import annotations

import base64
import json

import redis

from pipelines.keys import Keys
from pipelines.publish import dead_letter
from pipelines.record import Source, Story, to_payload

KEYS = Keys("armswatch:")


def _letter(client: redis.Redis, stage: str, payload: dict | None) -> str:
    return dead_letter(client=client, keys=KEYS, maxlen=1000, input=f"in-{stage}", stage=stage,
                       error="boom", error_type="X", payload=payload)  # fmt: skip


def test_retry_requeues_each_kind_with_its_task_and_keeps_the_rest(
    run, redis_client: redis.Redis
) -> None:
    story = to_payload(Story(source=Source(kind="file", path="a.txt"), raw="Some text."))
    job = {"feed": "wire", "entry_id": "e1", "link": "https://x.example/a", "url": "https://x.example/a", "attempt": 3}  # fmt: skip
    hook = {"subscription": "s", "entry_id": "1-0", "url": "https://h.example", "secret_env": "S", "body": "{}"}  # fmt: skip
    poison = {"task": "armswatch.process_batch", "args": [[story]], "kwargs": {}}
    _letter(redis_client, "clean", story)
    _letter(redis_client, "fetch", job)
    _letter(redis_client, "deliver", hook)
    _letter(redis_client, "worker", poison)
    kept = _letter(redis_client, "publish", None)

    listed = [json.loads(line) for line in run("dlq", "list", "--json").output.splitlines()]
    assert [e["redrive"] for e in listed] == [
        "armswatch.process_batch",
        "armswatch.fetch_article",
        "armswatch.deliver_webhook",
        "armswatch.process_batch",
        None,
    ]

    result = run("dlq", "retry", "--all")
    assert result.exit_code == 0 and "re-queued 4; left 1" in result.output
    messages = [json.loads(m) for m in redis_client.lrange("armswatch", 0, -1)]
    tasks = sorted(m["headers"]["task"] for m in messages)
    assert tasks == sorted(e["redrive"] for e in listed if e["redrive"])
    fetch = next(m for m in messages if m["headers"]["task"] == "armswatch.fetch_article")
    args, _kwargs, _embed = json.loads(base64.b64decode(fetch["body"]))
    assert args == [{**job, "attempt": 0}]  # fetched afresh: its retry count starts again
    assert [i for i, _ in redis_client.xrange("armswatch:dlq")] == [kept]


def test_retry_by_id_and_stage_and_purge(run, redis_client: redis.Redis) -> None:
    story = to_payload(Story(source=Source(kind="file", path="a.txt"), raw="Some text."))
    first = _letter(redis_client, "clean", story)
    _letter(redis_client, "extract", story)
    assert run("dlq", "retry", "--all", "--stage", "clean").exit_code == 0
    assert redis_client.xlen("armswatch:dlq") == 1 and redis_client.llen("armswatch") == 1
    missing = run("dlq", "retry", first)
    assert missing.exit_code == 1 and f"no dead letter {first}" in missing.output
    assert run("dlq", "purge").exit_code == 2
    assert run("dlq", "purge", "--yes").exit_code == 0
    assert redis_client.xlen("armswatch:dlq") == 0
