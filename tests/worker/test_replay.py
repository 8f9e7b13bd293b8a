"""Replay on several processes: the task's code path in each, the same stories published."""

from __future__ import annotations

from pathlib import Path

import redis
from click.testing import CliRunner

from tests.conftest import DATA, SEEDS
from worker.cli import cli

# Small files, so that two processes each get some: a seed with two stories, dev texts.
FILES = [SEEDS / "003_66b9e44e360c82d3.txt", *sorted((DATA / "dev").glob("dev_02*.txt"))[:5]]


def _replay(processes: int, redis_url: str, config_dir: Path) -> str:
    env = {"REDIS_URL": redis_url, "ARMSWATCH_CONFIG_DIR": str(config_dir)}
    args = ["replay", "--processes", str(processes), *map(str, FILES)]
    result = CliRunner().invoke(cli, args, env=env, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


def _published(client: redis.Redis) -> set[str]:
    return {fields["id"] for _, fields in client.xrange("armswatch:tagged")}


def test_two_processes_publish_the_stories_one_process_does(
    redis_url: str, redis_client: redis.Redis, config_dir: Path
) -> None:
    alone = _replay(1, redis_url, config_dir)
    assert "Replayed on 1 process." in alone
    expected = _published(redis_client)
    assert len(expected) == 6
    redis_client.flushall()
    shared = _replay(2, redis_url, config_dir)
    assert "Replayed on 2 processes." in shared
    assert _published(redis_client) == expected
    assert "6 stories from 6 files: 6 new" in shared
