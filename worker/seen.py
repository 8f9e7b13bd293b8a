"""De-duplication state in Redis (`armswatch:seen:*`, all expiring): feed entries taken (by
canonical URL and entry id), the story each body was first seen as, SimHash fingerprints of
stories, and each story's sources.

The pure parts (canonical URLs, fingerprints, bands) are in pipelines/fetch.py and
pipelines/dedup.py; the checks here are Lua scripts so that two workers seeing the same
story at the same moment cannot both take it.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import redis

from pipelines.dedup import bands, identity, simhash, story_id
from pipelines.errors import Duplicate
from pipelines.fetch import FeedEntry, digest
from pipelines.keys import Keys, as_text
from pipelines.record import Source, Story

# An entry is new when neither its canonical URL nor its (feed, id) was taken before.
# Taking is a claim ("c:<time>") until the poll confirms it ("1") once its jobs are handed
# on. The feed's own claim means its last poll never got that far (killed, Redis gone):
# the entry is new again for the next poll of the feed. Another feed's claim on the URL
# holds for ARGV[3] seconds. (Taking twice costs a second fetch; publishing is idempotent.)
_TAKE_ENTRY = """
local now, grace = tonumber(ARGV[2]), tonumber(ARGV[3])
local mine, url = redis.call('GET', KEYS[2]), redis.call('GET', KEYS[1])
local reclaim = mine and string.sub(mine, 1, 2) == 'c:'
if mine and not reclaim then return 0 end
if url and not reclaim then
  if string.sub(url, 1, 2) ~= 'c:' or now - tonumber(string.sub(url, 3)) < grace then
    redis.call('SET', KEYS[2], '1', 'EX', ARGV[1])
    return 0
  end
end
local claim = 'c:' .. ARGV[2]
redis.call('SET', KEYS[1], claim, 'EX', ARGV[1])
redis.call('SET', KEYS[2], claim, 'EX', ARGV[1])
return 1
"""

_BATCH = 1000  # commands per pipeline: a 200,000-entry feed is not one huge round trip

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
    claim_seconds: float = 600.0  # an unconfirmed take is abandoned after this

    def take_entries(
        self, feed: str, entries: Sequence[FeedEntry], source: Source
    ) -> list[FeedEntry]:
        """The entries not taken before (each is claimed now, until `confirm_entries`); the
        others' sources are noted. Linear in the entries, in batches of `_BATCH` commands."""
        take = self.client.register_script(_TAKE_ENTRY)
        now = f"{time.time():.3f}"
        fresh: list[FeedEntry] = []
        for start in range(0, len(entries), _BATCH):
            batch = entries[start : start + _BATCH]
            pipe = self.client.pipeline(transaction=False)
            for entry in batch:
                keys = self._entry_keys(feed, entry.url, entry.entry_id)
                take(keys=keys, args=[self.ttl, now, self.claim_seconds], client=pipe)
            taken = pipe.execute()
            pipe = self.client.pipeline(transaction=False)
            for entry, new in zip(batch, taken, strict=True):
                if new:
                    fresh.append(entry)
                else:  # the same article from another feed is another source
                    story = story_id(url=entry.url, text="")
                    self._add_source(pipe, story, source.model_copy(update={"url": entry.url}))
            pipe.execute()
        return fresh

    def confirm_entries(self, feed: str, taken: Sequence[tuple[str, str]]) -> None:
        """The (url, entry id)s of `feed` claimed by a poll were handed on: taken for good."""
        for start in range(0, len(taken), _BATCH):
            pipe = self.client.pipeline(transaction=False)
            for url, entry_id in taken[start : start + _BATCH]:
                for key in self._entry_keys(feed, url, entry_id):
                    pipe.set(key, "1", ex=self.ttl)
            pipe.execute()

    def _entry_keys(self, feed: str, url: str, entry_id: str) -> list[str]:
        return [
            self.keys.seen_url(digest(url)),
            self.keys.seen_entry(digest(f"{feed}\0{entry_id}")),
        ]

    def add_source(self, story: str, source: Source) -> None:
        pipe = self.client.pipeline(transaction=False)
        self._add_source(pipe, story, source)
        pipe.execute()

    def _add_source(self, pipe: Any, story: str, source: Source) -> None:
        key = self.keys.seen_sources(story)
        pipe.zadd(key, {source.model_dump_json(exclude_defaults=True): time.time()}, nx=True)
        pipe.expire(key, self.ttl)

    def sources(self, story: str) -> tuple[Source, ...]:
        """Every source of a story, the first seen first."""
        members: list[bytes] = self.client.zrange(self.keys.seen_sources(story), 0, -1)  # type: ignore[assignment]
        return tuple(Source.model_validate_json(raw) for raw in members)

    def identify(
        self, stories: Sequence[Story], *, drop_copies: bool = False
    ) -> list[Story | Duplicate]:
        """The identity stage (every path): each story under the id of the first story seen
        with its body, its source recorded there. A copy under another id (another URL, a
        file) is that story, so it is not published or alerted again; `drop_copies` (the
        live path, which does not tag copies) makes it a Duplicate instead. Two round trips
        for the whole batch."""
        if not stories:
            return []
        found = [identity(s) for s in stories]
        pipe = self.client.pipeline(transaction=True)
        for me in found:
            pipe.set(self.keys.seen_body(me.body), me.id, nx=True, ex=self.ttl)
            pipe.get(self.keys.seen_body(me.body))
        replies = pipe.execute()[1::2]  # each GET, after its SET NX
        owners = [as_text(o) if o else me.id for o, me in zip(replies, found, strict=True)]
        pipe = self.client.pipeline(transaction=False)
        out: list[Story | Duplicate] = []
        for story, me, owner in zip(stories, found, owners, strict=True):
            self._add_source(pipe, owner, story.source)
            if owner != me.id and drop_copies:
                out.append(
                    Duplicate(f"a copy of story {owner}", input=story.label, stage="identify")
                )
            else:
                out.append(story.model_copy(update={"id": owner}))
        pipe.execute()
        return out

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
