"""De-duplication state in Redis (`armswatch:seen:*`, all expiring): feed entries taken (by
canonical URL and entry id), SimHash fingerprints of stories, and each story's sources.

The pure parts (canonical URLs, fingerprints, bands) are in pipelines/fetch.py and
pipelines/dedup.py; the checks here are Lua scripts so that two workers seeing the same
story at the same moment cannot both take it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass

import redis

from pipelines.dedup import bands, simhash, story_id
from pipelines.errors import Duplicate
from pipelines.fetch import FeedEntry, digest
from pipelines.keys import Keys
from pipelines.record import Source, Story

# An entry is new when neither its canonical URL nor its (feed, id) was taken before.
_TAKE_ENTRY = """
if redis.call('EXISTS', KEYS[1]) == 1 or redis.call('EXISTS', KEYS[2]) == 1 then
  redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
  return 0
end
redis.call('SET', KEYS[1], '1', 'EX', ARGV[1])
redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
return 1
"""

# Find a known story within ARGV[3] bits of the fingerprint (ARGV[1..2]: high and low 32
# bits as hex) in its band sets; if none, register this one. One atomic step.
_NEAR_DUPLICATE = """
local hi, lo = tonumber(ARGV[1], 16), tonumber(ARGV[2], 16)
local maxd, me, now, ttl = tonumber(ARGV[3]), ARGV[4], tonumber(ARGV[5]), tonumber(ARGV[6])
local function pop(x)
  local c = 0
  x = bit.tobit(x)
  for _ = 1, 32 do
    if bit.band(x, 1) ~= 0 then c = c + 1 end
    x = bit.rshift(x, 1)
  end
  return c
end
for _, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - ttl)
  for _, m in ipairs(redis.call('ZRANGE', key, 0, -1)) do
    local id, h, l = string.match(m, '^(.*):(%x+):(%x+)$')
    if id and id ~= me then
      local d = pop(bit.bxor(tonumber(h, 16), hi)) + pop(bit.bxor(tonumber(l, 16), lo))
      if d <= maxd then return id end
    end
  end
end
local member = me .. ':' .. ARGV[1] .. ':' .. ARGV[2]
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, member)
  redis.call('EXPIRE', key, ttl)
end
return false
"""


@dataclass(frozen=True)
class Seen:
    client: redis.Redis
    keys: Keys
    ttl: int  # URL and entry markers, sources
    near_ttl: int  # fingerprints
    max_distance: int

    def take_entries(
        self, feed: str, entries: Sequence[FeedEntry], source: Source
    ) -> list[FeedEntry]:
        """The entries not taken before (each is taken now); the others' sources are noted."""
        pipe = self.client.pipeline(transaction=False)
        for entry in entries:
            self.client.register_script(_TAKE_ENTRY)(
                keys=[
                    self.keys.seen_url(digest(entry.url)),
                    self.keys.seen_entry(digest(f"{feed}\0{entry.entry_id}")),
                ],
                args=[self.ttl],
                client=pipe,
            )
        fresh = [e for e, new in zip(entries, pipe.execute(), strict=True) if new]
        for entry in entries:
            if entry not in fresh:  # the same article from another feed is another source
                self.add_source(
                    story_id(url=entry.url, text=""), source.model_copy(update={"url": entry.url})
                )
        return fresh

    def add_source(self, story: str, source: Source) -> None:
        key = self.keys.seen_sources(story)
        pipe = self.client.pipeline(transaction=False)
        pipe.zadd(key, {source.model_dump_json(exclude_defaults=True): time.time()}, nx=True)
        pipe.expire(key, self.ttl)
        pipe.execute()

    def sources(self, story: str) -> tuple[Source, ...]:
        """Every source of a story, the first seen first."""
        members: list[bytes] = self.client.zrange(self.keys.seen_sources(story), 0, -1)  # type: ignore[assignment]
        return tuple(Source.model_validate_json(raw) for raw in members)

    def dedup(self, story: Story) -> Story:
        """The pipeline's dedup stage: Duplicate when a known story has (nearly) this text,
        else the story with every source known for it."""
        fingerprint = simhash(story.text)
        found = self.client.register_script(_NEAR_DUPLICATE)(
            keys=[self.keys.seen_simhash(i, band) for i, band in enumerate(bands(fingerprint))],
            args=[
                f"{fingerprint >> 32:08x}",
                f"{fingerprint & 0xFFFFFFFF:08x}",
                self.max_distance,
                story.id,
                f"{time.time():.3f}",
                self.near_ttl,
            ],
        )
        if found:
            original = found.decode() if isinstance(found, bytes) else str(found)
            self.add_source(original, story.source)
            raise Duplicate(f"a copy of story {original}", input=story.label)
        self.add_source(story.id, story.source)
        # Its own source first (the one it was fetched from), then the others by first sight.
        others = [s for s in self.sources(story.id) if s != story.source]
        return story.model_copy(update={"sources": (story.source, *others)})
