"""The tagger's code stays in short functions and small modules (ruff checks complexity and
statements, pipelines/tag/ruff.toml; this checks what ruff does not: lines)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

TAG = Path(__file__).parents[2] / "pipelines/tag"
MAX_FUNCTION_LINES = 60
MAX_MODULE_LINES = 500


def _functions(path: Path) -> list[tuple[str, int]]:
    tree = ast.parse(path.read_text("utf-8"))
    return [(f"{path.name}:{n.name}", n.end_lineno - n.lineno + 1) for n in ast.walk(tree)
            if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef) and n.end_lineno]  # fmt: skip


@pytest.mark.parametrize("path", sorted(TAG.rglob("*.py")), ids=lambda p: p.name)
def test_no_long_function(path: Path) -> None:
    long = [(name, n) for name, n in _functions(path) if n > MAX_FUNCTION_LINES]
    assert not long, f"functions over {MAX_FUNCTION_LINES} lines: {long}"


@pytest.mark.parametrize("path", sorted(TAG.rglob("*.py")), ids=lambda p: p.name)
def test_the_tag_modules_are_small(path: Path) -> None:
    assert len(path.read_text("utf-8").splitlines()) <= MAX_MODULE_LINES
