"""feeds.yaml (CONTRACT.md, "Configuration files"): validated models, and each feed's poll
state in Redis (validators, last poll and error, consecutive failures, next allowed poll).
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import redis
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from pipelines.errors import ArmswatchError, ConfigError
from pipelines.fetch import http_url
from pipelines.keys import Keys, as_text
from pipelines.yamlfile import load_yaml


class Feed(BaseModel):
    """One feed to monitor."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    # The name is part of Redis keys and of every record's source: keep it simple.
    name: str = Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
    url: str
    # Seconds; None: the settings' default. Strict: `interval: true` is not one second.
    interval: int | None = Field(default=None, ge=1, le=7 * 24 * 3600, strict=True)
    tags: tuple[str, ...] = ()

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            return http_url(value.strip())
        except ArmswatchError as exc:
            raise ValueError(exc.reason) from exc

    def every(self, default: int) -> int:
        return self.interval or default


class FeedsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    feeds: list[Feed] = []


def load_feeds(path: Path) -> list[Feed]:
    """The feeds of `path`, or ConfigError naming the file, the feed and the field."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            "no feeds file (see README, 'How to add a feed')", input=str(path)
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read: {exc}", input=str(path)) from exc
    data = load_yaml(text, source=str(path))
    if data is None:
        return []
    try:
        feeds = FeedsFile.model_validate(data).feeds
    except ValidationError as exc:
        raise ConfigError(_problems(exc, data), input=str(path)) from exc
    seen: set[str] = set()
    for feed in feeds:
        if feed.name in seen:
            raise ConfigError(f"feed {feed.name!r}: name: used twice", input=str(path))
        seen.add(feed.name)
    return feeds


def _problems(exc: ValidationError, data: Any) -> str:
    """'feed 'x': url: reason; ...' for every error, naming feeds by name where they have one."""
    out: list[str] = []
    for err in exc.errors():
        loc = list(err["loc"])
        where = ".".join(str(p) for p in loc) or "feeds.yaml"
        if len(loc) >= 2 and loc[0] == "feeds" and isinstance(loc[1], int):
            entry = data["feeds"][loc[1]] if isinstance(data, dict) else None
            name = entry.get("name") if isinstance(entry, dict) else None
            label = f"feed {name!r}" if name else f"feed #{loc[1] + 1}"
            where = f"{label}: {'.'.join(str(p) for p in loc[2:]) or 'entry'}"
        out.append(f"{where}: {err['msg']}")
    return "; ".join(out)


# --- poll state ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FeedState:
    """What the last polls of a feed left behind (a Redis hash, CONTRACT.md `status`)."""

    etag: str = ""
    last_modified: str = ""
    content_hash: str = ""
    last_poll: float = 0.0
    last_ok: float = 0.0
    last_error: str = ""
    failures: int = 0
    next_poll: float = 0.0  # backing off until then

    @classmethod
    def load(cls, client: redis.Redis, keys: Keys, feed: str) -> FeedState:
        raw = client.hgetall(keys.feed_state(feed))
        data = {as_text(k): as_text(v) for k, v in raw.items()}
        return cls(
            etag=data.get("etag", ""),
            last_modified=data.get("last_modified", ""),
            content_hash=data.get("content_hash", ""),
            last_poll=float(data.get("last_poll") or 0),
            last_ok=float(data.get("last_ok") or 0),
            last_error=data.get("last_error", ""),
            failures=int(data.get("failures") or 0),
            next_poll=float(data.get("next_poll") or 0),
        )

    def save(self, client: redis.Redis, keys: Keys, feed: str) -> None:
        client.hset(keys.feed_state(feed), mapping={k: str(v) for k, v in asdict(self).items()})

    def conditional_headers(self) -> dict[str, str]:
        headers = {}
        if self.etag:
            headers["If-None-Match"] = self.etag
        if self.last_modified:
            headers["If-Modified-Since"] = self.last_modified
        return headers

    def backing_off(self, now: float | None = None) -> bool:
        return self.next_poll > (time.time() if now is None else now)
