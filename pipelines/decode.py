"""Bytes to text for any input (file, page, feed summary): encodings and binary refusal (pure)."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from .errors import InputRejected

# Share of control characters above which a body is binary, not text in an odd encoding.
_MAX_CONTROL_SHARE = 0.05
_ALLOWED_CONTROLS = frozenset("\n\r\t\f\v")


def decode(data: bytes, *, name: str, declared: str | None = None, max_bytes: int) -> str:
    """Decode `data` (BOM, then declared charset, then UTF-8, then detection) or reject it."""
    if len(data) > max_bytes:
        raise InputRejected(
            f"too large: {len(data):,} bytes, the limit is {max_bytes:,}", input=name
        )
    if not data.strip():
        raise InputRejected("empty input", input=name)
    if data.startswith(codecs.BOM_UTF8):
        return _check_text(data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace"), name)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _check_text(data.decode("utf-16", errors="replace"), name)
    if b"\x00" in data[:4096]:
        raise InputRejected("binary content (NUL bytes), not text", input=name)
    for encoding in (declared, "utf-8"):
        if not encoding:
            continue
        try:
            return _check_text(data.decode(encoding), name)
        except (UnicodeDecodeError, LookupError):
            continue  # a wrong or unknown declared charset is common; fall through
    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise InputRejected("binary content: no text encoding fits", input=name)
    return _check_text(data.decode(best.encoding, errors="replace"), name)


def _check_text(text: str, name: str) -> str:
    sample = text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    if sample and controls / len(sample) > _MAX_CONTROL_SHARE:
        raise InputRejected("binary content (control characters), not text", input=name)
    return text
