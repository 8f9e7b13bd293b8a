"""What tasks need from outside (settings, Redis, the tagger), built once per process.

Tasks read it from their app (`app.armswatch`); nothing is built inside a task.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import httpx
import redis

from pipelines.clean import CleanRules, default_rules
from pipelines.keys import Keys
from pipelines.subscription_store import SubscriptionStore
from pipelines.subscriptions import load_subscriptions
from pipelines.tag import Tagger, load_tagger

from .hosts import Hosts
from .http import make_client
from .seen import Seen
from .settings import Settings


@dataclass
class Context:
    settings: Settings
    redis_url: str
    _clients: dict[str, redis.Redis] = field(default_factory=dict)

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
        return load_tagger(self.settings.model, batch_size=self.settings.nlp_batch_size)

    @cached_property
    def rules(self) -> CleanRules:
        return default_rules()

    @cached_property
    def subscriptions(self) -> SubscriptionStore:
        # subscriptions.yaml is read once per process; run-time ones come from Redis.
        return SubscriptionStore(load_subscriptions(self.settings.config_dir), self.keys)

    @cached_property
    def http(self) -> httpx.Client:
        # No redirects (they could lead past the address check); no proxy from the
        # environment (the address check must see the real destination).
        return httpx.Client(
            timeout=self.settings.webhook_timeout,
            follow_redirects=False,
            trust_env=False,
            headers={"user-agent": "armswatch-webhooks"},
        )

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
        )
