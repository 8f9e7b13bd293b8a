"""The transfer ledger in Redis: applying tagged stories once, reading entries back.

    armswatch:tagged --(group "ledger", one consumer per process)--> project()
      read      own pending entries first (a process that died mid-batch), then entries other
                consumers left pending past `reclaim_ms`, then new ones
      apply     Lua, one call per story: unless the story id is in `ledger:applied`, and each
                entry it touches is still what the merge was computed from (its SHA-1; else
                re-read and merge again), write the entries, their indexes, the applied
                marker and one `ledger:changes` entry listing what changed, all at once
      ack       only after the apply: a process killed in between leaves the entry pending,
                and applying it again changes nothing (the marker)

Keys are in pipelines/keys.py (`ledger_*`). Reads: `query_entries`, `get_entry`.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import redis
import structlog
from pydantic import ValidationError

from ..alerts import Entry, GroupReader
from ..errors import TransientError
from ..keys import LEDGER_GROUP, Keys, as_text
from ..publish import dead_letter
from .model import Report, Told, entry_view, merge, parent_id, reports, status_of

log = structlog.get_logger("armswatch.ledger")

_APPLY_ONCE = """
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then
  return 'applied'
end
local n = tonumber(ARGV[2])
local a = 6
for i = 1, n do
  local current = redis.call('HGET', KEYS[2], ARGV[a])
  if (current and redis.sha1hex(current) or '') ~= ARGV[a + 1] then
    return 'conflict'
  end
  a = a + 7
end
a = 6
local k = 6
for i = 1, n do
  local id = ARGV[a]
  redis.call('HSET', KEYS[2], id, ARGV[a + 2])
  redis.call('ZADD', KEYS[4], ARGV[a + 3], id)
  redis.call('ZADD', KEYS[5], ARGV[a + 4], id)
  for j = 1, tonumber(ARGV[a + 5]) do
    redis.call('SREM', KEYS[k], id)
    k = k + 1
  end
  for j = 1, tonumber(ARGV[a + 6]) do
    redis.call('SADD', KEYS[k], id)
    k = k + 1
  end
  a = a + 7
end
redis.call('SADD', KEYS[1], ARGV[1])
if ARGV[3] ~= '' then
  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',
    'story_id', ARGV[1], 'tagged_id', ARGV[5], 'changes', ARGV[3], 'record', ARGV[#ARGV])
end
return 'ok'
"""

# Concurrent workers touching one entry make the compare-and-set fail; each retry re-reads,
# after a jittered pause (then the task's own retry takes over, the entries still pending).
_ATTEMPTS = 12
_BATCH = 200
# Stories one call applies at most (about a second): the stage after publish must not hold
# a task past its time limit when it first meets a long stream.
LIMIT = 2000


@dataclass
class Projection:
    """What one call of `project` did."""

    read: int = 0  # tagged entries taken from the stream
    applied: int = 0  # stories applied now (not before)
    changes: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class _Item:
    tagged_id: str
    story: Told
    record: str
    reports: tuple[Report, ...]


def _dump(state: dict[str, Any]) -> str:
    return json.dumps(state, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def project(
    client: redis.Redis,
    keys: Keys,
    *,
    consumer: str,
    maxlen: int,
    reclaim_ms: int = 60_000,
    record_changes: bool = True,
    batch: int = _BATCH,
    limit: int | None = LIMIT,
) -> Projection:
    """Apply the tagged stories this group has not applied yet (at most `limit` in one call:
    a backlog is worked off by the calls that follow); acknowledge each after."""
    reader = GroupReader(client, keys.tagged, LEDGER_GROUP, consumer)
    reader.ensure(start="0")
    done = Projection()

    def drain(take: Callable[[int], list[Entry]]) -> None:
        while (room := batch if limit is None else min(batch, limit - done.read)) > 0:
            entries = take(room)
            if entries:
                _handle(reader, entries, keys=keys, maxlen=maxlen, changes=record_changes,
                        into=done)  # fmt: skip
            if len(entries) < room:
                return

    drain(lambda n: reader.own_pending(count=n))
    drain(lambda n: reader.reclaim(min_idle_ms=reclaim_ms, count=n))
    drain(lambda n: reader.read(count=n, block_ms=None))
    return done


def _handle(
    reader: GroupReader,
    entries: Sequence[Entry],
    *,
    keys: Keys,
    maxlen: int,
    changes: bool,
    into: Projection,
) -> None:
    items: list[_Item] = []
    for tagged_id, fields in entries:
        try:
            story = Told.model_validate_json(fields["record"])
        except (KeyError, ValueError, ValidationError) as exc:
            # Not a record armswatch can read: kept in the dead-letter stream, not retried.
            dead_letter(client=reader.client, keys=keys, maxlen=maxlen, stage="ledger",
                        input=f"{keys.tagged} {tagged_id}", error=f"unreadable record: {exc}",
                        error_type="InputRejected", payload={"tagged_id": tagged_id})  # fmt: skip
            continue
        found = tuple(reports(story, tagged_id))
        if found:
            items.append(_Item(tagged_id, story, fields["record"], found))
    applied = apply(reader.client, keys, items, maxlen=maxlen, record_changes=changes)
    into.read += len(entries)
    into.applied += len(applied)
    into.changes.extend(c for found in applied for c in found)
    reader.ack(*(tagged_id for tagged_id, _ in entries))


@dataclass
class _Plan:
    item: _Item
    keys: list[str]
    args: list[Any]
    changes: list[dict[str, Any]]


def apply(
    client: redis.Redis,
    keys: Keys,
    items: Sequence[_Item],
    *,
    maxlen: int,
    record_changes: bool = True,
) -> list[list[dict[str, Any]]]:
    """Apply each story's reports once; the changes of each story applied now."""
    script = client.register_script(_APPLY_ONCE)
    todo = list(items)
    out: list[list[dict[str, Any]]] = []
    for attempt in range(_ATTEMPTS):
        if not todo:
            return out
        if attempt:  # writers that collided try again at different moments
            time.sleep(random.uniform(0, min(0.05, 0.002 * 2**attempt)))
        plans = _plan(client, keys, todo, record_changes=record_changes, maxlen=maxlen)
        pipe = client.pipeline(transaction=False)
        for plan in plans:
            script(keys=plan.keys, args=plan.args, client=pipe)
        todo = []
        for plan, reply in zip(plans, pipe.execute(), strict=True):
            result = as_text(reply)
            if result == "conflict":  # another worker changed an entry meanwhile
                todo.append(plan.item)
            elif result == "ok":
                out.append(plan.changes)
    if todo:
        raise TransientError(
            f"ledger entries of {len(todo)} stories kept changing under concurrent writers",
            stage="ledger",
        )
    return out


def _plan(
    client: redis.Redis,
    keys: Keys,
    items: Sequence[_Item],
    *,
    record_changes: bool,
    maxlen: int,
) -> list[_Plan]:
    """Read the entries the items touch (one round trip) and merge each story in turn."""
    ids = sorted({r.entry for item in items for r in item.reports})
    pipe = client.pipeline(transaction=False)
    pipe.smismember(keys.ledger_applied, [item.story.id for item in items])
    pipe.hmget(keys.ledger_entries, ids)
    flags, values = pipe.execute()
    current: _Known = {i: (as_text(v) if v else "", None) for i, v in zip(ids, values, strict=True)}
    plans: list[_Plan] = []
    taken: set[str] = set()
    for item, flag in zip(items, flags, strict=True):
        if int(flag) or item.story.id in taken:
            continue  # applied before, or the same story twice in one batch
        taken.add(item.story.id)
        plans.append(_story_plan(keys, item, current, record_changes, maxlen))
    return plans


# Entry id -> its stored JSON ("" when new) and, once parsed or merged in this batch, the
# state itself (a story after another on the same entry need not parse it again).
_Known = dict[str, tuple[str, dict[str, Any] | None]]


def _story_plan(
    keys: Keys, item: _Item, current: _Known, record_changes: bool, maxlen: int
) -> _Plan:
    script_keys = [
        keys.ledger_applied,
        keys.ledger_entries,
        keys.ledger_changes,
        keys.ledger_first_seen,
        keys.ledger_last_seen,
    ]
    entry_args: list[Any] = []
    changes: list[dict[str, Any]] = []
    for report in item.reports:
        expected, before = current[report.entry]
        if before is None and expected:
            before = json.loads(expected)
        after, found = merge(before, report)
        changes.extend(found)
        removed, added = _index_moves(keys, before, after)
        script_keys.extend([*removed, *added])
        new = _dump(after)
        # The entry is compared by its SHA-1: half the bytes on the wire of sending it back.
        seen = (
            hashlib.sha1(expected.encode(), usedforsecurity=False).hexdigest() if expected else ""
        )
        entry_args += [report.entry, seen, new, after["first"]["at"], after["last"]["at"]]
        entry_args += [len(removed), len(added)]
        current[report.entry] = (new, after)
    recorded = json.dumps(changes, ensure_ascii=False) if changes and record_changes else ""
    args = [item.story.id, len(item.reports), recorded, maxlen, item.tagged_id, *entry_args]
    if recorded:
        args.append(item.record)  # the last argument: the change entry carries the story
    return _Plan(item, script_keys, args, changes)


def _index_moves(
    keys: Keys, before: dict[str, Any] | None, after: dict[str, Any]
) -> tuple[list[str], list[str]]:
    """The index sets to leave and to join: all of them for a new entry, else the status."""
    status = status_of(after)
    if before is None:
        fixed = [
            keys.ledger_index(name, after[name])
            for name in ("supplier", "recipient", "system_class", "kind")
        ]
        level = "system" if after["system"] else "pair"
        fixed.append(keys.ledger_index("level", level))
        if after["system"]:
            fixed.append(keys.ledger_index("parent", parent_id(after["id"])))
        return [], [*fixed, keys.ledger_index("status", status)]
    old = status_of(before)
    if old == status:
        return [], []
    return [keys.ledger_index("status", old)], [keys.ledger_index("status", status)]


# --- reading --------------------------------------------------------------------------------


def _epoch(value: float | datetime) -> float:
    return value.timestamp() if isinstance(value, datetime) else value


def query_entries(
    r: redis.Redis,
    keys: Keys,
    *,
    since: float | datetime | None = None,
    new_since: float | datetime | None = None,
    supplier: str | None = None,
    recipient: str | None = None,
    system_class: str | None = None,
    status: str | None = None,
    kind: str | None = None,
    systems: bool = False,
) -> list[dict[str, Any]]:
    """Ledger entries (JSON objects), the most recently reported first.

    `since`: reported since (last seen); `new_since`: first seen since. Pair entries only,
    unless `systems` (then the entries per named system too).
    """
    wanted = {"supplier": supplier, "recipient": recipient, "system_class": system_class,
              "status": status, "kind": kind, "level": None if systems else "pair"}  # fmt: skip
    sets = [keys.ledger_index(name, value) for name, value in wanted.items() if value]
    pipe = r.pipeline(transaction=False)
    if sets:
        pipe.sinter(sets)
    else:
        pipe.hkeys(keys.ledger_entries)
    for zset, start in ((keys.ledger_last_seen, since), (keys.ledger_first_seen, new_since)):
        if start is not None:
            pipe.zrangebyscore(zset, _epoch(start), "+inf")
    found, *windows = pipe.execute()
    ids = {as_text(i) for i in found}
    for window in windows:
        ids &= {as_text(i) for i in window}
    views = _views(r, keys, sorted(ids))
    return sorted(views, key=lambda e: (e["last_seen"], e["id"]), reverse=True)


def _views(r: redis.Redis, keys: Keys, ids: Sequence[str]) -> list[dict[str, Any]]:
    if not ids:
        return []
    values: list[Any] = r.hmget(keys.ledger_entries, list(ids))
    return [entry_view(json.loads(v)) for v in values if v]


def get_entry(r: redis.Redis, keys: Keys, entry_id: str) -> dict[str, Any] | None:
    """One entry (JSON object), or None."""
    found = _views(r, keys, [entry_id])
    return found[0] if found else None


def system_entries(r: redis.Redis, keys: Keys, entry_id: str) -> list[dict[str, Any]]:
    """The entries per named system under a pair entry, by system name."""
    members = r.smembers(keys.ledger_index("parent", entry_id))
    return _views(r, keys, sorted(as_text(m) for m in members))


def recent_changes(r: redis.Redis, keys: Keys, *, count: int = 50) -> list[dict[str, Any]]:
    """The latest entries of the change stream, newest first: `{"id", "story_id", "title",
    "changes": [...]}` (the story's record stays in the stream)."""
    out = []
    entries: list[Any] = r.xrevrange(keys.ledger_changes, count=count) or []
    for entry_id, fields in entries:
        f = {as_text(k): as_text(v) for k, v in (fields or {}).items()}
        title = json.loads(f["record"]).get("title") if f.get("record") else None
        changes = json.loads(f.get("changes") or "[]")
        out.append({"id": as_text(entry_id), "story_id": f.get("story_id"), "title": title,
                    "changes": changes})  # fmt: skip
    return out


def rebuild(
    client: redis.Redis, keys: Keys, *, consumer: str, maxlen: int, batch: int = _BATCH
) -> Projection:
    """Forget the ledger and apply the whole `tagged` stream again.

    The change stream and the changes-only alerts are left as they are: replaying old
    stories writes no changes (and a subscription's memory of what it alerted stays).
    """
    with contextlib.suppress(redis.ResponseError):  # no stream yet
        client.xgroup_destroy(keys.tagged, LEDGER_GROUP)
    doomed = [keys.ledger_entries, keys.ledger_applied, keys.ledger_first_seen,
              keys.ledger_last_seen]  # fmt: skip
    doomed += [as_text(k) for k in client.scan_iter(match=keys.ledger_index("*", "*"), count=500)]
    client.delete(*doomed)
    return project(client, keys, consumer=consumer, maxlen=maxlen, record_changes=False,
                   batch=batch, reclaim_ms=0, limit=None)  # fmt: skip
