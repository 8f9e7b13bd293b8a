"""CONTRACT.md's tagged record, checked by hand (independently of pipelines.record)."""

from __future__ import annotations

import re
from typing import Any

ACTOR = re.compile(r"^([A-Z]{2}|[a-z0-9]+(-[a-z0-9]+)*)$")
CLASSES = {"drone", "missile", "air_defense", "aircraft", "other"}
STATUSES = {"delivered", "agreed", "sought", "production"}
TOPICS = {"drone_transfer", "missile_transfer", "weapons_production", "sanctions"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$")


def check_record(rec: dict[str, Any]) -> list[str]:
    """Every way `rec` departs from the contract, as readable strings (empty: valid)."""
    problems: list[str] = []

    def need(cond: bool, what: str) -> None:
        if not cond:
            problems.append(what)

    need(rec.get("schema_version") == 1, "schema_version is not 1")
    need(isinstance(rec.get("id"), str) and len(rec["id"]) >= 8, "id missing or short")
    src = rec.get("source") or {}
    need(src.get("kind") in {"file", "feed", "url"}, f"source.kind {src.get('kind')!r}")
    for key in ("path", "url", "feed"):
        need(key in src and (src[key] is None or isinstance(src[key], str)), f"source.{key}")
    need(isinstance(rec.get("story_index"), int) and rec["story_index"] >= 0, "story_index")
    need(isinstance(rec.get("title"), str) and rec["title"].strip() != "", "title")
    need(rec.get("published") is None or bool(ISO_DATE.match(rec["published"])), "published")
    need(isinstance(rec.get("language"), str), "language")
    text = rec.get("text")
    need(isinstance(text, str) and text.strip() != "", "text")
    text = text or ""
    need(isinstance(rec.get("relevant"), bool), "relevant")
    rel = rec.get("relevance")
    need(isinstance(rel, (int, float)) and 0 <= rel <= 1, "relevance")
    for t in rec.get("topics") or []:
        need(t.get("label") in TOPICS and 0 <= t.get("score", -1) <= 1, f"topic {t}")
    need(isinstance(rec.get("topics"), list), "topics")
    for e in rec.get("entities") or []:
        span_ok = (
            0 <= e["start"] < e["end"] <= len(text) and text[e["start"] : e["end"]] == e["text"]
        )
        need(span_ok, f"entity offsets {e}")
        need(e.get("norm") is None or bool(ACTOR.match(e["norm"])), f"entity norm {e}")
        need(isinstance(e.get("label"), str), f"entity label {e}")
    for w in rec.get("weapons") or []:
        need(
            w.get("class") in CLASSES and w.get("mentions", 0) >= 1 and w.get("name"), f"weapon {w}"
        )
    for tr in rec.get("transfers") or []:
        for role in ("supplier", "recipient"):
            need(tr.get(role) is None or bool(ACTOR.match(tr[role])), f"{role} {tr.get(role)!r}")
        need(tr.get("system_class") in CLASSES, f"system_class {tr.get('system_class')!r}")
        need(tr.get("status") in STATUSES, f"status {tr.get('status')!r}")
        need(isinstance(tr.get("denied"), bool), "denied")
        need(isinstance(tr.get("systems"), list), "systems")
        need(0 <= tr.get("confidence", -1) <= 1, "confidence")
        need(len(tr.get("evidence") or []) >= 1, "evidence missing")
        for ev in tr.get("evidence") or []:
            need(text[ev["start"] : ev["end"]] == ev["sentence"], f"evidence offsets {ev}")
    pipe = rec.get("pipeline") or {}
    need(isinstance(pipe.get("version"), str) and isinstance(pipe.get("model"), str), "pipeline")
    return problems
