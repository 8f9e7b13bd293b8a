"""The page's view of the transfer ledger (`pipelines.ledger`), behind one small interface.

    available()                    whether the ledger module is installed
    entries(filters)               ledger rows for the table, each with its status timeline
    graph(rows)                    supplier -> recipient edges of those rows, for the graph
    change_stream()                the ledger's change stream key (live updates), or None

Without the ledger module the table says so, and the graph is drawn from the transfers of
the recent alerts instead (`graph_from_alerts`).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import redis

from pipelines.keys import Keys

FILTERS = ("supplier", "recipient", "system_class", "status")


def _module() -> ModuleType | None:
    try:
        return importlib.import_module("pipelines.ledger")
    except ImportError:
        return None


@dataclass
class LedgerView:
    client: redis.Redis
    keys: Keys

    @property
    def module(self) -> ModuleType | None:
        return _module()

    def available(self) -> bool:
        return self.module is not None

    def change_stream(self) -> str | None:
        """The key of the ledger's change stream, if the ledger has one."""
        for name in ("ledger_changes", "ledger_stream", "ledger_events"):
            value = getattr(self.keys, name, None)
            if isinstance(value, str):
                return value
        return None

    def entries(self, filters: Mapping[str, str], *, limit: int = 500) -> list[dict[str, Any]]:
        """Ledger entries matching the filters (empty filters: all), newest change first."""
        module = self.module
        if module is None:
            return []
        given = {k: v for k, v in filters.items() if k in FILTERS and v}
        rows = module.query_entries(self.client, self.keys, **given)
        out = [_row(r) for r in rows]
        out.sort(key=lambda r: str(r.get("last_seen") or ""), reverse=True)
        return out[:limit]


def _row(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A ledger entry as the page's JSON: only the fields the table shows."""
    keep = (
        "supplier",
        "recipient",
        "system_class",
        "kind",
        "systems",
        "status",
        "denied",
        "first_seen",
        "last_seen",
        "stories",
        "sources",
        "history",
    )
    return {k: entry.get(k) for k in keep}


def graph(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Nodes (actors) and edges (supplier -> recipient, one per class) with counts."""
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
        edge["count"] += 1
        status = r.get("status")
        if status and status not in edge["statuses"]:
            edge["statuses"].append(status)
    nodes = sorted({n for s, t, _ in edges for n in (s, t)})
    return {
        "nodes": [{"id": n} for n in nodes],
        "edges": [{"id": f"{s}>{t}:{c}", **e} for (s, t, c), e in sorted(edges.items())],
    }


def graph_from_alerts(alerts: Iterable[Mapping[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The same graph from alert summaries (their matching transfers), without the ledger."""
    return graph(row for a in alerts for row in a.get("transfers") or [])
