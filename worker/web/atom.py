"""A subscription's alerts as an Atom feed (RFC 4287), for any feed reader.

Built with ElementTree, which escapes every text and attribute; entry content is
`type="text"`, so a reader shows article text as text, never as markup.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree as ET

from pipelines.alert_formats import plain_text, summary

from .data import entry_time

ATOM = "http://www.w3.org/2005/Atom"
ET.register_namespace("", ATOM)


def _iso(seconds: float) -> str:
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat().replace("+00:00", "Z")


def _add(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, f"{{{ATOM}}}{tag}", attrs)
    if text is not None:
        element.text = text
    return element


def atom_feed(name: str, alerts: list[dict[str, Any]], *, base_url: str) -> bytes:
    """The feed of one subscription's alerts (newest first), links under `base_url`."""
    base = base_url.rstrip("/")
    feed = ET.Element(f"{{{ATOM}}}feed")
    _add(feed, "id", f"urn:armswatch:subscription:{name}")
    _add(feed, "title", f"armswatch: {name}")
    newest = entry_time(alerts[0]["entry_id"]) if alerts else 0.0
    _add(feed, "updated", _iso(newest))
    _add(feed, "link", rel="self", href=f"{base}/subscriptions/{name}.atom")
    _add(feed, "link", rel="alternate", href=f"{base}/")
    _add(_add(feed, "author"), "name", "armswatch")
    _add(feed, "generator", "armswatch")
    for alert in alerts:
        s = summary(alert)
        entry = _add(feed, "entry")
        _add(entry, "id", f"urn:armswatch:alert:{name}:{s['entry_id']}")
        _add(entry, "title", f"{s['kind']}: {s['title']}", type="text")
        _add(entry, "updated", _iso(entry_time(s["entry_id"])))
        _add(entry, "link", rel="alternate", href=f"{base}/stories/{s['story_id']}")
        if s["source"].startswith(("http://", "https://")):
            _add(entry, "link", rel="related", href=s["source"])
        for row in s["transfers"]:
            _add(
                entry,
                "category",
                term=f"{row['supplier']}>{row['recipient']}:{row['system_class']}",
            )
        _add(entry, "content", plain_text(s), type="text")
    return bytes(ET.tostring(feed, encoding="utf-8", xml_declaration=True))
