"""Changes-only subscriptions: alerts from the ledger's change stream instead of from stories.

    armswatch:ledger:changes --(group "alerts")--> route_changes()
      match   each changes-only subscription against each change of an applied story: the
              story's topics, relevance and keywords, and the entry after the change
              (suppliers, recipients, classes, statuses, systems, include_denied); a change
              of a named system's entry only for a subscription that names systems
      append  Lua: add each change's signature to the subscription's memory
              (`ledger:alerted:NAME`); when one is new, XADD one alert with the new ones
              and PUBLISH its notice, in the same step
      ack     after the append: a crash re-reads the entry, and the memory drops repeats

A fact five outlets repeat changes the ledger once (the first story): one alert. A status
advance or a denial that appears or is withdrawn is a change: another alert.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

import redis
import structlog

from ..alerts import Alert, Entry, GroupReader
from ..keys import LEDGER_ALERTS_GROUP, Keys, as_text
from ..record import Story
from ..subscriptions import Change, Match, Subscription, story_level_matches, transfer_label
from .model import kind_of

log = structlog.get_logger("armswatch.ledger")

_ALERT_CHANGES = """
local new = {}
for i = 8, #ARGV, 2 do
  if redis.call('SADD', KEYS[1], ARGV[i]) == 1 then
    table.insert(new, ARGV[i + 1])
  end
end
if #new == 0 then
  return false
end
local entry = redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], '*',
  'id', ARGV[2], 'subscription', ARGV[3], 'kind', 'change',
  'changes', '[' .. table.concat(new, ',') .. ']', 'matched', ARGV[4], 'record', ARGV[5])
redis.call('PUBLISH', ARGV[6], cjson.encode({subscription = ARGV[3], entry_id = entry,
  story_id = ARGV[2], kind = 'change', title = ARGV[7]}))
return entry
"""

_BATCH = 200
_CHANGE_KINDS = {
    "new_entry": "new_transfer",
    "status_advance": "new_status",
    "denial": "now_denied",
    "denial_withdrawn": "no_longer_denied",
}


def change_matches(change: dict[str, Any], match: Match) -> bool:
    """Whether a ledger change concerns the subscription's transfer-level fields."""
    if change["system"] and not match.systems:
        return False  # a new system under a known pair is news only to who asks for systems
    if match.suppliers and change["supplier"] not in match.suppliers:
        return False
    if match.recipients and change["recipient"] not in match.recipients:
        return False
    if match.system_classes and change["system_class"] not in match.system_classes:
        return False
    if match.systems:
        wanted = {s.casefold() for s in match.systems}
        if not any(s.casefold() in wanted for s in change["systems"]):
            return False
    if match.statuses and change["status"] not in match.statuses:
        return False
    return match.include_denied or not change["denied"]


def signature(change: dict[str, Any], story_id: str) -> str:
    """What the subscription's memory keeps of a change: a rebuild or a retry repeats none."""
    entry, kind = change["entry"], change["change"]
    if kind == "new_entry":
        return f"{entry}|new"
    if kind == "status_advance":
        return f"{entry}|status|{change['status']}"
    return f"{entry}|{kind}|{change['by']}|{story_id}"


def as_alert_change(change: dict[str, Any]) -> Change:
    """A ledger change in the alert stream's `changes` format."""
    label = transfer_label((change["supplier"], change["recipient"], change["system_class"]))
    if change["system"]:
        label += f" {change['system']}"
    before = (change["before"],) if change["before"] else ()
    return Change.model_validate(
        {
            "change": _CHANGE_KINDS[change["change"]],
            "transfer": label,
            "status": change["status"],
            "before": before,
            "by": change["by"],
            "entry": change["entry"],
        }
    )


def _matched(story: Story, changes: Sequence[dict[str, Any]]) -> list[int]:
    pairs = {(c["supplier"], c["recipient"], c["system_class"], c["kind"]) for c in changes}
    return [
        i
        for i, t in enumerate(story.transfers)
        if (t.supplier, t.recipient, t.system_class, kind_of(t.status)) in pairs
    ]


def route_changes(
    client: redis.Redis,
    keys: Keys,
    subscriptions: Sequence[Subscription],
    *,
    consumer: str,
    maxlen: int,
    reclaim_ms: int = 60_000,
) -> list[Alert]:
    """Alert each changes-only subscription of the ledger changes it matches, once."""
    reader = GroupReader(client, keys.ledger_changes, LEDGER_ALERTS_GROUP, consumer)
    reader.ensure(start="0")
    wanted = [s for s in subscriptions if s.changes_only]
    script = client.register_script(_ALERT_CHANGES)
    alerts: list[Alert] = []
    takers: tuple[Callable[[], list[Entry]], ...] = (
        lambda: reader.own_pending(count=_BATCH),
        lambda: reader.reclaim(min_idle_ms=reclaim_ms, count=_BATCH),
        lambda: reader.read(count=_BATCH, block_ms=None),
    )
    for take in takers:
        while entries := take():
            alerts += _append(script, entries, wanted, client=client, keys=keys, maxlen=maxlen)
            reader.ack(*(entry_id for entry_id, _ in entries))
            if len(entries) < _BATCH:
                break
    return alerts


def _append(
    script: Any,
    entries: Sequence[Entry],
    subscriptions: Sequence[Subscription],
    *,
    client: redis.Redis,
    keys: Keys,
    maxlen: int,
) -> list[Alert]:
    planned: list[tuple[str, str, list[Change]]] = []
    pipe = client.pipeline(transaction=False)
    for _, fields in entries:
        story = Story.from_json(fields["record"])
        changes: list[dict[str, Any]] = json.loads(fields["changes"])
        for sub in subscriptions:
            if not story_level_matches(story, sub.match):
                continue
            mine = [c for c in changes if change_matches(c, sub.match)]
            if not mine:
                continue
            found = [as_alert_change(c) for c in mine]
            pairs = [
                x
                for c, a in zip(mine, found, strict=True)
                for x in (signature(c, story.id), json.dumps(a.model_dump()))
            ]
            script(
                keys=[keys.ledger_alerted(sub.name), keys.alerts(sub.name)],
                args=[maxlen, story.id, sub.name, json.dumps(_matched(story, mine)),
                      fields["record"], keys.alerts_channel, story.title or "", *pairs],
                client=pipe,
            )  # fmt: skip
            planned.append((sub.name, story.id, found))
    alerts: list[Alert] = []
    for (name, story_id, found), entry in zip(planned, pipe.execute(), strict=True):
        if entry:
            alert = Alert(name, story_id, as_text(entry), "change", tuple(found))
            log.info("alert", subscription=name, story_id=story_id, kind="change")
            alerts.append(alert)
    return alerts
