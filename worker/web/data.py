"""What the page reads from Redis: alert streams, stories, positions for resuming (no writes).

A position over every alert stream is one string, `NAME=ID,NAME=ID` (the SSE event id), so
a browser that reconnects with `Last-Event-ID` resumes after the last alert it showed in
each stream. A stream the position does not name (a subscription added since) is read from
its start.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import redis

from pipelines.alert_formats import summary
from pipelines.alerts import alert_json
from pipelines.keys import Keys, as_text
from pipelines.subscription_store import SubscriptionStore

_NAME = re.compile(r"^[A-Za-z0-9~][A-Za-z0-9_.-]{0,63}$")
_ENTRY_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
_STORY_ID = re.compile(r"^[A-Za-z0-9_.:-]{1,128}$")
# The story view scans `tagged` newest first in pages of this many entries.
_SCAN_PAGE = 500

Cursor = dict[str, str]


def parse_cursor(text: str | None) -> Cursor:
    """`NAME=ID,...` as a dict; malformed parts are dropped (the header comes from outside)."""
    out: Cursor = {}
    for part in (text or "").split(",")[:1000]:
        name, _, entry_id = part.strip().partition("=")
        if _NAME.match(name) and _ENTRY_ID.match(entry_id):
            out[name] = entry_id
    return out


def format_cursor(cursor: Cursor) -> str:
    return ",".join(f"{name}={entry_id}" for name, entry_id in sorted(cursor.items()))


def valid_story_id(story_id: str) -> bool:
    return bool(_STORY_ID.match(story_id))


def entry_time(entry_id: str) -> float:
    """The time a stream entry was added (its id's milliseconds), in seconds."""
    return int(entry_id.split("-", 1)[0]) / 1000


@dataclass
class Reader:
    """Reads for the page, on a client that decodes responses."""

    client: redis.Redis
    keys: Keys
    store: SubscriptionStore
    story_scan: int

    def subscription_names(self) -> list[str]:
        return sorted(s.name for s in self.store.current(self.client))

    def alert_entries(self, name: str, *, limit: int) -> list[dict[str, Any]]:
        """The newest alerts of one subscription as JSON objects, newest first."""
        rows: Any = self.client.xrevrange(self.keys.alerts(name), count=limit)
        return [_alert(entry_id, fields) for entry_id, fields in rows or []]

    def recent(self, *, limit: int) -> tuple[list[dict[str, Any]], Cursor]:
        """The newest alerts over every subscription (newest first), and the position after
        the newest of each stream: where a live stream of events starts."""
        found: list[dict[str, Any]] = []
        cursor: Cursor = {}
        for name in self.subscription_names():
            entries = self.alert_entries(name, limit=limit)
            cursor[name] = entries[0]["entry_id"] if entries else "0-0"
            found.extend(entries)
        found.sort(key=lambda a: _order(a["entry_id"]), reverse=True)
        return [summary(a) for a in found[:limit]], cursor

    def find_story(self, story_id: str, *, hint: str = "") -> dict[str, Any] | None:
        """The record of a story: from the alert entry `hint` names (`NAME=ENTRY_ID`, what
        the page's links carry) when it holds that story, else the newest in `tagged`, else
        in an alert stream; None if gone."""
        if not valid_story_id(story_id):
            return None
        for name, entry_id in parse_cursor(hint).items():
            rows: Any = self.client.xrange(self.keys.alerts(name), entry_id, entry_id)
            for row_id, fields in rows or []:
                alert = _alert(row_id, fields)
                if alert["story_id"] == story_id:
                    return dict(alert["record"])
        return self._scan(story_id)

    def _scan(self, story_id: str) -> dict[str, Any] | None:
        end, scanned = "+", 0
        while scanned < self.story_scan:
            page: Any = self.client.xrevrange(self.keys.tagged, max=end, count=_SCAN_PAGE)
            if not page:
                break
            for _entry_id, fields in page:
                if as_text(fields.get("id")) == story_id:
                    return dict(json.loads(fields["record"]))
            scanned += len(page)
            end = "(" + as_text(page[-1][0])
        for name in self.subscription_names():
            for alert in self.alert_entries(name, limit=self.story_scan // 10 or 1):
                if alert["story_id"] == story_id:
                    return dict(alert["record"])
        return None


def _alert(entry_id: Any, fields: dict[Any, Any]) -> dict[str, Any]:
    return alert_json(as_text(entry_id), {as_text(k): as_text(v) for k, v in fields.items()})


def _order(entry_id: str) -> tuple[int, int]:
    ms, _, seq = entry_id.partition("-")
    return int(ms), int(seq or 0)


def stream_reads(keys: Keys, names: Iterable[str], cursor: Cursor) -> dict[str, str]:
    """XREAD's streams argument: each subscription's stream from its position (or its start)."""
    return {keys.alerts(name): cursor.get(name, "0-0") for name in names}


def names_of(keys: Keys, stream_keys: Sequence[str]) -> dict[str, str]:
    """Stream key -> subscription name."""
    prefix = keys.alerts("")
    return {k: k[len(prefix) :] for k in stream_keys if k.startswith(prefix)}
