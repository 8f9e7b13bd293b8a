"""A file with a stray byte is read, not refused or garbled, and the record says so."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any


def test_one_bad_byte_in_utf8_keeps_the_text_and_is_counted(
    run: Callable[..., Any], tmp_path: Path
) -> None:
    path = tmp_path / "stray.txt"
    path.write_bytes("Türkiye delivered Bayraktar TB2 drones \xff to Qatar.\n".encode("latin-1")
                     .replace(b"T\xfc", "Tü".encode()))  # fmt: skip
    result = run("tag", str(path))
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout.splitlines()[0])
    assert record["text"].startswith("Türkiye delivered")
    assert record["decode_errors"] == 1
