"""Worker memory over a long replay: `make bench-memory` (python -m bench.memory).

Starts an embedded Redis and a real `armswatch worker`, queues about 5,000 stories with
`armswatch replay --queue`, and samples the resident memory of the worker's main process and
of each pool child once a second (from /proc). Prints the RSS after each thousand stories and
writes bench/results/memory-latest.json. Flat means: after the first thousand (the model and
caches loaded), the children's RSS does not keep climbing.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from worker.redis_server import EmbeddedRedis

from .corpus import mixed

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"


def rss_mb(pid: int) -> float | None:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return None


def children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.memory", description=__doc__)
    parser.add_argument("--stories", type=int, default=5200)
    parser.add_argument("--relevant-share", type=float, default=0.2)
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument(
        "--max-tasks-per-child", type=int, help="[the setting's default; large: never replace]"
    )
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="armswatch-memory-") as tmp_name:
        tmp = Path(tmp_name)
        corpus = tmp / "corpus"
        corpus.mkdir()
        for n, item in enumerate(mixed(args.stories, relevant_share=args.relevant_share)):
            suffix = "html" if item.raw_format == "html" else "txt"
            # Copies of a labelled text would be one story (ids come from the text of a
            # file): a line of its own makes each a story to publish.
            raw = f"{item.raw}\n\nFile {n} of the memory benchmark.\n" if item.label else item.raw
            (corpus / f"{n:05d}.{suffix}").write_text(raw, encoding="utf-8")
        (tmp / "config").mkdir()
        server = EmbeddedRedis(tmp / "redis")
        url = server.start()
        env = {
            **os.environ,
            "REDIS_URL": url,
            "ARMSWATCH_CONFIG_DIR": str(tmp / "config"),
            "ARMSWATCH_DATA_DIR": str(tmp / "data"),
        }
        if args.max_tasks_per_child:
            env["ARMSWATCH_WORKER_MAX_TASKS_PER_CHILD"] = str(args.max_tasks_per_child)
        command = [sys.executable, "-m", "worker"]
        worker = subprocess.Popen(
            [*command, "worker", "--concurrency", str(args.concurrency)],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        samples: list[dict[str, Any]] = []
        client = redis.Redis.from_url(url)
        try:
            replay = subprocess.Popen(
                [*command, "replay", "--queue", str(corpus)],
                env=env,
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            started = time.monotonic()
            while replay.poll() is None:
                kids = children(worker.pid)
                samples.append(
                    {
                        "seconds": round(time.monotonic() - started, 1),
                        "stories": int(client.xlen("armswatch:tagged")),
                        "main_mb": rss_mb(worker.pid),
                        "children_mb": [m for k in kids if (m := rss_mb(k)) is not None],
                        "children": kids,
                    }
                )
                time.sleep(1.0)
            published = int(client.xlen("armswatch:tagged"))
        finally:
            os.killpg(worker.pid, signal.SIGTERM)
            worker.wait(timeout=60)
            client.close()
            server.stop()

    marks = []
    for thousand in range(1000, published + 1000, 1000):
        at = next((s for s in samples if s["stories"] >= min(thousand, published)), samples[-1])
        marks.append(
            {
                "stories": at["stories"],
                "main_mb": round(at["main_mb"] or 0),
                "max_child_mb": round(max(at["children_mb"] or [0])),
            }
        )
    peak_child = max((max(s["children_mb"] or [0]) for s in samples), default=0)
    replaced = len({c for s in samples for c in s["children"]}) - args.concurrency
    result = {
        "stories": published,
        "replay_exit_code": replay.returncode,
        "seconds": samples[-1]["seconds"] if samples else None,
        "concurrency": args.concurrency,
        "children_replaced": max(0, replaced),
        "peak_child_mb": round(peak_child),
        "by_thousand": marks,
        "samples": samples,
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "memory-latest.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"{'stories':>8}{'main MB':>9}{'child MB':>10}")
    for m in marks:
        print(f"{m['stories']:>8}{m['main_mb']:>9}{m['max_child_mb']:>10}")
    print(
        f"{published} stories in {result['seconds']} s; peak child {result['peak_child_mb']} MB; "
        f"{result['children_replaced']} children replaced (worker_max_tasks_per_child)"
    )
    return 0 if replay.returncode == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
