"""The page's pure parts: positions from outside, evidence cut into the text."""

from __future__ import annotations

from worker.web.data import format_cursor, parse_cursor
from worker.web.story import paragraphs


def test_a_position_from_outside_keeps_only_well_formed_parts() -> None:
    text = "drones=1700000000000-3,bad name=1-1,x=1-1;DROP,~ledger=5-0,ok=12,y=9-9"
    assert parse_cursor(text) == {"drones": "1700000000000-3", "~ledger": "5-0", "y": "9-9"}
    assert parse_cursor(None) == {} and parse_cursor("\n<script>") == {}
    assert parse_cursor(format_cursor({"b": "2-0", "a": "1-0"})) == {"a": "1-0", "b": "2-0"}
    assert format_cursor({"b": "2-0", "a": "1-0"}) == "a=1-0,b=2-0"


def _ev(sentence: str, start: int, end: int) -> dict:
    return {"sentence": sentence, "start": start, "end": end}


def test_evidence_is_marked_at_its_offsets_or_found_by_its_sentence() -> None:
    text = "First para.\n\nIran sent drones. Russia paid.\n\nLast one."
    s1, s2 = "Iran sent drones.", "Russia paid."
    start = text.index(s1)
    transfers = [
        {"evidence": [_ev(s1, start, start + len(s1))]},
        # Offsets that do not hold the sentence (an older record): found by its text.
        {"evidence": [_ev(s2, 0, 5)]},
        {"evidence": [_ev("Not in the text at all.", 0, 3)]},
    ]
    assert paragraphs(text, transfers) == [
        [("First para.", ())],
        [(s1, (1,)), (" ", ()), (s2, (2,))],
        [("Last one.", ())],
    ]


def test_overlapping_evidence_carries_both_transfers() -> None:
    text = "Iran sent drones and missiles to Russia."
    transfers = [
        {"evidence": [_ev(text, 0, len(text))]},
        {"evidence": [_ev("drones and missiles", 10, 29)]},
    ]
    assert paragraphs(text, transfers) == [
        [("Iran sent ", (1,)), ("drones and missiles", (1, 2)), (" to Russia.", (1,))]
    ]
