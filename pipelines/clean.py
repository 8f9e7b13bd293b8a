"""Clean stage: normalise text, strip page furniture, split stories, find titles (pure).

Story(text: extracted or plain)          one input, maybe several stories, with furniture
  -> normalize                           Unicode repaired, odd spaces folded, NFC
  -> segments                            runs of lines split at gaps of 2+ blank lines
  -> stories                             a segment opening with a headline starts a story
  -> per story: furniture dropped, repeats collapsed, title/byline/date taken
list[Story(text: clean, title, id, story_index)]
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache, cached_property
from importlib import resources
from pathlib import Path
from typing import Any

import ftfy
import yaml

from .dedup import normalized_text, story_id
from .errors import ConfigError, InputRejected
from .record import Story


@dataclass(frozen=True)
class CleanRules:
    """Furniture patterns (data, see pipelines/data/boilerplate.yaml) and split thresholds."""

    drop: tuple[re.Pattern[str], ...]
    cut: tuple[re.Pattern[str], ...]
    # A cut marker ends the article only after this many words of it (else it is page header).
    min_words_before_cut: int = 40
    # A segment opening with a headline is a new story only when both sides have this many words.
    min_story_words: int = 60

    @classmethod
    def from_mapping(cls, data: dict[str, Any], *, name: str = "boilerplate rules") -> CleanRules:
        try:
            drop = tuple(re.compile(p, re.I) for p in data.get("drop", []))
            cut = tuple(re.compile(p, re.I) for p in data.get("cut", []))
        except re.error as exc:
            raise ConfigError(f"invalid pattern {exc.pattern!r}: {exc}", input=name) from exc
        return cls(drop=drop, cut=cut)

    @classmethod
    def load(cls, path: Path | None = None) -> CleanRules:
        """Rules from `path`, or the packaged defaults."""
        if path is None:
            text = resources.files("pipelines").joinpath("data/boilerplate.yaml").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        return cls.from_mapping(yaml.safe_load(text) or {}, name=str(path or "boilerplate.yaml"))

    def is_drop(self, line: str) -> bool:
        return self._any_drop(line)

    def is_cut(self, line: str) -> bool:
        return self._any_cut(line)

    # Each line meets every pattern: one alternation is one scan instead of dozens.
    @cached_property
    def _any_drop(self) -> Callable[[str], bool]:
        return _any_fullmatch(self.drop)

    @cached_property
    def _any_cut(self) -> Callable[[str], bool]:
        return _any_fullmatch(self.cut)


def _any_fullmatch(patterns: tuple[re.Pattern[str], ...]) -> Callable[[str], bool]:
    """`any(p.fullmatch(line) for p in patterns)`, as one regex when the flags agree."""
    flags = {p.flags for p in patterns}
    if len(flags) != 1:
        return lambda line: any(p.fullmatch(line) for p in patterns)
    # fullmatch backtracks into the next alternative until one spans the whole line.
    combined = re.compile("|".join(f"(?:{p.pattern})" for p in patterns), flags.pop())
    return lambda line: combined.fullmatch(line) is not None


@cache
def default_rules() -> CleanRules:
    return CleanRules.load()


# --- normalisation ---------------------------------------------------------------------

_SPACES = re.compile(r"[ \t\u00a0\u1680\u2000-\u200a\u202f\u205f\u3000]+")
_INVISIBLE = re.compile(r"[\u200b\u200c\u200d\u2060\ufeff\u00ad]")
_ONLY_SYMBOLS = re.compile(r"[\W_]+")


def normalize(text: str) -> str:
    """Repair mojibake, fold odd spaces and line ends, strip invisible characters."""
    text = ftfy.fix_text(text)  # also NFC, \r\n -> \n, curly quotes to straight ones
    text = _INVISIBLE.sub("", text)
    return "\n".join(_SPACES.sub(" ", line).strip() for line in text.split("\n"))


# --- headlines, bylines, dates ---------------------------------------------------------

_HEADLINE_END = tuple(".,;:!\"'")
_LIST_OR_QUOTE_START = tuple("-•*\"'(“‘[")
_DATE_PREFIX = re.compile(r"^(published|updated|posted|last updated)( on)?:?\s*", re.I)
_DATE_FORMATS = (
    "%B %d, %Y",
    "%b %d, %Y",
    "%b. %d, %Y",
    "%d %B %Y",
    "%d %b %Y",
    "%Y-%m-%d",
    "%B %d, %Y %I:%M %p",
    "%A, %B %d, %Y",
    "%d/%m/%Y",
)
_BYLINE = re.compile(r"^(?i:by)\s+((?:[A-Z][\w.'-]*\s*){1,4}(?:and\s+(?:[A-Z][\w.'-]*\s*){1,4})?)$")
_NAME = re.compile(r"^(?:[A-Z][\w.'-]*\s*){2,4}$")


def is_headline(line: str) -> bool:
    """A short line that does not read as a sentence: a headline or a title."""
    words = line.split()
    if not 3 <= len(words) <= 30 or len(line) > 220:
        return False
    if line.endswith(_HEADLINE_END) or line.startswith(_LIST_OR_QUOTE_START):
        return False
    return line[0].isupper() or line[0].isdigit()


def parse_date_line(line: str) -> str | None:
    """An ISO date when the whole line is a date ("June 10, 2023", "Published 2023-06-10")."""
    candidate = _DATE_PREFIX.sub("", line).strip().rstrip(".")
    if not 6 <= len(candidate) <= 40:
        return None
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(candidate, fmt).date().isoformat()
        except ValueError:
            continue
    return None


def _first_sentence(text: str, limit: int = 160) -> str:
    first = text.split("\n", 1)[0]
    match = re.match(r"(.{15,}?[.!?])(\s|$)", first)
    sentence = match.group(1) if match else first
    if len(sentence) > limit:
        sentence = sentence[:limit].rsplit(" ", 1)[0] + "…"
    return sentence


# --- segments and stories --------------------------------------------------------------


@dataclass
class _Line:
    text: str
    blank_before: int


@dataclass
class _Draft:
    lines: list[_Line] = field(default_factory=list)

    @property
    def words(self) -> int:
        return sum(len(line.text.split()) for line in self.lines)


def _segments(text: str) -> list[list[_Line]]:
    """Runs of lines separated by two or more blank lines."""
    segments: list[list[_Line]] = [[]]
    blanks = 0
    for raw in text.split("\n"):
        if not raw:
            blanks += 1
            continue
        if blanks >= 2 and segments[-1]:
            segments.append([])
        segments[-1].append(_Line(raw, blanks))
        blanks = 0
    return [s for s in segments if s]


def _split_stories(segments: list[list[_Line]], rules: CleanRules) -> list[_Draft]:
    drafts = [_Draft()]
    for segment in segments:
        body = [line for line in segment if not rules.is_drop(line.text)]
        opens_story = bool(body) and is_headline(body[0].text)
        big_enough = sum(len(line.text.split()) for line in body) >= rules.min_story_words
        if (
            drafts[-1].lines
            and opens_story
            and big_enough
            and (drafts[-1].words >= rules.min_story_words)
        ):
            drafts.append(_Draft())
        drafts[-1].lines.extend(segment)
    return drafts


@dataclass(frozen=True)
class _Cleaned:
    text: str
    title: str | None
    author: str | None
    published: str | None


def _clean_story(lines: list[_Line], rules: CleanRules, known_title: str | None) -> _Cleaned:
    title = known_title
    author: str | None = None
    published: str | None = None
    seen: set[str] = set()
    if title:
        seen.add(normalized_text(title))
    paragraphs: list[str] = []
    words = 0
    i = 0
    while i < len(lines):
        line = lines[i].text
        i += 1
        header_zone = words == 0  # before the first paragraph of article text
        if header_zone:
            if published is None and (date := parse_date_line(line)):
                published = date
                continue
            if author is None and line.lower() == "by" and i < len(lines):
                if _NAME.match(lines[i].text):
                    author = lines[i].text
                    i += 1
                continue
            if author is None and (match := _BYLINE.match(line)):
                author = match.group(1).strip()
                continue
        if rules.is_cut(line):
            if words >= rules.min_words_before_cut:
                break
            continue
        if rules.is_drop(line) or _ONLY_SYMBOLS.fullmatch(line):
            continue
        key = normalized_text(line)
        if key in seen:  # a headline or caption printed twice by the page template
            continue
        seen.add(key)
        if title is None and not paragraphs and is_headline(line):
            title = line
            continue
        # A hard-wrapped line continues the paragraph when it did not end a sentence.
        if (
            paragraphs
            and lines[i - 1].blank_before == 0
            and not paragraphs[-1].endswith((".", "!", "?", ":", '"', "'", ")"))
            and line[:1].islower()
        ):
            paragraphs[-1] = f"{paragraphs[-1]} {line}"
        else:
            paragraphs.append(line)
        words += len(line.split())
    return _Cleaned("\n\n".join(paragraphs), title, author, published)


def clean(story: Story, *, rules: CleanRules) -> list[Story]:
    """Story(text with furniture) -> one clean Story per story the input holds."""
    text = normalize(story.text)
    drafts = _split_stories(_segments(text), rules)
    out: list[Story] = []
    for draft in drafts:
        # The extractor's title belongs to the page, so to its first story only.
        known_title = story.title if not out else None
        cleaned = _clean_story(draft.lines, rules, known_title)
        if not cleaned.text:
            continue
        index = len(out)
        out.append(
            story.model_copy(
                update={
                    "id": story_id(url=story.source.url, text=cleaned.text, story_index=index),
                    "story_index": index,
                    "text": cleaned.text,
                    "title": cleaned.title or _first_sentence(cleaned.text),
                    "author": cleaned.author or (story.author if index == 0 else None),
                    "published": cleaned.published or story.published,
                }
            )
        )
    if not out:
        raise InputRejected("no article text left after removing page furniture", input=story.label)
    return out
