"""Publishing on a real Redis: idempotent by story id, contract fields, the DLQ."""

from __future__ import annotations

import json

import redis

from pipelines.keys import Keys
from pipelines.publish import dead_letter, publish
from pipelines.record import Source, Story, Topic

KEYS = Keys("armswatch:")


def _story(n: int, relevant: bool = True) -> Story:
    return Story(
        id=f"story-{n:04d}",
        source=Source(kind="file", path=f"{n}.txt"),
        title="t",
        text=f"text {n}",
        relevant=relevant,
        topics=(Topic(label="drone_transfer", score=0.9),) if relevant else (),
    )


def test_publishing_twice_adds_nothing(redis_client: redis.Redis) -> None:
    stories = [_story(1), _story(2, relevant=False)]
    first = publish(stories, client=redis_client, keys=KEYS, maxlen=1000, seen_ttl=60)
    second = publish(stories, client=redis_client, keys=KEYS, maxlen=1000, seen_ttl=60)
    assert [p.new for p in first] == [True, True]
    assert [p.new for p in second] == [False, False]
    entries = redis_client.xrange(KEYS.tagged)
    assert len(entries) == 2
    fields = entries[0][1]
    assert fields["id"] == "story-0001"
    assert fields["relevant"] == "true"
    assert fields["topics"] == "drone_transfer"
    assert json.loads(fields["record"])["id"] == "story-0001"
    assert entries[1][1]["relevant"] == "false"
    assert 0 < redis_client.ttl(KEYS.seen_story("story-0001")) <= 60


def test_stream_is_trimmed_approximately(redis_client: redis.Redis) -> None:
    publish(
        [_story(n) for n in range(600)], client=redis_client, keys=KEYS, maxlen=100, seen_ttl=60
    )
    assert 100 <= redis_client.xlen(KEYS.tagged) < 600


def test_dead_letter_entry(redis_client: redis.Redis) -> None:
    dead_letter(
        client=redis_client,
        keys=KEYS,
        maxlen=100,
        input="bad.bin",
        stage="decode",
        error="binary content",
        error_type="InputRejected",
        payload={"raw": "x"},
    )
    ((_, entry),) = redis_client.xrange(KEYS.dlq)
    assert entry["input"] == "bad.bin" and entry["stage"] == "decode"
    assert entry["error"] == "binary content"
    assert json.loads(entry["payload"]) == {"raw": "x"}
