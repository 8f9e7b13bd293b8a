"""Decoding by the declared charset first, and a few bad bytes replaced and counted."""

from __future__ import annotations

import pytest

from pipelines.decode import decode_text, page_charset

TURKISH = "Türkiye took delivery of the first Bayraktar Kızılelma drones in İzmir. "
POLISH = "Łódź and Kraków: the Polish army received its first Borsuk vehicles. "


def _stray(text: str, byte: bytes = b"\x9d") -> bytes:
    """UTF-8 text with one byte that is not UTF-8 in the middle."""
    half = len(text) // 2
    return text[:half].encode() + byte + text[half:].encode()


def test_one_stray_byte_in_utf8_text_is_replaced_not_guessed_anew() -> None:
    decoded = decode_text(_stray(TURKISH * 3), name="a.txt", max_bytes=100_000)
    assert (decoded.encoding, decoded.errors) == ("utf-8", 1)
    assert decoded.text.count("Türkiye") == 3 and "İzmir" in decoded.text
    assert "\ufffd" in decoded.text


@pytest.mark.parametrize(
    "meta",
    [
        '<meta charset="utf-8">',
        "<meta charset=UTF-8>",
        '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">',
    ],
)
def test_the_page_s_meta_charset_is_used(meta: str) -> None:
    html = f"<html><head>{meta}<title>t</title></head><body><p>{POLISH}</p></body></html>"
    data = html.encode().replace(b"</p>", b" \xe9</p>")  # a stray Latin-1 byte
    decoded = decode_text(data, name="p.html", max_bytes=100_000)
    assert (decoded.encoding, decoded.errors) == ("utf-8", 1)
    assert "Łódź and Kraków" in decoded.text


def test_the_http_charset_comes_before_guessing() -> None:
    decoded = decode_text(
        _stray(POLISH * 2, b"\xff"), name="u", declared="utf-8", max_bytes=100_000
    )
    assert (decoded.encoding, decoded.errors) == ("utf-8", 1)
    assert decoded.text.startswith("Łódź")
    # A single-byte page declared as such is read as declared.
    cyrillic = "Россия поставила беспилотники. " * 3
    assert (
        decode_text(
            cyrillic.encode("cp1251"), name="u", declared="windows-1251", max_bytes=10_000
        ).text
        == cyrillic
    )
    meta = f'<meta charset="windows-1251"><p>{cyrillic}</p>'
    assert cyrillic in decode_text(meta.encode("cp1251"), name="u", max_bytes=10_000).text


@pytest.mark.parametrize("repeat", [1, 20])
def test_a_declared_utf8_that_does_not_fit_falls_through(repeat: int) -> None:
    # Bad bytes under the declared UTF-8 and no valid UTF-8 character (a few, or many):
    # Latin-1, whatever the header says.
    data = ("Le ministre a confirmé la livraison à Bamako. " * repeat).encode("latin-1")
    decoded = decode_text(data, name="u", declared="utf-8", max_bytes=10_000)
    assert decoded.errors == 0 and "confirmé" in decoded.text


def test_page_charset() -> None:
    assert page_charset(b'<?xml version="1.0" encoding="ISO-8859-2"?><rss/>') == "iso-8859-2"
    assert page_charset(b'<meta charset="utf-16">') == "utf-8"  # WHATWG: cannot be UTF-16
    assert page_charset(b"<p>no declaration</p>") is None
    assert page_charset(b" " * 2000 + b'<meta charset="koi8-r">') is None  # past the prescan
