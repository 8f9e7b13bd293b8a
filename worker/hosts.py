"""Politeness per host, shared by every worker process through Redis: at most N requests at
once, a minimum delay between request starts (or the robots.txt Crawl-delay, if longer),
a pause after a 429/503, and robots.txt (cached per origin with an expiry).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import redis

from pipelines.errors import HostBusy, InputRejected, TransientError
from pipelines.fetch import host_of, origin_of, robots_allows, robots_delay, robots_url
from pipelines.keys import Keys

from . import http
from .settings import Settings

# Take a slot when the host has one free and its delay has passed; otherwise return how long
# to wait. Both checks and the take are one atomic step, so two workers never share a turn.
_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local nxt = tonumber(redis.call('GET', KEYS[2]) or '0')
if nxt > now then return tostring(nxt - now) end
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return tostring(math.max(0.05, math.min(tonumber(ARGV[3]) + 0.05, tonumber(first[2]) - now)))
end
local lease, delay = tonumber(ARGV[4]), tonumber(ARGV[3])
redis.call('ZADD', KEYS[1], now + lease, ARGV[5])
redis.call('EXPIRE', KEYS[1], math.ceil(lease) + 60)
redis.call('SET', KEYS[2], tostring(now + delay), 'PX', math.ceil(delay * 1000) + 1000)
return '0'
"""

# Push the host's next start time later (never earlier): after a 429 or 503.
_PAUSE = """
local until_ = tonumber(ARGV[1])
local nxt = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ > nxt then
  redis.call('SET', KEYS[1], tostring(until_), 'PX', math.ceil(tonumber(ARGV[2]) * 1000) + 1000)
end
return 1
"""


@dataclass(frozen=True)
class Hosts:
    client: redis.Redis
    keys: Keys
    settings: Settings

    def try_acquire(self, host: str, token: str, *, min_delay: float) -> float:
        """Take a turn at `host` (0.0) or learn how many seconds to wait for one."""
        lease = self.settings.http_total_timeout + 30  # a crashed worker frees its slot
        reply = self.client.eval(
            _ACQUIRE,
            2,
            self.keys.host_slots(host),
            self.keys.host_next(host),
            f"{time.time():.6f}",
            self.settings.host_max_concurrency,
            f"{min_delay:.6f}",
            f"{lease:.3f}",
            token,
        )
        return float(reply.decode() if isinstance(reply, bytes) else reply)

    @contextmanager
    def turn(self, url: str, *, min_delay: float, wait: float) -> Iterator[None]:
        """Hold a turn at the URL's host for the block, waiting up to `wait` seconds for it;
        HostBusy (with the time to come back) when it does not come."""
        host = host_of(url)
        token = uuid.uuid4().hex
        deadline = time.monotonic() + wait
        while (pause := self.try_acquire(host, token, min_delay=min_delay)) > 0:
            if time.monotonic() + pause > deadline:
                raise HostBusy(f"host {host} is busy", retry_after=pause, input=url)
            time.sleep(pause)
        try:
            yield
        finally:
            self.client.zrem(self.keys.host_slots(host), token)

    def pause(self, url: str, seconds: float) -> None:
        """No request to the URL's host for `seconds` (it asked us to slow down)."""
        self.client.eval(
            _PAUSE, 1, self.keys.host_next(host_of(url)), f"{time.time() + seconds:.6f}", seconds
        )

    # --- robots.txt ---------------------------------------------------------------------

    def robots(self, url: str, client: httpx.Client) -> str:
        """The robots.txt of the URL's origin, from the cache or fetched ('' allows all)."""
        key = self.keys.robots(origin_of(url))
        cached = self.client.get(key)
        if cached is not None:
            return cached.decode("utf-8", "replace") if isinstance(cached, bytes) else str(cached)
        text = self._fetch_robots(url, client)
        self.client.set(key, text, ex=self.settings.robots_ttl_seconds)
        return text

    def _fetch_robots(self, url: str, client: httpx.Client) -> str:
        s = self.settings
        try:
            response = http.get(
                client,
                robots_url(url),
                max_bytes=500_000,  # Google reads the first 500 KiB
                max_redirects=s.max_redirects,
                total_timeout=s.http_total_timeout,
            )
        except InputRejected:  # oversized or redirect loop: as if there were none
            return ""
        if 200 <= response.status < 300:
            return response.body.decode("utf-8", "replace")
        if response.status >= 500 or response.status == 429:
            # RFC 9309: an unreachable robots.txt means assume complete disallow for now.
            raise TransientError(f"robots.txt answered HTTP {response.status}", input=url)
        return ""  # 4xx: no robots.txt, everything allowed

    def check(self, url: str, client: httpx.Client) -> float:
        """InputRejected when robots.txt disallows the URL; else the host's delay to keep."""
        text = self.robots(url, client)
        if not robots_allows(text, url, user_agent=self.settings.user_agent):
            raise InputRejected("disallowed by robots.txt", input=url)
        asked = robots_delay(text, user_agent=self.settings.user_agent) or 0.0
        # A Crawl-delay is honoured up to a minute; beyond that we would never catch up.
        return max(self.settings.host_min_delay_seconds, min(asked, 60.0))
