"""Metrics, `armswatch status` and structured logs, against a real Redis and real HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
import redis
from celery.contrib.testing.worker import start_worker
from prometheus_client.parser import text_string_to_metric_families

from newssite import HTML_TYPE, NewsSite, Reply, page, publish_site
from pipelines.keys import Keys
from pipelines.record import Source, Story, to_payload
from tests.conftest import SEEDS
from tests.processes import free_port
from tests.sitegen import filler_article
from worker import metrics
from worker.celery_app import ArmswatchApp, create_app
from worker.feeds import Feed, FeedState
from worker.logging import configure_logging
from worker.settings import Settings
from worker.tasks import poll_feed, process_batch

KEYS = Keys("armswatch:")
ROOT = Path(__file__).resolve().parents[2]


def _inputs() -> list[dict]:
    good = [
        to_payload(Story(source=Source(kind="file", path=str(p)), raw=p.read_text()))
        for p in sorted(SEEDS.glob("*.txt"))
    ]
    # Binary junk: rejected by the extract stage, so one dead letter.
    bad = to_payload(Story(source=Source(kind="file", path="junk.bin"), raw="\x00\x01" * 500))
    return [*good, bad]


def _scrape(redis_url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Serve the metrics of `redis_url` on a free port as the worker does, and scrape once."""
    port = free_port()
    server = metrics.serve(redis_url, KEYS, port=port, host="127.0.0.1")
    try:
        text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        server.shutdown()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def test_metrics_count_what_the_pipeline_did(
    settings: Settings, redis_url: str, redis_client: redis.Redis
) -> None:
    app = create_app(settings, redis_url)
    task = app.tasks[process_batch.name]
    summaries = task.apply(args=(_inputs(),)).get(disable_sync_subtasks=False)
    stories = sum(len(s["stories"]) for s in summaries)
    task.apply(args=(_inputs(),)).get(disable_sync_subtasks=False)  # again: nothing new
    queued = task.apply_async(args=([],))  # no worker runs: it waits in the queue
    try:
        got = _scrape(redis_url)
    finally:
        del queued
        app.close()

    assert got[("armswatch_published_total", (("outcome", "new"),))] == stories == 5
    assert got[("armswatch_published_total", (("outcome", "already_seen"),))] == stories
    assert got[("armswatch_tagged_entries", ())] == redis_client.xlen("armswatch:tagged")
    assert got[("armswatch_items_total", (("stage", "clean"),))] == 2 * 5  # junk fails in clean
    assert got[("armswatch_items_total", (("stage", "tag"),))] >= 2 * 5
    failures = {k: v for k, v in got.items() if k[0] == "armswatch_failures_total"}
    assert sum(failures.values()) == 2 == got[("armswatch_dlq_entries", ())]
    assert got[("armswatch_queue_depth", (("queue", "armswatch"),))] == 1
    assert got[("armswatch_redis_up", ())] == 1


def test_the_live_path_on_a_worker_counts_retries_latency_and_failed_polls(
    live_app: ArmswatchApp, redis_url: str, redis_client: redis.Redis, site: NewsSite
) -> None:
    articles = [filler_article(n, seed=11) for n in range(3)]
    feed = Feed(name="local", url=publish_site(site, articles))
    flaky = articles[0]
    site.routes[f"/stories/{flaky.slug}.html"] = lambda request: (
        Reply(500) if request.count == 1 else Reply(body=page(flaky), headers=HTML_TYPE)
    )
    site.routes["/down.xml"] = Reply(500)  # every try: the poll fails
    down = Feed(name="down", url=f"{site.url}/down.xml")
    app = live_app
    poll = app.tasks[poll_feed.name]
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=30):
        polled = poll.delay(feed.model_dump(mode="json")).get(timeout=60)
        outcomes = [app.AsyncResult(t).get(timeout=60) for t in polled["tasks"]]
        failed = poll.delay(down.model_dump(mode="json")).get(timeout=60)
    assert [o["status"] for o in outcomes] == ["published"] * 3 and failed["status"] == "failed"
    got = _scrape(redis_url)

    # One observation per entry that published a new story; a poll is seconds ago at most.
    assert got[("armswatch_poll_to_publish_seconds_count", ())] == 3
    assert 0 < got[("armswatch_poll_to_publish_seconds_sum", ())] < 3 * 60
    assert got[("armswatch_poll_to_publish_seconds_bucket", (("le", "60.0"),))] == 3
    # The 500 on the flaky page: one retry of its fetch_article task, nothing else.
    retries = {k: v for k, v in got.items() if k[0] == "armswatch_task_retries_total"}
    assert retries == {("armswatch_task_retries_total", (("task", "armswatch.fetch_article"),)): 1}
    failures = {k: v for k, v in got.items() if k[0] == "armswatch_failures_total"}
    assert failures == {
        ("armswatch_failures_total", (("reason", "TransientError"), ("stage", "poll"))): 1
    }
    assert got[("armswatch_dlq_entries", ())] == 0  # a failed poll is retried, not dead-lettered
    # Every stage of the live path, publish and alerts as in process_batch.
    for stage in ("extract", "clean", "dedup", "prefilter", "publish", "alerts"):
        assert got[("armswatch_items_total", (("stage", stage),))] == 3, stage
    assert got[("armswatch_published_total", (("outcome", "new"),))] == 3
    depth = got[("armswatch_queue_depth", (("queue", "armswatch"),))]
    assert depth == redis_client.llen("armswatch") == 0


def test_a_poll_from_the_command_line_counts_its_stages_too(
    run, config_dir: Path, site: NewsSite, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = publish_site(site, [filler_article(n, seed=12) for n in range(2)])
    (config_dir / "feeds.yaml").write_text(f"feeds:\n  - name: local\n    url: {url}\n")
    monkeypatch.setenv("ARMSWATCH_ALLOW_PRIVATE_NETWORKS", "true")  # the site is on loopback
    monkeypatch.setenv("ARMSWATCH_HOST_MIN_DELAY_SECONDS", "0")
    result = run("poll")
    assert result.exit_code == 0, result.output
    report = json.loads(run("status", "--json").output)
    assert report["published"] == {"new": 2}
    assert report["processed"]["extract"] == 2 and report["processed"]["publish"] == 2


def test_a_scrape_while_redis_is_down_says_so(settings: Settings) -> None:
    got = _scrape(f"redis://127.0.0.1:{free_port()}/0")
    assert got == {("armswatch_redis_up", ()): 0}


def test_status_reports_queue_feeds_streams_and_dead_letters(
    run, config_dir: Path, redis_client: redis.Redis
) -> None:
    (config_dir / "feeds.yaml").write_text(
        "feeds:\n  - name: wire\n    url: https://wire.example/rss\n"
        "  - name: quiet\n    url: https://quiet.example/rss\n"
    )
    FeedState(last_poll=1_700_000_000, last_error="HTTP 503", failures=3).save(
        redis_client, KEYS, "wire"
    )
    redis_client.lpush("armswatch", "m1", "m2")
    redis_client.xadd("armswatch:tagged", {"id": "x"})
    redis_client.xadd(
        "armswatch:dlq",
        {"input": "feeds/a.html", "stage": "extract", "error": "binary", "error_type": "X"},
    )
    redis_client.xadd("armswatch:alerts:iran-drones", {"id": "x"})
    redis_client.xgroup_create("armswatch:alerts:iran-drones", "subscribe", id="0")
    redis_client.xreadgroup("subscribe", "me", {"armswatch:alerts:iran-drones": ">"})

    result = run("status", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["queue"]["waiting"] == 2
    assert report["streams"] == {"tagged": 1, "dlq": 1}
    wire, quiet = report["feeds"]
    assert wire["feed"] == "wire" and wire["failures"] == 3 and wire["last_error"] == "HTTP 503"
    assert wire["last_poll"] == "2023-11-14T22:13:20Z"
    assert quiet["feed"] == "quiet" and quiet["last_poll"] is None
    assert report["alerts"] == [
        {"subscription": "iran-drones", "entries": 1, "pending": {"subscribe": 1}}
    ]
    assert report["dead_letters"][0]["input"] == "feeds/a.html"

    table = run("status")
    assert table.exit_code == 0 and "HTTP 503" in table.output and "feeds/a.html" in table.output


def test_status_shows_which_beats_tick(run, redis_client: redis.Redis) -> None:
    assert json.loads(run("status", "--json").output)["beats"] == []
    redis_client.set(KEYS.beat("host-b:7"), f"{time.time() - 3:.3f}", ex=60)
    [beat] = json.loads(run("status", "--json").output)["beats"]
    assert beat["beat"] == "host-b:7" and 2 <= beat["seconds_ago"] < 30
    assert "beats ticking: host-b:7" in run("status").output


def test_status_ping(run, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("status", "--ping").exit_code == 0
    monkeypatch.setenv("REDIS_URL", f"redis://127.0.0.1:{free_port()}/0")
    result = run("status", "--ping")
    assert result.exit_code == 1
    assert "did not answer" in result.output


# Runs `armswatch status --ping` as the console script does, then lists what was imported.
_PING_IMPORTS = """
import sys
from worker.cli import main
try:
    main()
except SystemExit as exc:
    code = exc.code
heavy = sorted(m for m in ("spacy", "thinc", "trafilatura", "celery") if m in sys.modules)
print("exit", code, "heavy", ",".join(heavy) or "none")
"""


def test_a_health_check_ping_loads_no_model(redis_url: str, tmp_path: Path) -> None:
    env = {**os.environ, "REDIS_URL": redis_url, "ARMSWATCH_CONFIG_DIR": str(tmp_path)}
    out = subprocess.run(
        [sys.executable, "-c", _PING_IMPORTS, "status", "--ping"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert out.stdout.strip().splitlines()[-1] == "exit 0 heavy none", out.stdout + out.stderr


def test_json_logs_carry_the_story_id(
    settings: Settings, redis_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    configure_logging(level="INFO", json=True)
    app = create_app(settings, redis_url)
    try:
        summaries = app.tasks[process_batch.name].apply(args=(_inputs()[:1],)).get()
    finally:
        configure_logging(level="WARNING")
        app.close()
    ids = {s["id"] for s in summaries[0]["stories"]}
    lines = [
        json.loads(line) for line in capsys.readouterr().err.splitlines() if line.startswith("{")
    ]
    published = [line for line in lines if line["event"] == "story_published"]
    assert {line["story_id"] for line in published} == ids
    assert all(line["new"] is True and line["input"].endswith(".txt") for line in published)
