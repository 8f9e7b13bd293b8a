"""The dead-letter stream, drained: which task re-drives each entry, from its payload.

Every `dead_letter` call stores what is needed to try again (`payload`): an input of
`process_batch` (a file or page with its text), a feed entry of `fetch_article`, a webhook
or email delivery, or a whole message that kept killing its worker (`PoisonMessage`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import redis

from pipelines.keys import Keys, as_text


@dataclass(frozen=True)
class Entry:
    id: str
    fields: dict[str, str]

    @property
    def payload(self) -> dict[str, Any] | None:
        raw = self.fields.get("payload")
        return json.loads(raw) if raw else None


def redrive(entry: Entry) -> tuple[str, list[Any]] | None:
    """(task name, args) that runs this entry again; None when it holds nothing to re-run."""
    p = entry.payload
    if not p:
        return None
    if "task" in p and "args" in p:  # a poison message: the whole task, as it was
        return str(p["task"]), list(p["args"])
    if {"subscription", "entry_id", "url", "secret_env", "body"} <= p.keys():
        return "armswatch.deliver_webhook", [
            p["subscription"], p["entry_id"], p["url"], p["secret_env"], p["body"]
        ]  # fmt: skip
    if {"subscription", "entry_id", "to", "body"} <= p.keys():  # one email
        return "armswatch.deliver_email", [p["subscription"], p["entry_id"], p["to"], p["body"]]
    if {"subscription", "to", "entry_ids"} <= p.keys():  # a digest: whatever it has not sent
        return "armswatch.send_digest", [p["subscription"], p["to"]]
    if {"feed", "entry_id", "link"} <= p.keys():  # a feed entry: fetched afresh
        return "armswatch.fetch_article", [{**p, "attempt": 0}]
    if "raw" in p:  # a file or page with its text
        return "armswatch.process_batch", [[p]]
    return None


def entries(client: redis.Redis, keys: Keys, count: int | None = None) -> list[Entry]:
    """Oldest first."""
    rows = client.xrange(keys.dlq, count=count) or []
    return [
        Entry(as_text(i), {as_text(k): as_text(v) for k, v in (f or {}).items()}) for i, f in rows
    ]
