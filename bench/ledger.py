"""The transfer ledger's cost per story, measured on the stories a bench corpus published.

armswatch:tagged (as the corpus left it) -> `rebuild` (forget the ledger, project every
story again through the consumer group and the Lua apply, batched as the worker does)
-> milliseconds per story, best of a few rounds; and the pure part alone (reports +
merge, no Redis) for comparison. Called by bench/run.py; timing is never a test.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from pipelines.keys import Keys
from pipelines.ledger import rebuild, reports
from pipelines.ledger.model import Told, merge

ROUNDS = 3


def measure(client: redis.Redis, keys: Keys, *, maxlen: int) -> dict[str, Any]:
    """Milliseconds per tagged story for the whole projection, and for its pure part."""
    entries = client.xrange(keys.tagged)
    stories = [(_text(i), Told.model_validate_json(f[b"record"])) for i, f in entries]
    with_transfers = sum(1 for _, s in stories if s.transfers)
    whole: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        done = rebuild(client, keys, consumer="bench", maxlen=maxlen)
        whole.append(time.perf_counter() - started)
        assert done.read == len(stories), "the rebuild read every tagged story"
    pure: list[float] = []
    for _ in range(ROUNDS):
        started = time.perf_counter()
        states: dict[str, dict[str, Any]] = {}
        for tagged_id, story in stories:
            for r in reports(story, tagged_id):
                states[r.entry], _ = merge(states.get(r.entry), r)
                json.dumps(states[r.entry])  # as the store serialises it
        pure.append(time.perf_counter() - started)
    n = max(1, len(stories))
    return {
        "stories": len(stories),
        "stories_with_transfers": with_transfers,
        "entries": client.hlen(keys.ledger_entries),
        "ms_per_story": round(min(whole) * 1000 / n, 4),
        "ms_per_story_pure": round(min(pure) * 1000 / n, 4),
        "rounds_seconds": [round(t, 4) for t in whole],
    }


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def main() -> int:
    """Tag the all-relevant corpus, publish it, and print the ledger's cost per story."""
    from pipelines.clean import default_rules
    from pipelines.pipeline import process
    from pipelines.publish import publish
    from pipelines.tag import load_tagger
    from worker.redis_server import EmbeddedRedis

    from .corpus import all_relevant

    results = process([i.story() for i in all_relevant(200)], tagger=load_tagger(),
                      rules=default_rules())  # fmt: skip
    stories = [s for r in results for s in r.stories]
    with tempfile.TemporaryDirectory(prefix="armswatch-ledger-bench-") as tmp:
        server = EmbeddedRedis(Path(tmp))
        client = redis.Redis.from_url(server.start())
        try:
            keys = Keys()
            publish(stories, client=client, keys=keys, maxlen=10**6, seen_ttl=3600)
            print(json.dumps(measure(client, keys, maxlen=10**6), indent=2))
        finally:
            client.close()
            server.stop()
    print(f"load average (1 min): {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return 0


if __name__ == "__main__":
    sys.exit(main())
