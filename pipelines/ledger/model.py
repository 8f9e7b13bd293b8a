"""The transfer ledger's pure part: a tagged story -> reports -> entries, and what changed.

    Story(tagged) + its `armswatch:tagged` entry id
      reports  -> list[Report]   one per (supplier, recipient, class, kind) the story tells,
                                 and one per named system under it
      merge    -> (state, list[change])   the entry's stored state with the report folded in

The state keeps only order-free summaries (earliest and latest by report date, counts,
unions), so applying the same stories in any order gives the same ledger: concurrent
workers and `armswatch ledger rebuild` agree. Only the change list depends on the order.

Denials: each party's denial is kept with its first and latest report. A denial is
withdrawn only when the same party is later reported confirming the transfer
(`confirmed_by`); a later story that merely reports the transfer undenied changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict

from ..record import Source, Story, Transfer

KINDS = ("transfer", "production")
# How far a transfer has gone; production is a kind of its own with one status.
RANK = {"sought": 1, "agreed": 2, "delivered": 3, "production": 1}
# A denial whose party the text does not name.
UNNAMED = "?"
# Evidence kept per step: a sentence, cut so that one long sentence cannot bloat an entry.
_EVIDENCE_CHARS = 400

# When and where a report sits in time: (report date, tagged stream id ms, sequence). The
# date decides; the stream id breaks ties the same way on every replay.
Order = list[Any]


class Told(BaseModel):
    """The part of a tagged record the ledger reads (validating the whole record, its text
    and entities, would cost ten times as much)."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    id: str
    published: str | None = None
    source: Source
    sources: tuple[Source, ...] = ()
    transfers: tuple[Transfer, ...] = ()


def kind_of(status: str) -> str:
    return "production" if status == "production" else "transfer"


def entry_id(
    supplier: str, recipient: str, system_class: str, kind: str, system: str | None
) -> str:
    """`IR:RU:drone:transfer`, and `IR:RU:drone:transfer:Shahed-136` for a named system."""
    base = f"{supplier}:{recipient}:{system_class}:{kind}"
    return f"{base}:{system}" if system else base


def parent_id(entry: str) -> str:
    """The pair entry of a system entry (itself for a pair entry)."""
    return ":".join(entry.split(":", 4)[:4])


@dataclass(frozen=True)
class Report:
    """What one story says about one ledger entry."""

    entry: str
    supplier: str
    recipient: str
    system_class: str
    kind: str
    system: str | None
    systems: tuple[str, ...]
    status: str
    denied_by: tuple[str, ...]  # empty: not denied; UNNAMED: denied by someone unnamed
    confirmed_by: tuple[str, ...]
    confidence: float
    evidence: str
    story: str
    date: str  # ISO 8601 UTC
    at: float  # the same date in epoch seconds (the time indexes' score)
    order: tuple[str, int, int]
    sources: tuple[str, ...]

    def mark(self) -> dict[str, Any]:
        """When and in which story, without the evidence (first and last seen)."""
        return {"date": self.date, "story": self.story, "order": list(self.order), "at": self.at}

    def step(self) -> dict[str, Any]:
        """A mark with the evidence sentence (history, denials, confirmations)."""
        return {
            "date": self.date,
            "story": self.story,
            "evidence": self.evidence,
            "order": list(self.order),
            "at": self.at,
        }


def report_date(story: Told | Story, tagged_id: str) -> tuple[tuple[str, int, int], float]:
    """((date, ms, seq), epoch seconds): the story's publication date when it has one, else
    when it was tagged."""
    ms, _, seq = tagged_id.partition("-")
    stamp = int(ms) if ms.isdigit() else 0
    when = _parse_date(story.published) or datetime.fromtimestamp(stamp / 1000, UTC)
    order = (when.strftime("%Y-%m-%dT%H:%M:%SZ"), stamp, int(seq) if seq.isdigit() else 0)
    return order, when.timestamp()


def _parse_date(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None  # an unreadable date falls back to the time the story was tagged
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def source_names(story: Told | Story) -> tuple[str, ...]:
    """Each outlet the story came from: a feed's name, a URL's host, or a file's path."""
    names: list[str] = []
    for source in (story.source, *story.sources):
        name = source.feed or (urlsplit(source.url).hostname if source.url else None)
        name = name or source.path or source.url
        if name and name not in names:
            names.append(name)
    return tuple(names)


def reports(story: Told | Story, tagged_id: str) -> list[Report]:
    """The story's word on each ledger entry; transfers without both parties are left out."""
    order, at = report_date(story, tagged_id)
    sources = source_names(story)
    out: dict[str, Report] = {}
    for t in story.transfers:
        if not t.supplier or not t.recipient:
            continue  # not a relationship between two named parties
        kind = kind_of(t.status)
        for system in (None, *t.systems):
            found = _report(story.id, t, kind, system, (order, at), sources)
            known = out.get(found.entry)
            out[found.entry] = found if known is None else _combine(known, found)
    return list(out.values())


def _report(
    story: str,
    t: Transfer,
    kind: str,
    system: str | None,
    when: tuple[tuple[str, int, int], float],
    sources: tuple[str, ...],
) -> Report:
    assert t.supplier, "reports() skips transfers without a supplier"
    assert t.recipient, "reports() skips transfers without a recipient"
    denied_by = tuple(sorted(t.denied_by)) or ((UNNAMED,) if t.denied else ())
    evidence = " ".join(t.evidence[0].sentence.split()) if t.evidence else ""
    return Report(
        entry=entry_id(t.supplier, t.recipient, t.system_class, kind, system),
        supplier=t.supplier,
        recipient=t.recipient,
        system_class=t.system_class,
        kind=kind,
        system=system,
        systems=(system,) if system else tuple(sorted(t.systems)),
        status=t.status,
        denied_by=denied_by if t.denied else (),
        confirmed_by=tuple(sorted(t.confirmed_by)),
        confidence=t.confidence,
        evidence=evidence[:_EVIDENCE_CHARS],
        story=story,
        date=when[0][0],
        at=when[1],
        order=when[0],
        sources=sources,
    )


def _combine(a: Report, b: Report) -> Report:
    """Two transfers of one story on one entry (not produced by the tagger; kept safe)."""
    best = a if RANK[a.status] >= RANK[b.status] else b
    return Report(
        **{
            **best.__dict__,
            "systems": tuple(sorted({*a.systems, *b.systems})),
            "denied_by": tuple(sorted({*a.denied_by, *b.denied_by})),
            "confirmed_by": tuple(sorted({*a.confirmed_by, *b.confirmed_by})),
            "confidence": max(a.confidence, b.confidence),
        }
    )


# --- merging a report into an entry's state ---------------------------------------------------


def merge(state: dict[str, Any] | None, r: Report) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The entry's state with the report folded in, and the changes it makes."""
    old = state or _empty(r)
    step, mark = r.step(), r.mark()
    new: dict[str, Any] = {**old}
    new["systems"] = sorted({*old["systems"], *r.systems})
    new["stories"] = old["stories"] + 1
    new["sources"] = sorted({*old["sources"], *r.sources})
    new["first"] = _earlier(old["first"], mark)
    new["last"] = _later(old["last"], mark)
    new["steps"] = {**old["steps"], r.status: _earlier(old["steps"].get(r.status), step)}
    denials = dict(old["denials"])
    for party in r.denied_by:
        known = denials.get(party) or {"first": None, "last": None}
        denials[party] = {
            "first": _earlier(known["first"], step),
            "last": _later(known["last"], mark),
        }
    new["denials"] = denials
    confirmations = dict(old["confirmations"])
    for party in r.confirmed_by:
        confirmations[party] = _later(confirmations.get(party), step)
    new["confirmations"] = confirmations
    new["latest"] = _later(old["latest"], {"order": step["order"], "confidence": r.confidence})
    return new, _changes(state, new, r)


def _earlier(known: dict[str, Any] | None, step: dict[str, Any]) -> dict[str, Any]:
    return step if known is None or step["order"] < known["order"] else known


def _later(known: dict[str, Any] | None, step: dict[str, Any]) -> dict[str, Any]:
    return step if known is None or step["order"] > known["order"] else known


def _empty(r: Report) -> dict[str, Any]:
    return {
        "id": r.entry,
        "supplier": r.supplier,
        "recipient": r.recipient,
        "system_class": r.system_class,
        "kind": r.kind,
        "system": r.system,
        "systems": [],
        "stories": 0,
        "sources": [],
        "first": None,
        "last": None,
        "steps": {},
        "denials": {},
        "confirmations": {},
        "latest": None,
    }


def _order(item: dict[str, Any]) -> Order:
    return list(item["order"])


def status_of(state: dict[str, Any]) -> str:
    """The most advanced status any story reported."""
    steps: dict[str, Any] = state["steps"]
    return max(steps, key=lambda s: RANK[s])


def active_denials(state: dict[str, Any]) -> list[str]:
    """Parties whose denial stands: no confirmation of theirs reported after it."""
    out = []
    for party, denial in sorted(state["denials"].items()):
        confirmed = state["confirmations"].get(party)
        if confirmed is None or _order(confirmed) < _order(denial["last"]):
            out.append(party)
    return out


def _changes(
    before: dict[str, Any] | None, after: dict[str, Any], r: Report
) -> list[dict[str, Any]]:
    """New entry, status advance, a denial that appears or is withdrawn (by whom)."""
    base = {
        "entry": after["id"],
        "supplier": after["supplier"],
        "recipient": after["recipient"],
        "system_class": after["system_class"],
        "kind": after["kind"],
        "system": after["system"],
        "systems": after["systems"],
        "status": status_of(after),
        "denied": bool(active_denials(after)),
    }
    out: list[dict[str, Any]] = []
    if before is None:
        out.append({**base, "change": "new_entry", "before": None, "by": None})
    elif RANK[status_of(after)] > RANK[status_of(before)]:
        out.append({**base, "change": "status_advance", "before": status_of(before), "by": None})
    was = set(active_denials(before)) if before else set()
    now = set(active_denials(after))
    out += [{**base, "change": "denial", "before": None, "by": p} for p in sorted(now - was)]
    out += [
        {**base, "change": "denial_withdrawn", "before": None, "by": p} for p in sorted(was - now)
    ]
    return out


# --- the JSON an entry is read as -----------------------------------------------------------


def entry_view(state: dict[str, Any]) -> dict[str, Any]:
    """An entry as one JSON object (CLI `--json`, the web page)."""
    steps = sorted(state["steps"].items(), key=lambda kv: _order(kv[1]))
    history: list[dict[str, Any]] = []
    best = 0
    for status, step in steps:
        history.append({"status": status, **_public(step), "behind": RANK[status] < best})
        best = max(best, RANK[status])
    denials = []
    standing = set(active_denials(state))
    for party, denial in sorted(state["denials"].items()):
        confirmed = state["confirmations"].get(party)
        denials.append(
            {
                "by": party,
                **_public(denial["first"]),
                "withdrawn": None if party in standing or confirmed is None else _public(confirmed),
            }
        )
    return {
        "id": state["id"],
        "supplier": state["supplier"],
        "recipient": state["recipient"],
        "system_class": state["system_class"],
        "kind": state["kind"],
        "system": state["system"],
        "systems": state["systems"],
        "status": status_of(state),
        "denied": bool(standing),
        "denied_by": sorted(standing),
        "denials": denials,
        "first_seen": state["first"]["date"],
        "last_seen": state["last"]["date"],
        "first_story": state["first"]["story"],
        "last_story": state["last"]["story"],
        "stories": state["stories"],
        "sources": len(state["sources"]),
        "source_names": state["sources"],
        "confidence": state["latest"]["confidence"],
        "history": history,
    }


def _public(step: dict[str, Any]) -> dict[str, Any]:
    return {"date": step["date"], "story": step["story"], "evidence": step["evidence"]}


def digest(entries: Iterable[dict[str, Any]]) -> str:
    """A short hash of entries (views), to compare two ledgers."""
    h = hashlib.sha256()
    for e in sorted(entries, key=lambda e: str(e["id"])):
        h.update(json.dumps(e, sort_keys=True).encode())
    return h.hexdigest()[:16]
