"""Throughput benchmark: `python -m bench.run` (`make bench`), under 5 minutes on 2 cores.

For each corpus (bench/corpus.py: all-relevant, and mixed with 5% relevant):

    Redis flushed -> the inputs in batches through `armswatch.process_batch` on every core,
    as `armswatch replay` runs them (extract -> clean -> prefilter -> tag -> publish ->
    alerts, on a real redis-server) -> stories/s, time per stage, peak RSS per process
    -> the reference: the texts that reached spaCy, through spaCy alone (the full default
    en_core_web_sm pipeline, `nlp.pipe`, one process), in the same run
    -> (all-relevant) the transfer ledger rebuilt from its stories: ms per story (bench/ledger.py)

Results go to bench/results/ as JSON; a short table is printed. Timing is never a test.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import redis

from pipelines.clean import clean, default_rules
from pipelines.extract import extract
from pipelines.record import to_payload
from pipelines.tag.nlp import find_model
from worker.celery_app import ArmswatchApp, create_app
from worker.logging import configure_logging
from worker.redis_server import EmbeddedRedis
from worker.replay import BatchDone, Replayer, available_cores
from worker.settings import Settings

from .corpus import LABELLED_DIRS, ROOT, Item, all_relevant, labelled_texts, mixed
from .ledger import measure as ledger_cost

RESULTS = Path(__file__).resolve().parent / "results"
STAGES = ("extract", "clean", "identify", "prefilter", "tag", "publish", "alerts")
MB = 1024 * 1024


def gold_relevant() -> dict[str, bool]:
    """Gold `relevant` of each labelled file, by stem."""
    out: dict[str, bool] = {}
    for folder in LABELLED_DIRS:
        with (folder / "gold.jsonl").open(encoding="utf-8") as f:
            out |= {row["id"]: bool(row["relevant"]) for row in map(json.loads, f) if row}
    return out


def nlp_texts(items: Sequence[Item], tagger: Any) -> list[str]:
    """The texts the prefilter lets through to spaCy, cut as the tagger cuts them.

    Only labelled inputs are cleaned here (a few hundred milliseconds); the generated ones
    never reach spaCy, which `run_corpus` checks against the workers' own count.
    """
    rules = default_rules()
    texts: list[str] = []
    for item in items:
        if item.label is None:
            continue
        for story in clean(extract(item.story()), rules=rules):
            if tagger.needs_nlp(story):
                texts.append(tagger.nlp_text(story.text))
    return texts


def recall_without_prefilter(items: Sequence[Item], tagger: Any) -> float | None:
    """Relevance recall of the corpus's gold-relevant labelled files with spaCy run on every
    story: what the prefilter must not lower."""
    gold = gold_relevant()
    texts = dict(labelled_texts())
    relevant = sorted({i.label for i in items if i.label and gold.get(i.label)})
    rules = default_rules()
    stories = {
        stem: clean(extract(Item(stem, texts[stem], "text").story()), rules=rules)
        for stem in relevant
    }
    flat = [s for group in stories.values() for s in group]
    tagged = iter(tagger.tag_many(flat, needs=[True] * len(flat)))
    hits = sum(any([next(tagged).relevant for _ in group]) for group in stories.values())
    return round(hits / len(relevant), 4) if relevant else None


def run_corpus(
    name: str, items: Sequence[Item], app: ArmswatchApp, client: redis.Redis, processes: int
) -> dict[str, Any]:
    """One corpus through the replay code path on `processes` processes."""
    client.flushall()
    size = app.armswatch.settings.replay_batch_files
    batches = [
        [to_payload(i.story()) for i in items[s : s + size]] for s in range(0, len(items), size)
    ]
    done: list[BatchDone] = []
    started = time.perf_counter()
    with Replayer(app, processes) as replayer:
        done.extend(replayer.run(batches))
    wall = time.perf_counter() - started

    summaries = [s for d in done for s in d.summaries]
    stories = [story for s in summaries for story in s["stories"]]
    last: dict[int, BatchDone] = {d.pid: d for d in done}  # each process's totals at its end
    per_process = Counter(d.pid for d in done for s in d.summaries for _ in s["stories"])
    seconds = {
        st: sum(d.clock.get(st, {}).get("seconds", 0.0) for d in last.values()) for st in STAGES
    }
    nlp_stories = int(sum(d.clock.get("tag", {}).get("items", 0) for d in last.values()))
    busy = sum(seconds.values())
    process_seconds = wall * len(last)
    stages = {
        st: {
            "seconds": round(t, 3),
            "share": round(t / process_seconds, 4),
            "stories_per_second": round(len(stories) / t, 1) if t else None,
        }
        for st, t in seconds.items()
    }
    # Task wrapping, (de)serialising payloads and summaries, waiting for batches.
    stages["other"] = {
        "seconds": round(process_seconds - busy, 3),
        "share": round((process_seconds - busy) / process_seconds, 4),
        "stories_per_second": None,
    }
    return {
        "corpus": name,
        "inputs": len(items),
        "html_inputs": sum(1 for i in items if i.raw_format == "html"),
        "input_megabytes": round(sum(len(i.raw.encode()) for i in items) / MB, 2),
        "stories": len(stories),
        "stories_reaching_nlp": nlp_stories,
        "relevant_stories": sum(1 for s in stories if s["relevant"]),
        "rejected_inputs": sum(1 for s in summaries if s["error"]),
        "published": client.xlen(app.armswatch.keys.tagged),
        "processes": len(last),
        "stories_per_process": sorted(per_process.values()),
        "wall_seconds": round(wall, 2),
        "stories_per_second": round(len(stories) / wall, 2),
        "stages": stages,
        "peak_rss_mb_per_process": sorted(round(d.peak_rss / MB) for d in last.values()),
        "relevance_recall_labelled": _recall(items, summaries),
        "_summaries": summaries,
    }


def _recall(items: Sequence[Item], summaries: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Relevance recall over the distinct labelled files of the corpus (a file is relevant
    when one of its stories is), and whether every copy of a file was tagged alike."""
    gold = gold_relevant()
    label = {i.url: i.label for i in items}
    tagged: dict[str, set[bool]] = {}
    for s in summaries:
        stem = label.get(s["input"])
        if stem is not None:
            tagged.setdefault(stem, set()).add(any(story["relevant"] for story in s["stories"]))
    relevant = sorted(stem for stem in tagged if gold.get(stem))
    hits = [stem for stem in relevant if True in tagged[stem]]
    return {
        "gold_relevant_files": len(relevant),
        "tagged_relevant": len(hits),
        "recall": round(len(hits) / len(relevant), 4) if relevant else None,
        "copies_agree": all(len(v) == 1 for v in tagged.values()),
    }


def reference(texts: Sequence[str], nlp: Any) -> dict[str, Any]:
    """spaCy alone: the package's full default pipeline, `nlp.pipe` with its defaults."""
    list(nlp.pipe(texts[:2]))  # warm up, as the workers' first batch is not special either
    started = time.perf_counter()
    words = sum(len(doc) for doc in nlp.pipe(texts))
    seconds = time.perf_counter() - started
    return {
        "pipeline": nlp.pipe_names,
        "batch_size": nlp.batch_size,
        "texts": len(texts),
        "tokens": words,
        "seconds": round(seconds, 2),
        "stories_per_second": round(len(texts) / seconds, 2) if seconds else None,
        "tokens_per_second": round(words / seconds) if seconds else None,
    }


def table(results: dict[str, Any]) -> str:
    rows = [
        f"{'corpus':<13}{'stories':>8}{'to NLP':>8}{'armswatch/s':>13}{'spaCy/s':>9}{'x spaCy':>9}"
        f"{'peak RSS MB':>13}  " + " ".join(f"{s:>9}" for s in (*STAGES, "other"))
    ]
    for r in results["corpora"].values():
        ref = r["reference"]
        rows.append(
            f"{r['corpus']:<13}{r['stories']:>8}{r['stories_reaching_nlp']:>8}"
            f"{r['stories_per_second']:>13.1f}{ref['stories_per_second'] or 0:>9.1f}"
            f"{r['x_reference']:>9.2f}{max(r['peak_rss_mb_per_process']):>13}  "
            + " ".join(f"{r['stages'][s]['share']:>9.1%}" for s in (*STAGES, "other"))
        )
    led = results["ledger"]
    rows.append(
        f"transfer ledger: {led['stories']} stories ({led['stories_with_transfers']} with "
        f"transfers) -> {led['entries']} entries; {led['ms_per_story']} ms per story "
        f"(pure part {led['ms_per_story_pure']} ms)"
    )
    rows.append("")
    for t in results["targets"]:
        rows.append(f"{'ok  ' if t['met'] else 'MISS'} {t['target']}: {t['value']}")
    return "\n".join(rows)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n")[0])
    parser.add_argument("--relevant-inputs", type=int, default=200, help="all-relevant corpus size")
    parser.add_argument("--stories", type=int, default=10000, help="mixed corpus size (stories)")
    parser.add_argument("--relevant-share", type=float, default=0.05)
    parser.add_argument("--processes", type=int, default=0, help="[available cores]")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--redis-url", help="a running Redis to use (flushed!) [embedded]")
    args = parser.parse_args(argv)

    configure_logging(level="WARNING")  # one line per alert would drown the table
    started = time.perf_counter()
    load_before = os.getloadavg()[0]
    processes = args.processes or available_cores()
    corpora = {
        "all-relevant": all_relevant(args.relevant_inputs),
        "mixed": mixed(args.stories, relevant_share=args.relevant_share),
    }
    with tempfile.TemporaryDirectory(prefix="armswatch-bench-") as tmp:
        server = None if args.redis_url else EmbeddedRedis(Path(tmp) / "redis")
        url = args.redis_url or server.start()  # type: ignore[union-attr]
        try:
            settings = Settings.load(redis_url=url, config_dir=ROOT / "config", data_dir=Path(tmp))
            app = create_app(settings, url)
            client = redis.Redis.from_url(url)
            results: dict[str, Any] = {"corpora": {}}
            for name, items in corpora.items():
                results["corpora"][name] = run_corpus(name, items, app, client, processes)
                if name == "all-relevant":  # before the next corpus flushes its stories
                    results["ledger"] = ledger_cost(client, settings.keys, maxlen=10**6)
            client.close()
        finally:
            if server is not None:
                server.stop()

    model = find_model(settings.model)
    tagger = app.armswatch.tagger
    default_nlp = importlib.import_module(model).load()  # as spaCy ships it: no changes
    for name, items in corpora.items():
        r = results["corpora"][name]
        texts = nlp_texts(items, tagger)
        r["relevance_recall_labelled"]["recall_without_prefilter"] = recall_without_prefilter(
            items, tagger
        )
        r["reference_texts_match"] = len(texts) == r["stories_reaching_nlp"]
        r["reference"] = reference(texts, default_nlp)
        # The time spaCy alone takes for the corpus's NLP over the time armswatch takes for
        # everything: for the all-relevant corpus, the ratio of their stories/s.
        r["x_reference"] = round(r["reference"]["seconds"] / r["wall_seconds"], 3)
        del r["_summaries"]

    every, few = results["corpora"]["all-relevant"], results["corpora"]["mixed"]
    peak = max(max(r["peak_rss_mb_per_process"]) for r in results["corpora"].values())
    results["targets"] = [
        _target("all-relevant stories/s >= 1.0 x spaCy alone", every["x_reference"], 1.0),
        _target(
            "mixed stories/s >= 10 x all-relevant",
            round(few["stories_per_second"] / every["stories_per_second"], 2),
            10.0,
        ),
        _target(
            "relevance recall on the labelled files, mixed corpus == tagging without prefilter",
            few["relevance_recall_labelled"]["recall"],
            few["relevance_recall_labelled"]["recall_without_prefilter"],
            exact=True,
        ),
        {"target": "peak RSS of a worker process < 500 MB", "value": peak, "met": peak < 500},
        {
            "target": "transfer ledger update < 1 ms per story",
            "value": results["ledger"]["ms_per_story"],
            "met": results["ledger"]["ms_per_story"] < 1.0,
        },
    ]
    results["machine"] = {
        "cores": available_cores(),
        "cpu": platform.processor() or platform.machine(),
        "python": platform.python_version(),
        "model": model,
        # Other work on the machine skews every figure: compare with the cores.
        "load_average_1min": {"before": load_before, "after": os.getloadavg()[0]},
    }
    results["settings"] = {
        "processes": processes,
        "replay_batch_files": settings.replay_batch_files,
        "nlp_batch_size": settings.nlp_batch_size,
        "nlp_batch_chars": settings.nlp_batch_chars,
        "nlp_max_chars": settings.nlp_max_chars,
    }
    results["finished"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["total_seconds"] = round(time.perf_counter() - started, 1)

    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}-{os.getpid()}.json"
    text = json.dumps(results, indent=2)
    path.write_text(text + "\n", encoding="utf-8")
    (args.out / "latest.json").write_text(text + "\n", encoding="utf-8")
    print(table(results))
    load = results["machine"]["load_average_1min"]
    if load["before"] > 0.5:
        print(f"note: the machine was busy before the run (load {load['before']:.1f})")
    print(f"\n{path} ({results['total_seconds']} s)")
    return 0


def _target(name: str, value: Any, bound: float | None, *, exact: bool = False) -> dict[str, Any]:
    met = value == bound if exact else value is not None and bound is not None and value >= bound
    return {"target": name, "value": value, "met": bool(met)}


if __name__ == "__main__":
    sys.exit(main())
