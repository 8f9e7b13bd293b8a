"""The page's view of the transfer ledger (`pipelines.ledger`), behind one small interface.

entries(filters)    ledger rows for the table (pair entries), each with its status timeline
graph(rows)         supplier -> recipient edges of those rows, weighted by stories
change_stream()     the ledger's change stream key (the page's live updates)

"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pycountry
import redis

from pipelines.keys import Keys
from pipelines.ledger import query_entries

FILTERS = ("supplier", "recipient", "system_class", "status")
# What the table shows of an entry (the rest, such as the record, stays on the server).
_SHOWN = ("id", "supplier", "recipient", "system_class", "kind", "systems", "status", "denied",
          "denied_by", "first_seen", "last_seen", "first_story", "last_story", "stories",
          "sources", "history")  # fmt: skip


@dataclass
class LedgerView:
    client: redis.Redis
    keys: Keys

    def change_stream(self) -> str:
        return self.keys.ledger_changes

    def entries(self, filters: Mapping[str, str], *, limit: int = 500) -> list[dict[str, Any]]:
        """Ledger entries matching the filters (empty filters: all), last reported first."""
        given = {k: v.strip() for k, v in filters.items() if k in FILTERS and v.strip()}
        for actor in ("supplier", "recipient"):  # states are upper-case codes, groups slugs
            if actor in given and len(given[actor]) == 2:
                given[actor] = given[actor].upper()
        rows = query_entries(
            self.client,
            self.keys,
            supplier=given.get("supplier"),
            recipient=given.get("recipient"),
            system_class=given.get("system_class"),
            status=given.get("status"),
        )
        return [{k: r.get(k) for k in _SHOWN} for r in rows[:limit]]


def _numeric(actor: str) -> str | None:
    """A state's ISO 3166-1 numeric code (the map's country ids); None for a group."""
    if len(actor) != 2 or not actor.isupper():
        return None
    country = pycountry.countries.get(alpha_2=actor)
    return str(country.numeric) if country else None


def graph(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Nodes (actors) and edges (supplier -> recipient, one per class), each edge with the
    number of stories behind it and the statuses of its entries."""
    edges: dict[tuple[str, str, str], dict[str, Any]] = {}
    for r in rows:
        supplier, recipient = r.get("supplier") or "?", r.get("recipient") or "?"
        klass = r.get("system_class") or "other"
        key = (supplier, recipient, klass)
        edge = edges.setdefault(
            key,
            {
                "source": supplier,
                "target": recipient,
                "system_class": klass,
                "count": 0,
                "statuses": [],
            },
        )
        edge["count"] += int(r.get("stories") or 1)
        status = r.get("status")
        if status and status not in edge["statuses"]:
            edge["statuses"].append(status)
    nodes = sorted({n for s, t, _ in edges for n in (s, t)})
    return {
        "nodes": [{"id": n, "numeric": _numeric(n)} for n in nodes],
        "edges": [{"id": f"{s}>{t}:{c}", **e} for (s, t, c), e in sorted(edges.items())],
    }
