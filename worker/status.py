"""`armswatch status`: what is queued, how each feed's polls went, streams and dead letters.

Read-only: every number comes from Redis (the Celery queue, kombu's unacknowledged hash,
the streams, the feed state hashes and the metric counters of worker/metrics.py).
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from typing import Any

import redis
from rich.console import Console
from rich.table import Table

from pipelines.keys import Keys, as_text

from .feeds import FeedState
from .kombu_internals import QUEUE, UNACKED
from .metrics import counters


def collect_status(
    client: redis.Redis, keys: Keys, feeds: Sequence[str], *, errors: int = 5
) -> dict[str, Any]:
    """Everything `status` shows, as JSON-safe data."""
    now = time.time()
    pipe = client.pipeline(transaction=False)
    pipe.llen(QUEUE)
    pipe.hlen(UNACKED)
    pipe.xlen(keys.tagged)
    pipe.xlen(keys.dlq)
    depth, unacked, tagged, dlq = pipe.execute()
    alert_keys = sorted(
        as_text(k) for k in client.scan_iter(match=keys.alerts("*"), _type="stream")
    )
    alerts = []
    for key in alert_keys:
        groups = client.xinfo_groups(key)
        alerts.append(
            {
                "subscription": key.removeprefix(keys.alerts("")),
                "entries": client.xlen(key),
                "pending": {as_text(g["name"]): int(g["pending"]) for g in groups},
            }
        )
    # Feeds of feeds.yaml, and any others that left state behind (removed from the file).
    known = {as_text(k).removeprefix(keys.feed_state("")) for k in client.scan_iter(
        match=keys.feed_state("*"), _type="hash")}  # fmt: skip
    feed_rows = []
    for name in [*feeds, *sorted(known - set(feeds))]:
        st = FeedState.load(client, keys, name)
        feed_rows.append(
            {
                "feed": name,
                "configured": name in feeds,
                "last_poll": _iso(st.last_poll),
                "last_ok": _iso(st.last_ok),
                "failures": st.failures,
                "last_error": st.last_error or None,
                "backing_off_until": _iso(st.next_poll) if st.next_poll > now else None,
            }
        )
    beats = []
    for key in sorted(as_text(k) for k in client.scan_iter(match=keys.beat("*"))):
        ticked = client.get(key)
        if ticked is not None:
            beat_id = key.removeprefix(keys.beat(""))
            beats.append({"beat": beat_id, "last_tick": _iso(float(as_text(ticked))),
                          "seconds_ago": round(now - float(as_text(ticked)), 1)})  # fmt: skip
    values = counters(client, keys)
    latest = []
    for entry_id, fields in (client.xrevrange(keys.dlq, count=errors) or []) if errors else []:
        f = {as_text(k): as_text(v) for k, v in (fields or {}).items()}
        latest.append(
            {
                "id": as_text(entry_id),
                "failed_at": _iso(float(f.get("failed_at") or 0)),
                "input": f.get("input"),
                "stage": f.get("stage"),
                "error_type": f.get("error_type"),
                "error": f.get("error"),
            }
        )
    return {
        "queue": {"name": QUEUE, "waiting": depth, "unacked": unacked},
        "streams": {"tagged": tagged, "dlq": dlq},
        "beats": beats,
        "alive": _alive(client, keys, now),
        "workers": _workers(client, keys),
        "alerts": alerts,
        "feeds": feed_rows,
        "processed": {
            stage.removeprefix("items|"): int(v)
            for stage, v in sorted(values.items())
            if stage.startswith("items|")
        },
        "published": {
            k.removeprefix("published|"): int(v)
            for k, v in values.items()
            if k.startswith("published|")
        },
        "failures": {
            k.removeprefix("failures|"): int(v)
            for k, v in sorted(values.items())
            if k.startswith("failures|")
        },
        "dead_letters": latest,
    }


def _workers(client: redis.Redis, keys: Keys) -> list[dict[str, Any]]:
    """The running workers' adverts: each one's metrics URL, or why it serves none."""
    rows = []
    for key in sorted(as_text(k) for k in client.scan_iter(match=keys.worker("*"))):
        advert = client.get(key)
        if advert is not None:
            rows.append({"worker": key.removeprefix(keys.worker("")), **json.loads(advert)})
    return rows


def print_status(report: dict[str, Any], out: Console) -> None:
    q, s = report["queue"], report["streams"]
    out.print(
        f"queue {q['name']}: {q['waiting']} waiting, {q['unacked']} taken by workers; "
        f"tagged {s['tagged']} entries; dead letters {s['dlq']}."
    )
    beats = ", ".join(f"{b['beat']} ({b['seconds_ago']:.0f} s ago)" for b in report["beats"])
    out.print(f"beats ticking: {beats or 'none'}")
    able = ", ".join(
        f"{w['worker']} ({w['processes']}/{w['size']} processes, {w['seconds_ago']:.0f} s ago)"
        for w in report["alive"]
    )
    out.print(f"workers able to work: {able or 'none'}")
    workers = ", ".join(f"{w['worker']} ({w['metrics'] or w['reason']})" for w in report["workers"])
    out.print(f"workers running: {workers or 'none'}")
    if report["processed"] or report["published"]:
        stages = ", ".join(f"{k} {v}" for k, v in report["processed"].items())
        published = ", ".join(f"{k} {v}" for k, v in sorted(report["published"].items()))
        out.print(f"processed: {stages or '-'}; published: {published or '-'}")
    if report["feeds"]:
        table = Table(title="feeds", title_justify="left")
        for column in (
            "feed",
            "last poll",
            "last ok",
            "failures",
            "last error",
            "backing off until",
        ):
            table.add_column(column, overflow="fold")
        for f in report["feeds"]:
            table.add_row(
                f["feed"] + ("" if f["configured"] else " (not in feeds.yaml)"),
                f["last_poll"] or "never",
                f["last_ok"] or "never",
                str(f["failures"]),
                f["last_error"] or "-",
                f["backing_off_until"] or "-",
            )
        out.print(table)
    if report["alerts"]:
        table = Table(title="alert streams", title_justify="left")
        for column in ("subscription", "entries", "pending per reader group"):
            table.add_column(column)
        for a in report["alerts"]:
            pending = ", ".join(f"{g} {n}" for g, n in a["pending"].items()) or "-"
            table.add_row(a["subscription"], str(a["entries"]), pending)
        out.print(table)
    if report["failures"]:
        table = Table(title="failures by stage and reason (since the counters began)",
                      title_justify="left")  # fmt: skip
        table.add_column("stage|reason")
        table.add_column("count")
        for key, n in report["failures"].items():
            table.add_row(key, str(n))
        out.print(table)
    if report["dead_letters"]:
        table = Table(title="latest dead letters", title_justify="left")
        for column in ("failed at", "input", "stage", "error"):
            table.add_column(column, overflow="fold")
        for d in report["dead_letters"]:
            table.add_row(d["failed_at"] or "-", d["input"] or "-", d["stage"] or "-",
                          f"{d['error_type']}: {d['error']}")  # fmt: skip
        out.print(table)


def _iso(ts: float) -> str | None:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ts)) if ts else None


def _alive(client: redis.Redis, keys: Keys, now: float) -> list[dict[str, Any]]:
    """The workers whose heartbeat says they can work (worker/health.py)."""
    out = []
    for key in sorted(as_text(k) for k in client.scan_iter(match=keys.alive("*"))):
        raw = client.get(key)
        if raw is not None:
            beat = json.loads(as_text(raw))
            out.append({"worker": key.removeprefix(keys.alive("")),
                        "last_beat": _iso(float(beat["time"])),
                        "seconds_ago": round(now - float(beat["time"]), 1),
                        "processes": beat["processes"], "size": beat["size"]})  # fmt: skip
    return out
