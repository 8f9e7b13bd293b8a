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
    def http(self) -> httpx.Client:
        """One connection pool per process, behind the SSRF guard."""
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
