"""The furniture rules matched as one regex agree with matching each pattern in turn."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from pipelines.clean import CleanRules, default_rules
from tests.conftest import DATA, SEEDS

RULES = default_rules()
LINES = sorted(
    {
        line.strip()
        for path in [*SEEDS.glob("*.txt"), *DATA.glob("*/*.txt")]
        for line in path.read_text(encoding="utf-8").splitlines()
    }
    | {"Advertisement", "Share this article", "Read more:", "Sign up for our newsletter", "©"}
)


def _one_by_one(patterns: tuple[re.Pattern[str], ...], line: str) -> bool:
    return any(p.fullmatch(line) for p in patterns)


def test_every_line_of_the_labelled_texts_is_judged_alike() -> None:
    assert len(LINES) > 1000
    for line in LINES:
        assert RULES.is_drop(line) == _one_by_one(RULES.drop, line), line
        assert RULES.is_cut(line) == _one_by_one(RULES.cut, line), line
    assert any(RULES.is_drop(line) for line in LINES)


@given(st.sampled_from(LINES), st.text(max_size=30))
def test_edited_lines_are_judged_alike(line: str, extra: str) -> None:
    for candidate in (line + extra, extra + line, extra, line[: len(line) // 2]):
        assert RULES.is_drop(candidate) == _one_by_one(RULES.drop, candidate)
        assert RULES.is_cut(candidate) == _one_by_one(RULES.cut, candidate)


def test_patterns_with_different_flags_are_matched_one_by_one() -> None:
    rules = CleanRules(drop=(re.compile("ADS?", re.I), re.compile("Promo")), cut=())
    assert rules.is_drop("ads") and rules.is_drop("Promo") and not rules.is_drop("promo")
    assert not rules.is_cut("anything")
