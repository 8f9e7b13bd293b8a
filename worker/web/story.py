"""The story view's text: paragraphs cut into plain and evidence pieces (escaped by the template).

    text + evidence spans -> [[(piece, transfer numbers or ()), ...], ...]   one list per paragraph

An evidence span is found at its offsets when the text there is its sentence, else by the
sentence's first occurrence (a record from an older tagger); one that is in neither place is
listed under the transfer but not marked.
"""

from __future__ import annotations

import itertools
import re
from typing import Any

Piece = tuple[str, tuple[int, ...]]
_PARAGRAPH = re.compile(r"\n\s*\n")


def evidence_spans(text: str, transfers: list[dict[str, Any]]) -> list[tuple[int, int, int]]:
    """(start, end, transfer number) of every evidence sentence that is in the text."""
    spans = []
    for number, transfer in enumerate(transfers, start=1):
        for ev in transfer.get("evidence") or []:
            sentence = str(ev.get("sentence") or "")
            start, end = ev.get("start"), ev.get("end")
            if not sentence:
                continue
            if not (
                isinstance(start, int)
                and isinstance(end, int)
                and 0 <= start < end <= len(text)
                and " ".join(text[start:end].split()) == " ".join(sentence.split())
            ):
                start = text.find(sentence)
                end = start + len(sentence)
            if start >= 0:
                spans.append((start, end, number))
    return spans


def pieces(text: str, spans: list[tuple[int, int, int]]) -> list[Piece]:
    """The text cut at every span boundary; each piece with the transfers whose evidence it is."""
    cuts = sorted({0, len(text), *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    out: list[Piece] = []
    for start, end in itertools.pairwise(cuts):
        marks = tuple(sorted({n for s, e, n in spans if s <= start and end <= e}))
        out.append((text[start:end], marks))
    return out


def paragraphs(text: str, transfers: list[dict[str, Any]]) -> list[list[Piece]]:
    """The story's text as paragraphs of pieces, evidence marked."""
    result: list[list[Piece]] = [[]]
    for piece, marks in pieces(text, evidence_spans(text, transfers)):
        parts = _PARAGRAPH.split(piece)
        for i, part in enumerate(parts):
            if i:
                result.append([])
            if part:
                result[-1].append((part, marks))
    return [p for p in result if p]
