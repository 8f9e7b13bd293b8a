"""Story identity: stable ids from the canonical URL or the normalised text (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass

from .record import Story

_NON_WORD = re.compile(r"[\W_]+", re.UNICODE)


def normalized_text(text: str) -> str:
    """Text reduced to lower-case words, so whitespace and punctuation changes keep the id."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return _NON_WORD.sub(" ", folded).strip()


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()[:20]


def story_id(*, url: str | None, text: str, story_index: int = 0) -> str:
    """Id of a story: hash of its URL (and index within the page), else of its text."""
    if url:
        return _digest(f"url\0{url}\0{story_index}")
    return _digest(f"text\0{normalized_text(text)}")


def body_text(text: str, title: str | None) -> str:
    """The words of a story's body without a leading copy of its title.

    A file's story keeps its first line as text when it is not a headline (its title is
    then that line), while the same story served as a page has it as the page's <h1>, which
    clean drops from the text; words alone, so whitespace, case and punctuation do not count.
    """
    body = normalized_text(text)
    head = normalized_text(title or "")
    if head and body.startswith(f"{head} "):
        return body[len(head) + 1 :]
    return body or text.strip()


@dataclass(frozen=True)
class Identity:
    """Who a story is: its id, the URL it was found at (canonical; None for a file) and the
    hash of its body, the same wherever the same text turns up."""

    id: str
    url: str | None
    body: str


def identity(story: Story) -> Identity:
    """A cleaned story's identity (the live path's URLs are canonical already: FeedEntry.url)."""
    url = story.source.url
    return Identity(
        id=story_id(url=url, text=story.text, story_index=story.story_index),
        url=url,
        body=_digest(f"body\0{body_text(story.text, story.title)}"),
    )


# --- near duplicates: SimHash over word shingles ----------------------------------------
# A 64-bit SimHash (Charikar 2002; Manku et al. 2007) per story: texts that share most of
# their 3-word shingles get fingerprints a few bits apart. One integer per story is cheap to
# keep in Redis (datasketch's MinHash would keep 128 numbers and its own key layout), and
# splitting it into 8 bands of 8 bits finds every fingerprint within 7 bits by exact lookups
# (pigeonhole: 7 differing bits leave at least one band equal).

SIMHASH_BITS = 64
BANDS = 8
_BAND_BITS = SIMHASH_BITS // BANDS
SHINGLE_WORDS = 3


def shingles(text: str, size: int = SHINGLE_WORDS) -> list[str]:
    """Overlapping runs of `size` words of the normalised text (the words, if fewer)."""
    words = normalized_text(text).split()
    if len(words) <= size:
        return [" ".join(words)] if words else []
    return [" ".join(words[i : i + size]) for i in range(len(words) - size + 1)]


def simhash(text: str) -> int:
    """64-bit SimHash of the text's shingles (each shingle weighted once)."""
    weights = [0] * SIMHASH_BITS
    for shingle in set(shingles(text)):
        h = int.from_bytes(hashlib.blake2b(shingle.encode("utf-8"), digest_size=8).digest())
        for bit in range(SIMHASH_BITS):
            weights[bit] += 1 if h >> bit & 1 else -1
    return sum(1 << bit for bit, w in enumerate(weights) if w > 0)


def hamming(a: int, b: int) -> int:
    return (a ^ b).bit_count()


def bands(fingerprint: int) -> list[str]:
    """The fingerprint's bands as hex strings, lowest bits first."""
    mask = (1 << _BAND_BITS) - 1
    return [f"{fingerprint >> (i * _BAND_BITS) & mask:02x}" for i in range(BANDS)]
