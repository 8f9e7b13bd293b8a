"""Every Redis key armswatch uses, built from one prefix (CONTRACT.md, "Redis keys")."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# Consumer group on each alert stream that feeds webhook delivery (an outbox: an alert is
# acknowledged there only once its delivery task is enqueued, so a crash loses none).
WEBHOOK_GROUP = "webhooks"
# Consumer groups feeding email delivery, the same kind of outbox: one message per alert
# (`email`), or the alerts a daily digest has not sent yet (`email-digest`).
EMAIL_GROUP = "email"
DIGEST_GROUP = "email-digest"
# Default consumer group of `armswatch subscribe`: one reading position per subscription.
SUBSCRIBE_GROUP = "subscribe"
# Consumer group on `tagged` that projects each story into the transfer ledger, and the one
# on the ledger's change stream that turns changes into changes-only alerts.
LEDGER_GROUP = "ledger"
LEDGER_ALERTS_GROUP = "alerts"


@dataclass(frozen=True)
class Keys:
    prefix: str = "armswatch:"

    @property
    def tagged(self) -> str:
        """Stream of every tagged story."""
        return f"{self.prefix}tagged"

    @property
    def dlq(self) -> str:
        """Stream of inputs that failed for good."""
        return f"{self.prefix}dlq"

    def alerts(self, subscription: str) -> str:
        """Stream of the stories matching one subscription."""
        return f"{self.prefix}alerts:{subscription}"

    @property
    def alerts_channel(self) -> str:
        """Pub/sub channel (not a key): one small notification per alert, for dashboards."""
        return f"{self.prefix}live:alerts"

    @property
    def subscriptions(self) -> str:
        """Hash: subscriptions added at run time, name -> JSON (the YAML entry's shape)."""
        return f"{self.prefix}subscriptions"

    @property
    def subscriptions_version(self) -> str:
        """Counter bumped on every run-time change, so matchers reload only then."""
        return f"{self.prefix}subscriptions:version"

    def seen_story(self, story_id: str) -> str:
        """Marker that a story id was published to `tagged` (expires)."""
        return f"{self.prefix}seen:story:{story_id}"

    def seen_alert(self, subscription: str, story_id: str) -> str:
        """The transfer facts already alerted for a story in a subscription (expires)."""
        return f"{self.prefix}seen:alert:{subscription}:id:{story_id}"

    def seen_alert_text(self, subscription: str, fingerprint: str) -> str:
        """The same, found by the story's text: a syndicated copy under another id."""
        return f"{self.prefix}seen:alert:{subscription}:text:{fingerprint}"

    def seen_alert_transfers(self, subscription: str) -> str:
        """Set of transfer keys and key+status pairs a subscription has alerted (expires)."""
        return f"{self.prefix}seen:alert-transfers:{subscription}"

    def seen_webhook(self, subscription: str, entry_id: str) -> str:
        """Marker that an alert was delivered to the subscription's webhook (expires)."""
        return f"{self.prefix}seen:webhook:{subscription}:{entry_id}"

    def seen_email(self, subscription: str, message: str) -> str:
        """Marker that an email (an alert's entry id and its recipients, or `d` + a digest's
        last id) was sent."""
        return f"{self.prefix}seen:email:{subscription}:{message}"

    def digest_claim(self, subscription: str, day: str) -> str:
        """Taken by whoever enqueues a subscription's digest of `day` (YYYY-MM-DD); expires."""
        return f"{self.prefix}digest:{subscription}:{day}"

    def seen_url(self, digest: str) -> str:
        """Marker that an article URL (canonical form, hashed) was taken from a feed."""
        return f"{self.prefix}seen:url:{digest}"

    def seen_entry(self, digest: str) -> str:
        """Marker that a feed entry id (feed name and id, hashed) was taken."""
        return f"{self.prefix}seen:entry:{digest}"

    def seen_simhash(self, band: int, value: str) -> str:
        """Sorted set of the stories whose SimHash has `value` in `band` (near duplicates)."""
        return f"{self.prefix}seen:simhash:{band}:{value}"

    def seen_body(self, body: str) -> str:
        """The id of the story first seen with this body (its normalised-text hash): a copy
        under another URL, or from a file, is that story (expires)."""
        return f"{self.prefix}seen:body:{body}"

    def seen_sources(self, story_id: str) -> str:
        """Sorted set (by first sight) of every source a story was found at."""
        return f"{self.prefix}seen:sources:{story_id}"

    @property
    def metrics(self) -> str:
        """Counters behind the Prometheus metrics (worker/metrics.py): field -> number."""
        return f"{self.prefix}metrics"

    def deliveries(self, task_id: str, retries: int) -> str:
        """How many times a worker started this message (a task id and its retry)."""
        return f"{self.prefix}deliveries:{task_id}:{retries}"

    @property
    def sent(self) -> str:
        """Sorted set: id of a sent task whose loss would lose data -> when it is due
        (worker/ledger.py)."""
        return f"{self.prefix}sent"

    @property
    def sent_messages(self) -> str:
        """Hash: task id -> the task's name and arguments, to send it again if lost."""
        return f"{self.prefix}sent:messages"

    @property
    def sent_missing(self) -> str:
        """Hash: task id -> when a sweep first found it in none of the broker's places."""
        return f"{self.prefix}sent:missing"

    @property
    def sweep_lock(self) -> str:
        """Held by the beat sweeping the ledger, so that two beats do not both re-send."""
        return f"{self.prefix}lock:sweep"

    # --- the transfer ledger (pipelines/ledger; not the ledger of sent messages above) ------

    @property
    def ledger_entries(self) -> str:
        """Hash: transfer ledger entry id (IR:RU:drone:transfer[:SYSTEM]) -> its state (JSON)."""
        return f"{self.prefix}ledger:entries"

    @property
    def ledger_applied(self) -> str:
        """Set of the story ids already applied to the transfer ledger (applied once each)."""
        return f"{self.prefix}ledger:applied"

    def ledger_index(self, field: str, value: str) -> str:
        """Set of entry ids by supplier, recipient, class, kind, status or level (pair/system)."""
        return f"{self.prefix}ledger:by:{field}:{value}"

    @property
    def ledger_first_seen(self) -> str:
        """Sorted set: entry id -> its first report date (epoch seconds)."""
        return f"{self.prefix}ledger:first-seen"

    @property
    def ledger_last_seen(self) -> str:
        """Sorted set: entry id -> its last report date (epoch seconds)."""
        return f"{self.prefix}ledger:last-seen"

    @property
    def ledger_changes(self) -> str:
        """Stream: one entry per applied story that changed the ledger, with its changes."""
        return f"{self.prefix}ledger:changes"

    def ledger_alerted(self, subscription: str) -> str:
        """Set of the ledger changes a changes-only subscription has alerted."""
        return f"{self.prefix}ledger:alerted:{subscription}"

    def feed_state(self, feed: str) -> str:
        """Hash of a feed's poll state: validators, last poll and error, failures, next poll."""
        return f"{self.prefix}feed:{feed}"

    def feed_lock(self, feed: str) -> str:
        """Lock held while one process polls a feed (expires)."""
        return f"{self.prefix}lock:feed:{feed}"

    @property
    def schedule(self) -> str:
        """Sorted set: feed name -> time its next poll is due (beat claims from it)."""
        return f"{self.prefix}schedule"

    def alive(self, worker_id: str) -> str:
        """Worker `host:pid` can work: when it last found Redis and a live pool (JSON);
        expires, removed on a clean stop (worker/health.py)."""
        return f"{self.prefix}alive:{worker_id}"

    def beat(self, beat_id: str) -> str:
        """When beat `host:pid` last ticked (epoch seconds); expires, removed on exit."""
        return f"{self.prefix}beat:{beat_id}"

    def worker(self, worker_id: str) -> str:
        """JSON: what worker `host:pid` serves (its metrics URL, or why none); expires,
        refreshed while it runs, removed on exit."""
        return f"{self.prefix}worker:{worker_id}"

    def host_slots(self, host: str) -> str:
        """Sorted set of the fetches running against a host, scored by lease expiry."""
        return f"{self.prefix}host:{host}:slots"

    def host_next(self, host: str) -> str:
        """Earliest time the next request to a host may start."""
        return f"{self.prefix}host:{host}:next"

    def robots(self, origin: str) -> str:
        """Cached robots.txt of an origin (scheme://host:port); expires."""
        return f"{self.prefix}robots:{origin}"


def as_text(value: Any) -> str:
    """A Redis reply (bytes unless the client decodes) as text."""
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
