"""Extract stage: HTML pages to article text and metadata with trafilatura (pure)."""

from __future__ import annotations

import re

import trafilatura

from .errors import InputRejected
from .record import Story

# A page is HTML when it says so early; plain text never starts like this.
_HTML_START = re.compile(r"\s*(<!doctype html|<html|<head|<body|<\?xml[^>]*>\s*<html)", re.I)
_HTML_TAGS = re.compile(r"<(p|div|article|span|a|br|h[1-6]|section|meta|script)\b", re.I)


def looks_like_html(raw: str) -> bool:
    """Sniff HTML from the start of a document, or from a high density of tags."""
    head = raw[:2048]
    if _HTML_START.match(head):
        return True
    return len(_HTML_TAGS.findall(raw[:20000])) >= 5


def extract(story: Story) -> Story:
    """Story(raw) -> Story(text, title?, published?, author?); plain text passes through."""
    raw = story.raw or ""
    if story.raw_format != "html":
        # A feed summary standing in for its page says so (`extraction` set by the caller).
        extraction = story.extraction or "text"
        return story.model_copy(update={"text": raw, "raw": None, "extraction": extraction})
    # Comments and tables are mostly reader chatter and market data, not reporting.
    doc = trafilatura.bare_extraction(
        raw,
        url=story.source.url,
        with_metadata=True,
        include_comments=False,
        include_tables=False,
        deduplicate=False,  # trafilatura's dedup cache is process-global; we dedup ourselves
    )
    text = getattr(doc, "text", None)
    if not text or not text.strip():
        raise InputRejected("no article text could be extracted from the HTML", input=story.label)
    return story.model_copy(
        update={
            "text": text,
            "title": story.title or getattr(doc, "title", None) or None,
            "published": story.published or getattr(doc, "date", None) or None,
            "author": story.author or getattr(doc, "author", None) or None,
            "raw": None,
            "extraction": "html",
        }
    )
