"""Story identity: stable ids from the canonical URL or the normalised text (pure)."""

from __future__ import annotations

import hashlib
import re
import unicodedata

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
