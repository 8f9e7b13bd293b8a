"""Publish stage: idempotent XADD of tagged stories, and the dead-letter stream.

Takes a `redis.Redis` client; never builds one. One round trip per batch (a pipeline).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from .keys import Keys, as_text
from .record import Story

# Marking a story seen and appending it happen in one atomic step, so a crash between
# the two can neither lose the story (marked but not added) nor add it twice.
# The published counter (worker/metrics.py) moves in the same step.
_PUBLISH_ONCE = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  redis.call('HINCRBY', KEYS[3], 'published|new', 1)
  return redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[2], '*',
                    'id', ARGV[3], 'relevant', ARGV[4], 'topics', ARGV[5], 'record', ARGV[6])
end
redis.call('HINCRBY', KEYS[3], 'published|already_seen', 1)
return false
"""


@dataclass(frozen=True)
class Published:
    story_id: str
    entry_id: str | None  # None: already published earlier (a retry, a replay, a copy)

    @property
    def new(self) -> bool:
        return self.entry_id is not None


def stream_fields(story: Story) -> dict[str, str]:
    """The `tagged` stream entry of a story (CONTRACT.md: id, relevant, topics, record)."""
    return {
        "id": story.id,
        "relevant": "true" if story.relevant else "false",
        "topics": ",".join(t.label for t in story.topics),
        "record": story.to_json(),
    }


def publish(
    stories: Sequence[Story], *, client: redis.Redis, keys: Keys, maxlen: int, seen_ttl: int
) -> list[Published]:
    """Append each story to `tagged` unless its id was published before."""
    if not stories:
        return []
    script = client.register_script(_PUBLISH_ONCE)
    pipe = client.pipeline(transaction=False)
    for story in stories:
        fields = stream_fields(story)
        script(
            keys=[keys.seen_story(story.id), keys.tagged, keys.metrics],
            args=[
                seen_ttl,
                maxlen,
                fields["id"],
                fields["relevant"],
                fields["topics"],
                fields["record"],
            ],
            client=pipe,
        )
    replies = pipe.execute()
    return [
        Published(story.id, as_text(reply) if reply else None)
        for story, reply in zip(stories, replies, strict=True)
    ]


def dead_letter(
    *,
    client: redis.Redis,
    keys: Keys,
    maxlen: int,
    input: str,
    stage: str | None,
    error: str,
    error_type: str,
    payload: dict[str, Any] | None = None,
) -> str:
    """Record an input that failed for good, with what is needed to re-drive it."""
    entry: dict[str, str] = {
        "input": input,
        "stage": stage or "unknown",
        "error": error,
        "error_type": error_type,
        "failed_at": f"{time.time():.3f}",
    }
    if payload is not None:
        entry["payload"] = json.dumps(payload, ensure_ascii=False)
    pipe = client.pipeline(transaction=False)
    pipe.xadd(keys.dlq, entry, maxlen=maxlen, approximate=True)  # type: ignore[arg-type]
    # The failures counter (worker/metrics.py), by stage and reason.
    pipe.hincrby(keys.metrics, f"failures|{entry['stage']}|{error_type}", 1)
    return as_text(pipe.execute()[0])
