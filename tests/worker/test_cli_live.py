"""`armswatch poll`, `beat` and `replay --via-http`: exit codes, summaries, failures named."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import redis
from click.testing import CliRunner

from newssite import NewsSite, Reply, publish_site
from pipelines.keys import Keys
from tests.conftest import SEEDS
from tests.sitegen import filler_article
from worker.cli import cli

KEYS = Keys("armswatch:")


@pytest.fixture
def run(config_dir: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch):
    env = {
        "ARMSWATCH_CONFIG_DIR": str(config_dir),
        "REDIS_URL": redis_url,
        "ARMSWATCH_ALLOW_PRIVATE_NETWORKS": "true",
        "ARMSWATCH_HOST_MIN_DELAY_SECONDS": "0",
        "ARMSWATCH_HTTP_READ_TIMEOUT": "0.5",
        "ARMSWATCH_FETCH_RETRY_BASE_SECONDS": "0.05",
        "ARMSWATCH_FEED_BACKOFF_BASE_SECONDS": "0.05",
        "ARMSWATCH_MAX_RETRIES": "1",
    }
    for name, value in env.items():
        monkeypatch.setenv(name, value)

    def invoke(*args: str):
        return CliRunner().invoke(cli, list(args), catch_exceptions=False)

    return invoke


def test_poll_polls_every_feed_once_and_exits_0(
    run, config_dir: Path, site: NewsSite, redis_client: redis.Redis
) -> None:
    url = publish_site(site, [filler_article(n, seed=7) for n in range(3)])
    (config_dir / "feeds.yaml").write_text(
        f"feeds:\n  - name: local\n    url: {url}\n    tags: [wire]\n"
    )
    result = run("poll")
    assert result.exit_code == 0, result.output
    assert "local" in result.stdout and "3 new entries: 3 published" in result.stdout
    records = [json.loads(f["record"]) for _, f in redis_client.xrange(KEYS.tagged)]
    assert len(records) == 3 and {tuple(r["source"]["tags"]) for r in records} == {("wire",)}
    second = run("poll")
    assert second.exit_code == 0 and "unchanged" in second.stdout


def test_poll_names_failed_feeds_and_articles_and_exits_1(
    run, config_dir: Path, site: NewsSite, redis_client: redis.Redis
) -> None:
    article = filler_article(1, seed=8)
    publish_site(site, [article])
    site.routes["/feed.xml"] = Reply(
        body=site.routes["/feed.xml"].body.replace(b"<description>", b"<description>x")  # type: ignore[union-attr]
    )
    site.routes[f"/stories/{article.slug}.html"] = Reply(410, b"gone")
    site.routes["/down.xml"] = Reply(500)
    (config_dir / "feeds.yaml").write_text(
        "feeds:\n"
        f"  - name: local\n    url: {site.url}/feed.xml\n"
        f"  - name: down\n    url: {site.url}/down.xml\n"
    )
    result = run("poll")
    assert result.exit_code == 1
    assert "armswatch: rejected feed down: " in result.stderr and "HTTP 500" in result.stderr
    assert "published" in result.stdout  # the summary stood in for the gone page
    assert redis_client.xlen(KEYS.tagged) == 1


def test_bad_feeds_file_exits_2_naming_feed_and_field(run, config_dir: Path) -> None:
    (config_dir / "feeds.yaml").write_text("feeds:\n  - name: x\n    url: gopher://x\n")
    for command in ("poll", "beat"):
        result = run(command)
        assert result.exit_code == 2
        assert "feed 'x': url" in result.stderr and "feeds.yaml" in result.stderr
    assert run("poll", "--feed", "nope").exit_code == 2


def test_replay_via_http_runs_the_live_path_on_the_seeds(run, redis_client: redis.Redis) -> None:
    result = run("replay", "--via-http", str(SEEDS))
    assert result.exit_code == 0, result.output
    records = [json.loads(f["record"]) for _, f in redis_client.xrange(KEYS.tagged)]
    assert len(records) == 5  # the four seed files hold five stories
    assert {r["source"]["kind"] for r in records} == {"feed"}
    assert {r["extraction"] for r in records} == {"html"}
    assert sum(r["relevant"] for r in records) >= 4
    ledger = json.loads(redis_client.hget(KEYS.ledger_entries, "IR:RU:drone:transfer"))
    assert ledger["stories"] == 3  # the live path keeps the transfer ledger too


def test_poll_routes_new_stories_to_the_alert_streams(
    run, config_dir: Path, site: NewsSite, redis_client: redis.Redis
) -> None:
    url = publish_site(site, [filler_article(n, seed=9) for n in range(2)])
    (config_dir / "feeds.yaml").write_text(f"feeds:\n  - name: local\n    url: {url}\n")
    (config_dir / "subscriptions.yaml").write_text(
        "subscriptions:\n  - name: everything\n    match: {}\n"
    )
    assert run("poll").exit_code == 0
    alerted = [f["id"] for _, f in redis_client.xrange(KEYS.alerts("everything"))]
    published = [f["id"] for _, f in redis_client.xrange(KEYS.tagged)]
    assert len(published) == 2 and sorted(alerted) == sorted(published)
