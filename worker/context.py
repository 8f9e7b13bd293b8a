"""What tasks need from outside (settings, Redis, the tagger), built once per process.

Tasks read it from their app (`app.armswatch`); nothing is built inside a task.
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field
from functools import cached_property

import httpx
import redis
from threadpoolctl import threadpool_limits

from pipelines.clean import CleanRules, default_rules
from pipelines.keys import Keys
from pipelines.pipeline import StageClock
from pipelines.subscription_store import SubscriptionStore
from pipelines.subscriptions import load_subscriptions
from pipelines.tag import Tagger, load_tagger

from .hosts import Hosts
from .http import Limits, make_client
from .seen import Seen
from .settings import Settings


def tagger_for(settings: Settings) -> Tagger:
    """The process's tagger with the batch bounds of the settings."""
    return load_tagger(
        settings.model,
        batch_size=settings.nlp_batch_size,
        batch_chars=settings.nlp_batch_chars,
        max_chars=settings.nlp_max_chars,
        rules_only=settings.tagger == "rules",
    )


@dataclass
class Context:
    settings: Settings
    redis_url: str
    _clients: dict[str, redis.Redis] = field(default_factory=dict)
    # Time per stage in this process (bench/ reads it; one clock per worker process).
    clock: StageClock = field(default_factory=StageClock)
    # The clock's totals already added to the Redis counters (worker/metrics.py).
    counted: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def keys(self) -> Keys:
        return self.settings.keys

    @cached_property
    def redis(self) -> redis.Redis:
        # Health checks reconnect after a Redis restart without a manual step.
        return redis.Redis.from_url(
            self.redis_url, health_check_interval=30, socket_timeout=30, socket_connect_timeout=10
        )

    @cached_property
    def tagger(self) -> Tagger:
        return tagger_for(self.settings)

    @cached_property
    def rules(self) -> CleanRules:
        return default_rules()

    @cached_property
    def subscriptions(self) -> SubscriptionStore:
        # subscriptions.yaml is read once per process; run-time ones come from Redis.
        return SubscriptionStore(load_subscriptions(self.settings.config_dir), self.keys)

    @cached_property
    def http(self) -> httpx.Client:
        """Webhooks: the fetcher's guarded transport (every address checked at connect time,
        so a receiver's DNS cannot rebind to a private address), no redirects, no proxy."""
        s = self.settings
        # The receiver's body is never read; its head must arrive within webhook_timeout.
        limits = Limits(max_bytes=64_000, total_timeout=s.webhook_timeout)
        client = make_client(s, limits=limits)
        client.timeout = httpx.Timeout(s.webhook_timeout)
        client.headers["user-agent"] = "armswatch-webhooks"
        return client

    @cached_property
    def fetcher(self) -> httpx.Client:
        """Feeds and pages: one connection pool per process, behind the connect-time guard."""
        return make_client(self.settings)

    @cached_property
    def hosts(self) -> Hosts:
        return Hosts(self.redis, self.keys, self.settings)

    @cached_property
    def seen(self) -> Seen:
        s = self.settings
        return Seen(
            self.redis,
            self.keys,
            ttl=s.seen_ttl_seconds,
            near_ttl=s.near_duplicate_ttl_seconds,
            max_distance=s.near_duplicate_distance,
            claim_seconds=s.entry_claim_seconds,
        )


def prepare_fork(ctx: Context) -> None:
    """Load what every forked child needs first, so that it is loaded once and shared."""
    _ = ctx.tagger, ctx.rules
    # Objects that exist now are never collected: the children's collectors then leave
    # their pages alone, so the model stays shared (reference counts still copy a few).
    gc.freeze()


def single_blas_thread() -> None:
    """One BLAS thread in a process that is one of several on the cores."""
    threadpool_limits(limits=1, user_api="blas")
