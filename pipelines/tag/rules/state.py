"""What the extractor knows of one story while it reads it, passed to every rule."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from spacy.tokens import Doc

from ..actors import DocIndex
from ..triggers import Triggers

if TYPE_CHECKING:
    from .candidate import Candidate


@dataclass
class State:
    index: DocIndex
    t: Triggers
    doc: Doc
    # Codes of every party the story names.
    mentioned: set[str]
    # Per weapon class, the one state the story names as its maker (origins._story_origins).
    class_origins: dict[str, str] = field(default_factory=dict)
    # The candidates of the last sentence (or trigger) that gave any: light co-reference.
    last: list[Candidate] = field(default_factory=list)
