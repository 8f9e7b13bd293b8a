"""Reading input files for `tag` and `replay`: folders walked, bytes decoded, problems named."""

from __future__ import annotations

import errno
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import BinaryIO

from pipelines.decode import decode_text
from pipelines.errors import InputRejected
from pipelines.record import Source, Story

from ..settings import Settings
from .common import (
    INPUT_SUFFIXES,
    Problem,
    printable,
)


def collect_files(paths: Sequence[str]) -> tuple[list[Path], list[Problem]]:
    """Files named or found in folders (inputs by suffix), and the paths that are missing."""
    files: list[Path] = []
    problems: list[Problem] = []
    for name in paths:
        path = Path(name)
        if path.is_dir():
            files.extend(
                sorted(
                    p
                    for p in path.rglob("*")
                    if p.is_file()
                    and p.suffix.lower() in INPUT_SUFFIXES
                    and not any(part.startswith(".") for part in p.relative_to(path).parts)
                )
            )
        elif (missing := _why_missing(path)) is None:
            files.append(path)
        else:
            problems.append(Problem(name, missing))
    return files, problems


def _why_missing(path: Path) -> str | None:
    """Why `path` cannot be opened, or None when it exists (a loop is not 'no such file')."""
    try:
        path.stat()
    except FileNotFoundError:
        if path.is_symlink():
            return f"broken symbolic link (to {printable(str(path.readlink()))})"
        return "no such file or directory"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return "symbolic link loop (too many levels of symbolic links)"
        return exc.strerror or str(exc)
    return None


def read_input(name: str, data: bytes, *, settings: Settings) -> Story:
    """An input Story from bytes: decoded, sniffed as HTML or text."""
    from pipelines.extract import looks_like_html

    decoded = decode_text(data, name=name, max_bytes=settings.max_input_bytes)
    text = decoded.text
    html = Path(name).suffix.lower() in {".html", ".htm", ".xhtml"} or looks_like_html(text)
    return Story(
        source=Source(kind="file", path=name),
        raw=text,
        raw_format="html" if html else "text",
        decode_errors=decoded.errors or None,  # bad bytes replaced, not the file refused
    )


def read_capped(stream: BinaryIO, limit: int, *, name: str) -> bytes:
    """At most `limit` bytes of `stream`; more is rejected (/dev/zero, a pipe that never ends)."""
    data = stream.read(limit + 1)
    if len(data) > limit:
        raise InputRejected(f"too large: more than {limit:,} bytes (max_input_bytes)", input=name)
    return data


def read_inputs(names: Sequence[str], settings: Settings) -> tuple[list[Story], list[Problem]]:
    stories: list[Story] = []
    problems: list[Problem] = []
    limit = settings.max_input_bytes
    for name in names:
        try:
            if name == "-":
                data = read_capped(sys.stdin.buffer, limit, name="<stdin>")
            else:
                with Path(name).open("rb") as f:
                    data = read_capped(f, limit, name=name)
            stories.append(read_input("<stdin>" if name == "-" else name, data, settings=settings))
        except OSError as exc:
            problems.append(Problem(name, exc.strerror or str(exc)))
        except InputRejected as exc:
            problems.append(Problem(name, exc.reason))
    return stories, problems
