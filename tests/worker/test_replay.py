"""Replay on several processes: the task's code path in each, the same stories published."""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any

import pytest
import redis
from click.testing import CliRunner

from pipelines.record import Source, Story, to_payload
from tests.conftest import DATA, SEEDS
from worker.cli import cli
from worker.cli.common import open_app
from worker.replay import Replayer
from worker.settings import Settings

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


def _batches(files: list[Path], read: list[int]) -> Iterator[list[dict[str, Any]]]:
    for path in files:
        read.append(1)
        story = Story(source=Source(kind="file", path=str(path)), raw=path.read_text())
        yield [to_payload(story)]


def test_replay_reads_its_inputs_as_the_pool_needs_them(settings: Settings) -> None:
    """Two processes hold at most four batches in flight: the folder is not read up front."""
    read: list[int] = []
    files = sorted((DATA / "dev").glob("dev_0*.txt"))[:12]
    with open_app(settings) as app, Replayer(app, 2) as replayer:
        done = replayer.run(_batches(files, read))
        first = next(done)
        assert first.summaries[0]["input"] == str(files[0])
        assert len(read) <= 5, "the inputs were read ahead of the pool"
        assert [d.summaries[0]["input"] for d in done] == [str(f) for f in files[1:]]


@pytest.mark.timeout(120)
def test_a_replay_process_that_dies_is_an_error_not_a_hang(settings: Settings) -> None:
    files = sorted((DATA / "dev").glob("dev_0*.txt"))[:12]
    with open_app(settings) as app, Replayer(app, 2) as replayer:
        done = replayer.run(_batches(files, []))
        next(done)
        pool = replayer._pool
        assert pool is not None
        for pid in list(pool._processes or {}):  # what the kernel's OOM killer would do
            os.kill(pid, signal.SIGKILL)
        with pytest.raises(BrokenProcessPool):
            list(done)
