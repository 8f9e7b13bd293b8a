"""Bytes to text for any input (file, page, feed summary): encodings and binary refusal (pure).

The order is WHATWG's: a byte-order mark, the charset the server declared, the one the
page declares (`<meta charset>`, `http-equiv`, the XML declaration), UTF-8, then detection.
An encoding is kept when the bytes fit it but for a few bad bytes (for UTF-8, when the text
also has valid non-ASCII characters): they are replaced (U+FFFD) and counted
(`Decoded.errors`), instead of the whole text being guessed anew (one stray byte turned a
UTF-8 page into cp1250 mojibake, or into "binary").
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass

from charset_normalizer import from_bytes

from .errors import InputRejected

# Share of control characters above which a body is binary, not text in an odd encoding.
_MAX_CONTROL_SHARE = 0.05
_ALLOWED_CONTROLS = frozenset("\n\r\t\f\v")
# Where a page declares its charset: WHATWG's prescan reads the first 1024 bytes.
_PRESCAN_BYTES = 1024
_META_CHARSET = re.compile(
    rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)"""
    rb"""|<\?xml\b[^>]*?\bencoding\s*=\s*["']([A-Za-z0-9._:-]+)""",
    re.IGNORECASE,
)
# Each byte a codec cannot read becomes this lone surrogate (no codec yields one), counted
# and then replaced by U+FFFD. surrogateescape would do for bytes over 0x7F only.
_MARK = "\udc00"


def _mark(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):
        raise error
    return _MARK * (error.end - error.start), error.end


codecs.register_error("armswatch-mark", _mark)


@dataclass(frozen=True)
class Decoded:
    text: str
    encoding: str  # the codec used
    errors: int = 0  # bytes that did not decode, each replaced by U+FFFD


def decode(data: bytes, *, name: str, declared: str | None = None, max_bytes: int) -> str:
    """The text of `data` (see `decode_text`)."""
    return decode_text(data, name=name, declared=declared, max_bytes=max_bytes).text


def decode_text(data: bytes, *, name: str, declared: str | None = None, max_bytes: int) -> Decoded:
    """Decode `data` (BOM, declared charset, page's charset, UTF-8, detection) or reject it."""
    if len(data) > max_bytes:
        raise InputRejected(
            f"too large: {len(data):,} bytes, the limit is {max_bytes:,}", input=name
        )
    if not data.strip():
        raise InputRejected("empty input", input=name)
    if data.startswith(codecs.BOM_UTF8):
        return _check(_lenient(data[len(codecs.BOM_UTF8) :], "utf-8"), name)
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return _check(_lenient(data, "utf-16"), name)
    if b"\x00" in data[:4096]:
        raise InputRejected("binary content (NUL bytes), not text", input=name)
    tolerated = max(8, len(data) // 1000)  # "a few": one in a thousand bytes, at least 8
    for encoding in (declared, page_charset(data), "utf-8"):
        found = _codec(encoding)
        if found is None:
            continue  # an unknown declared charset is common; fall through
        decoded = _lenient(data, found)
        if _fits(decoded, tolerated):
            return _check(decoded, name)
    best = from_bytes(data[:200_000]).best()
    if best is None:
        raise InputRejected("binary content: no text encoding fits", input=name)
    return _check(_lenient(data, best.encoding), name)


def page_charset(data: bytes) -> str | None:
    """The charset a page or XML document declares in its first 1024 bytes, if any."""
    match = _META_CHARSET.search(data[:_PRESCAN_BYTES])
    if match is None:
        return None
    label = (match.group(1) or match.group(2)).decode("ascii").lower()
    # An ASCII-readable declaration of UTF-16 is wrong by construction (WHATWG: UTF-8).
    return "utf-8" if label.startswith("utf-16") else label


def _fits(decoded: Decoded, tolerated: int) -> bool:
    """Whether the text is in this encoding, but for a few bad bytes."""
    if decoded.errors == 0:
        return True
    if decoded.errors > tolerated:
        return False
    # Latin-1 text read as UTF-8 fails on every accented letter and has no valid one: UTF-8
    # needs at least as many valid non-ASCII characters as bad bytes (each bad byte is one
    # U+FFFD, itself non-ASCII: hence twice).
    return decoded.encoding != "utf-8" or _non_ascii(decoded.text) >= 2 * decoded.errors


def _non_ascii(text: str) -> int:
    """Non-ASCII characters, the replaced bytes (U+FFFD) included."""
    return len(text) - len(text.encode("ascii", errors="ignore"))


def _codec(label: str | None) -> str | None:
    if not label:
        return None
    try:
        return codecs.lookup(label.strip()).name
    except LookupError:
        return None


def _lenient(data: bytes, encoding: str) -> Decoded:
    """`data` in `encoding`, each byte it cannot read replaced by U+FFFD and counted."""
    text = data.decode(encoding, errors="armswatch-mark")
    errors = text.count(_MARK)
    return Decoded(text.replace(_MARK, "\ufffd") if errors else text, encoding, errors)


def _check(decoded: Decoded, name: str) -> Decoded:
    sample = decoded.text[:20000]
    controls = sum(1 for ch in sample if ord(ch) < 32 and ch not in _ALLOWED_CONTROLS)
    if sample and controls / len(sample) > _MAX_CONTROL_SHARE:
        raise InputRejected("binary content (control characters), not text", input=name)
    return decoded
