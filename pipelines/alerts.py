"""Alerts: the matcher stage after publish, and reading alert streams through consumer groups.

    list[Story(tagged)]      every story of a batch, newly published or not
      match   -> (story, subscription) pairs where `matches` holds, with the facts of the
                 matching transfers (subscriptions.facts)
      compare -> what the subscription alerted before for this story, found by story id,
                 else by text fingerprint (a syndicated copy under another id)
                   nothing before          -> kind "new"; `changes` relative to every story
                                              the subscription alerted (new transfer, new status)
                   facts not alerted yet   -> kind "update"; `changes` relative to this story
                   nothing new             -> no alert (a retry, a replay, a copy)
      append  -> Lua: compare-and-set of the story state + XADD + PUBLISH, one atomic step
    list[Alert]

Alerted facts accumulate (a union): a transfer that disappears from a story and comes back
does not alert twice. Systems and confidence are not facts: a changed list of systems alone
is no alert.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis
import structlog

from .dedup import normalized_text
from .errors import TransientError
from .keys import Keys, as_text
from .record import STATUSES, Story
from .subscriptions import (
    Before,
    Change,
    Fact,
    Subscription,
    TransferKey,
    before_from_facts,
    changes,
    facts,
    matches,
    matching_transfers,
)

log = structlog.get_logger("armswatch.alerts")

# The story's state must still be what the plan was computed from (else: "conflict", the
# caller re-reads and re-plans); then state, stream entry, memory and notification together.
_ALERT_ONCE = """
local current = redis.call('GET', KEYS[1]) or redis.call('GET', KEYS[2]) or ''
if current ~= ARGV[1] then
  return false
end
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
local entry = redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[4], '*',
  'id', ARGV[5], 'subscription', ARGV[6], 'kind', ARGV[7], 'changes', ARGV[8],
  'matched', ARGV[9], 'record', ARGV[10])
if #ARGV > 12 then
  redis.call('SADD', KEYS[4], unpack(ARGV, 13))
  redis.call('EXPIRE', KEYS[4], ARGV[3])
end
redis.call('PUBLISH', ARGV[11], cjson.encode({subscription = ARGV[6], entry_id = entry,
  story_id = ARGV[5], kind = ARGV[7], title = ARGV[12]}))
return entry
"""

# Concurrent writers on one story make the compare-and-set fail; each retry re-reads.
_ATTEMPTS = 5


@dataclass(frozen=True)
class Alert:
    """An entry appended to `alerts:NAME`."""

    subscription: str
    story_id: str
    entry_id: str
    kind: str  # "new" or "update"
    changes: tuple[Change, ...]


@dataclass(frozen=True)
class _Plan:
    story: Story
    subscription: Subscription
    expected: str  # the state the plan was computed from ("" = never alerted)
    state: str
    kind: str
    changes: tuple[Change, ...]
    members: tuple[str, ...]


def fingerprint(text: str) -> str:
    """Identity of a story's text, whatever its URL: the same wire copy gives the same value."""
    return hashlib.sha256(normalized_text(text).encode("utf-8")).hexdigest()[:20]


def dump_facts(found: frozenset[Fact]) -> str:
    return json.dumps(sorted(list(f) for f in found), separators=(",", ":"))


def load_facts(data: str) -> frozenset[Fact]:
    return frozenset(Fact(s, r, c, st, bool(d)) for s, r, c, st, d in json.loads(data))


def _member(key: TransferKey, status: str | None = None) -> str:
    supplier, recipient, system_class = key
    base = f"{supplier or '?'}>{recipient or '?'}:{system_class}"
    return f"{base}:{status}" if status else base


def _memory_members(found: frozenset[Fact]) -> list[str]:
    """What the subscription-wide memory asks about: each key, and each key with a status."""
    keys = sorted({f.key for f in found}, key=str)
    return [m for k in keys for m in (_member(k), *(_member(k, s) for s in STATUSES))]


def _memory_before(
    found: frozenset[Fact], flags: Sequence[Any], earlier: dict[TransferKey, set[str]]
) -> Before:
    """What the subscription alerted of these transfer keys: in Redis, or earlier in the batch."""
    keys = sorted({f.key for f in found}, key=str)
    step = 1 + len(STATUSES)
    before: dict[TransferKey, dict[str, frozenset[bool]]] = {}
    for i, key in enumerate(keys):
        row = [bool(int(x)) for x in flags[i * step : (i + 1) * step]]
        statuses = {s for s, known in zip(STATUSES, row[1:], strict=True) if known}
        if row[0] or key in earlier:
            before[key] = dict.fromkeys(statuses | earlier.get(key, set()), frozenset())
    return before


def _plan(
    pairs: Sequence[tuple[Story, Subscription]], *, client: redis.Redis, keys: Keys
) -> list[_Plan]:
    """Read what each subscription alerted before (one round trip) and decide."""
    found = [facts(story, sub) for story, sub in pairs]
    pipe = client.pipeline(transaction=False)
    for (story, sub), now in zip(pairs, found, strict=True):
        pipe.get(keys.seen_alert(sub.name, story.id))
        pipe.get(keys.seen_alert_text(sub.name, fingerprint(story.text)))
        if now:
            pipe.smismember(keys.seen_alert_transfers(sub.name), _memory_members(now))
    replies = iter(pipe.execute())
    plans: list[_Plan] = []
    # Transfer keys and statuses alerted by earlier stories of this batch, per subscription.
    batch: dict[str, dict[TransferKey, set[str]]] = {}
    for (story, sub), now in zip(pairs, found, strict=True):
        by_id, by_text = next(replies), next(replies)
        earlier = batch.setdefault(sub.name, {})
        memory = _memory_before(now, next(replies), earlier) if now else {}
        current = as_text(by_id or by_text or b"")
        members = tuple(m for f in sorted(now) for m in (_member(f.key), _member(f.key, f.status)))
        if not current:
            found_changes = tuple(changes(now, memory))
            plans.append(_Plan(story, sub, "", dump_facts(now), "new", found_changes, members))
        else:
            old = load_facts(current)
            added = now - old
            if not added:
                continue
            found_changes = tuple(changes(added, before_from_facts(old)))
            state = dump_facts(old | now)
            plans.append(_Plan(story, sub, current, state, "update", found_changes, members))
        for fact in now:
            earlier.setdefault(fact.key, set()).add(fact.status)
    return plans


def ensure_group(client: redis.Redis, stream: str, group: str, *, start: str) -> None:
    """Create a consumer group (and the stream) unless it exists."""
    try:
        client.xgroup_create(stream, group, id=start, mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def route(
    stories: Sequence[Story],
    subscriptions: Sequence[Subscription],
    *,
    client: redis.Redis,
    keys: Keys,
    maxlen: int,
    seen_ttl: int,
    webhook_group: str | None = None,
) -> list[Alert]:
    """Append each story to the alert stream of every subscription it matches, at most once.

    Call it after publish with every story of the batch, new or not: an updated story under
    a known id is how an "update" alert arises. With `webhook_group`, the group feeding
    webhook delivery exists on each webhook subscription's stream before anything is added.
    """
    if webhook_group:
        for sub in subscriptions:
            if sub.webhook:
                ensure_group(client, keys.alerts(sub.name), webhook_group, start="$")
    todo = [(story, sub) for story in stories for sub in subscriptions
            if not sub.changes_only and matches(story, sub)]  # fmt: skip
    script = client.register_script(_ALERT_ONCE)
    alerts: list[Alert] = []
    for _ in range(_ATTEMPTS):
        if not todo:
            return alerts
        plans = _plan(todo, client=client, keys=keys)
        pipe = client.pipeline(transaction=False)
        for plan in plans:
            _append(script, plan, pipe=pipe, keys=keys, maxlen=maxlen, seen_ttl=seen_ttl)
        todo = []
        for plan, entry in zip(plans, pipe.execute(), strict=True):
            if entry is None:  # someone else alerted this story meanwhile: look again
                todo.append((plan.story, plan.subscription))
                continue
            alert = Alert(
                plan.subscription.name, plan.story.id, as_text(entry), plan.kind, plan.changes
            )
            log.info(
                "alert", subscription=alert.subscription, story_id=alert.story_id, kind=alert.kind
            )
            alerts.append(alert)
    if todo:
        raise TransientError(
            f"alert state of {len(todo)} stories kept changing under concurrent writers",
            stage="alerts",
        )
    return alerts


def _append(script: Any, plan: _Plan, *, pipe: Any, keys: Keys, maxlen: int, seen_ttl: int) -> None:
    story, sub = plan.story, plan.subscription
    script(
        keys=[
            keys.seen_alert(sub.name, story.id),
            keys.seen_alert_text(sub.name, fingerprint(story.text)),
            keys.alerts(sub.name),
            keys.seen_alert_transfers(sub.name),
        ],
        args=[
            plan.expected,
            plan.state,
            seen_ttl,
            maxlen,
            story.id,
            sub.name,
            plan.kind,
            json.dumps([c.model_dump() for c in plan.changes]),
            json.dumps(matching_transfers(story, sub)),
            story.to_json(),
            keys.alerts_channel,
            story.title or "",
            *plan.members,
        ],
        client=pipe,
    )


# --- alert entries as JSON and as text ------------------------------------------------------


def alert_json(entry_id: str, fields: dict[str, str]) -> dict[str, Any]:
    """An alert stream entry as one JSON object (`subscribe --json`, the webhook body)."""
    found = [Change.model_validate(c) for c in json.loads(fields.get("changes") or "[]")]
    return {
        "subscription": fields.get("subscription"),
        "entry_id": entry_id,
        "story_id": fields.get("id"),
        "kind": fields.get("kind"),
        "changes": [{**c.model_dump(), "text": c.text} for c in found],
        "matched": json.loads(fields.get("matched") or "[]"),
        "record": json.loads(fields["record"]),
    }


def format_alert(alert: dict[str, Any]) -> str:
    """An alert for people: title, each matching transfer with its evidence, source, changes."""
    record = alert["record"]
    source = record.get("source") or {}
    lines = [
        f"== {alert['subscription']} · {alert['kind']} · {alert['entry_id']}",
        record.get("title") or "(untitled)",
    ]
    transfers = record.get("transfers") or []
    for i in alert.get("matched") or []:
        t = transfers[i]
        systems = ", ".join(t.get("systems") or []) or "-"
        denied = "DENIED" if t.get("denied") else "not denied"
        lines.append(
            f"  {t.get('supplier') or '?'} -> {t.get('recipient') or '?'}  {t['system_class']}"
            f"  systems: {systems}  status: {t['status']}  {denied}"
        )
        for ev in (t.get("evidence") or [])[:1]:
            lines.append(f'      "{" ".join(ev["sentence"].split())}"')
    lines.append(f"  source: {source.get('url') or source.get('path') or '-'}")
    lines.extend(f"  change: {c['text']}" for c in alert.get("changes") or [])
    return "\n".join(lines)


# --- consumer groups ------------------------------------------------------------------------

Entry = tuple[str, dict[str, str]]


@dataclass
class GroupReader:
    """One consumer of a consumer group on one stream (XREADGROUP, XAUTOCLAIM, XACK)."""

    client: redis.Redis
    stream: str
    group: str
    consumer: str

    def ensure(self, *, start: str = "0") -> None:
        ensure_group(self.client, self.stream, self.group, start=start)

    def rewind(self) -> None:
        """Deliver the whole stream again to this group."""
        self.client.xgroup_setid(self.stream, self.group, "0")

    def own_pending(self, *, after: str = "0", count: int = 100) -> list[Entry]:
        """Entries this consumer read before and never acknowledged (e.g. it crashed)."""
        return self._read(after, count, None)

    def read(self, *, count: int, block_ms: int | None) -> list[Entry]:
        """Entries no consumer of the group has read yet."""
        return self._read(">", count, block_ms)

    def reclaim(self, *, min_idle_ms: int, count: int = 100) -> list[Entry]:
        """Take over entries other consumers read and left unacknowledged that long."""
        cursor: Any = "0-0"
        out: list[Entry] = []
        while len(out) < count:
            reply = self.client.xautoclaim(
                self.stream,
                self.group,
                self.consumer,
                min_idle_time=min_idle_ms,
                start_id=cursor,
                count=count - len(out),
            )
            cursor, entries = reply[0], reply[1]
            out.extend(self._clean(entries))
            if as_text(cursor) == "0-0":
                break
        return out

    def ack(self, *entry_ids: str) -> None:
        if entry_ids:
            self.client.xack(self.stream, self.group, *entry_ids)

    def _read(self, start: str, count: int, block_ms: int | None) -> list[Entry]:
        reply: Any = self.client.xreadgroup(
            self.group, self.consumer, {self.stream: start}, count=count, block=block_ms
        )
        streams = reply.items() if isinstance(reply, dict) else (reply or [])
        return [e for _, entries in streams for e in self._clean(entries)]

    def _clean(self, entries: Any) -> list[Entry]:
        """Decoded entries; one trimmed away while pending has no fields: acknowledged, dropped."""
        out: list[Entry] = []
        for entry_id, fields in entries or []:
            if entry_id is None:
                continue
            if not fields:
                log.warning("alert_entry_gone", stream=self.stream, entry_id=as_text(entry_id))
                self.ack(as_text(entry_id))
                continue
            out.append((as_text(entry_id), {as_text(k): as_text(v) for k, v in fields.items()}))
        return out
