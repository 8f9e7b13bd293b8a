"""Subscriptions added at run time (a Redis hash), merged with those of subscriptions.yaml.

On a name clash the YAML one wins: the file is the reviewed configuration, and `add`
refuses its names, so a clash only arises when the file later gains a stored name (`list`
shows the stored one as shadowed). Every change bumps a version counter; a matcher keeps
what it loaded and reloads only when the counter moves (one GET per batch).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import redis
import structlog

from .errors import ConfigError
from .keys import Keys, as_text
from .subscriptions import Subscription, validate_subscription

log = structlog.get_logger("armswatch.subscriptions")


@dataclass
class SubscriptionStore:
    configured: tuple[Subscription, ...]
    keys: Keys
    _version: str | None = field(default=None, init=False)
    _current: tuple[Subscription, ...] = field(default=(), init=False)

    def stored(self, client: redis.Redis) -> list[Subscription]:
        """The run-time subscriptions; an entry that no longer validates is logged, skipped."""
        found: list[Subscription] = []
        raw: dict[Any, Any] = client.hgetall(self.keys.subscriptions)
        for name, data in sorted(raw.items()):
            try:
                found.append(validate_subscription(_json(data), where=as_text(name)))
            except ConfigError as exc:
                log.error("stored_subscription_invalid", name=as_text(name), reason=exc.reason)
        return found

    def current(self, client: redis.Redis) -> tuple[Subscription, ...]:
        """The merged subscriptions, reloaded from Redis only when the version moved."""
        version = as_text(client.get(self.keys.subscriptions_version) or b"0")
        if version != self._version:
            self._current = merge(self.configured, self.stored(client))
            self._version = version
        return self._current

    def add(self, client: redis.Redis, subscription: Subscription, *, replace: bool) -> None:
        """Store a subscription; ConfigError if its name is taken (unless `replace`)."""
        name = subscription.name
        self._refuse_configured(name)
        data = subscription.model_dump_json(exclude_defaults=True)
        if replace:
            client.hset(self.keys.subscriptions, name, data)
        elif not client.hsetnx(self.keys.subscriptions, name, data):
            raise ConfigError(f"subscription {name!r} exists; use --replace to change it")
        # After the write: a matcher that reads the new version finds the new entry.
        client.incr(self.keys.subscriptions_version)

    def remove(self, client: redis.Redis, name: str) -> None:
        """Delete a stored subscription (its alert stream stays readable)."""
        self._refuse_configured(name)
        if not client.hdel(self.keys.subscriptions, name):
            raise ConfigError(f"no stored subscription named {name!r}")
        client.incr(self.keys.subscriptions_version)

    def _refuse_configured(self, name: str) -> None:
        if any(s.name == name for s in self.configured):
            raise ConfigError(
                f"subscription {name!r} is defined in subscriptions.yaml; edit the file instead"
            )


def merge(
    configured: Sequence[Subscription], stored: Sequence[Subscription]
) -> tuple[Subscription, ...]:
    """YAML subscriptions, then the stored ones whose names the YAML does not use."""
    names = {s.name for s in configured}
    return (*configured, *(s for s in stored if s.name not in names))


def _json(data: Any) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return None
