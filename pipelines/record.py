"""The record that flows through every stage: CONTRACT.md "The tagged record", schema v1.

Stages never mutate a Story; they return `story.model_copy(update=...)`. Fields that the
contract does not list are additions (allowed: optional, never renamed) or internal
(`raw`, `raw_format`: the input before extraction, excluded from the JSON).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION: Literal[1] = 1

SystemClass = Literal["drone", "missile", "air_defense", "aircraft", "other"]
Status = Literal["delivered", "agreed", "sought", "production"]
TopicLabel = Literal["drone_transfer", "missile_transfer", "weapons_production", "sanctions"]
SourceKind = Literal["file", "feed", "url"]
RawFormat = Literal["text", "html"]

SYSTEM_CLASSES: tuple[SystemClass, ...] = ("drone", "missile", "air_defense", "aircraft", "other")
STATUSES: tuple[Status, ...] = ("delivered", "agreed", "sought", "production")
TOPICS: tuple[TopicLabel, ...] = (
    "drone_transfer",
    "missile_transfer",
    "weapons_production",
    "sanctions",
)
# `relevant` is true when one of these topics applies (sanctions alone is not enough).
RELEVANT_TOPICS: frozenset[str] = frozenset(TOPICS[:3])


class _Frozen(BaseModel):
    # Unknown fields are ignored so that a reader of an older version accepts newer
    # records: the contract only ever grows by optional fields.
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Source(_Frozen):
    kind: SourceKind
    path: str | None = None
    url: str | None = None
    feed: str | None = None
    tags: tuple[str, ...] = ()  # addition: the feed's tags from feeds.yaml


class Entity(_Frozen):
    text: str
    label: str
    norm: str | None = None
    start: int
    end: int


class Topic(_Frozen):
    label: TopicLabel
    score: float = Field(ge=0.0, le=1.0)


class Weapon(_Frozen):
    name: str
    system_class: SystemClass = Field(alias="class")
    mentions: int = Field(ge=1)


class Evidence(_Frozen):
    sentence: str
    start: int
    end: int


class Transfer(_Frozen):
    supplier: str | None
    recipient: str | None
    system_class: SystemClass
    systems: tuple[str, ...] = ()
    status: Status
    denied: bool = False
    confidence: float = Field(ge=0.0, le=1.0)
    evidence: tuple[Evidence, ...] = ()
    # Additions: the parties to the transfer who deny it, when the text names them, and
    # those who confirm it ("Iran acknowledged supplying drones"): the ledger withdraws a
    # party's earlier denial on a later confirmation by the same party.
    denied_by: tuple[str, ...] = ()
    confirmed_by: tuple[str, ...] = ()


class PipelineInfo(_Frozen):
    version: str
    model: str | None = None


class Story(_Frozen):
    schema_version: Literal[1] = SCHEMA_VERSION
    id: str = ""
    source: Source
    story_index: int = 0
    title: str | None = None
    published: str | None = None
    language: str | None = "en"
    text: str = ""
    relevant: bool = False
    relevance: float = Field(default=0.0, ge=0.0, le=1.0)
    topics: tuple[Topic, ...] = ()
    entities: tuple[Entity, ...] = ()
    weapons: tuple[Weapon, ...] = ()
    transfers: tuple[Transfer, ...] = ()
    pipeline: PipelineInfo | None = None
    # Additions to the contract (optional):
    author: str | None = None
    # How the text was obtained: "text" (plain text), "html" (extracted from a page),
    # "feed_summary" (the page could not be fetched or extracted; the feed's summary).
    extraction: str | None = None
    # Every place this story was found (feeds, URLs), the first one first: the same wire
    # story on several outlets is one story with several sources.
    sources: tuple[Source, ...] = ()
    # Bytes of the input that did not decode in its encoding, each replaced by U+FFFD (a
    # stray byte in a UTF-8 page); None when every byte decoded.
    decode_errors: int | None = None
    # Internal, never serialised: the input before the extract stage.
    raw: str | None = Field(default=None, exclude=True)
    raw_format: RawFormat = Field(default="text", exclude=True)

    @property
    def label(self) -> str:
        """How logs and errors name this input: its path or URL, then the story index."""
        where = self.source.path or self.source.url or self.id or "<input>"
        return f"{where}#{self.story_index}" if self.story_index else where

    def to_json(self) -> str:
        """The contract's JSON (by alias, so `class` not `system_class` in weapons)."""
        return self.model_dump_json(by_alias=True)

    @classmethod
    def from_json(cls, data: str | bytes) -> Story:
        return cls.model_validate_json(data)


def to_payload(story: Story) -> dict[str, object]:
    """An input Story as a JSON-safe task argument (keeps `raw`, which the record omits)."""
    data = story.model_dump(mode="json", by_alias=True, exclude_defaults=True)
    data["raw"] = story.raw
    data["raw_format"] = story.raw_format
    return data


def from_payload(data: dict[str, object]) -> Story:
    """The inverse of `to_payload`."""
    return Story.model_validate(data)
