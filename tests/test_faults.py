"""Fault tests: real redis-server, real `armswatch worker` and `armswatch replay --queue`
processes. A worker SIGKILLed mid-run, and Redis restarted mid-run, lose nothing and
publish nothing twice: late acks, the visibility timeout and idempotent publishing at work.

Deadlines here only bound a hung run; no test asserts how fast anything is.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from bench.corpus import mixed
from pipelines.clean import default_rules
from pipelines.pipeline import process
from pipelines.record import Source, Story
from pipelines.tag import Tagger
from tests.processes import Processes, wait_until
from worker.redis_server import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent

# Short enough that a killed worker's messages come back within the test, long enough
# for any batch to finish (Settings insists: visibility > countdown + hard time limit).
FAST_RECOVERY = {
    "ARMSWATCH_VISIBILITY_TIMEOUT_SECONDS": "45",
    "ARMSWATCH_MAX_COUNTDOWN_SECONDS": "5",
    "ARMSWATCH_TASK_TIME_LIMIT": "35",
    "ARMSWATCH_TASK_SOFT_TIME_LIMIT": "30",
    "ARMSWATCH_RESTORE_INTERVAL_SECONDS": "2",
    # A worker killed while looking for such messages leaves its lock for this long.
    "ARMSWATCH_RESTORE_LOCK_SECONDS": "5",
    # A message lost in flight (taken by a worker, or popped as Redis shut down, and never
    # recorded) is sent again by `replay --queue` after two looks this far apart.
    "ARMSWATCH_LOST_MESSAGE_CHECK_SECONDS": "5",
    # Metrics are not under test here; a restarted worker must not wait for the old port.
    "ARMSWATCH_METRICS_PORT": "0",
}

# A bound for a hung run (seconds), below the test's own timeout so that a failure says why.
RUN_DEADLINE = 420


def write_corpus(folder: Path, stories: int) -> list[Path]:
    """About `stories` stories (5% about arms transfers) as .txt and .html files."""
    folder.mkdir()
    paths = []
    for n, item in enumerate(mixed(stories)):
        path = folder / f"{n:05d}.{'html' if item.raw_format == 'html' else 'txt'}"
        path.write_text(item.raw, encoding="utf-8")
        paths.append(path)
    return paths


def undisturbed_ids(paths: list[Path], tagger: Tagger) -> set[str]:
    """The story ids an undisturbed run publishes: the same stages, in this process."""
    inputs = [
        Story(
            source=Source(kind="file", path=str(p)),
            raw=p.read_text(encoding="utf-8"),
            raw_format="html" if p.suffix == ".html" else "text",
        )
        for p in paths
    ]
    results = process(inputs, tagger=tagger, rules=default_rules())
    assert all(r.error is None for r in results)
    return {s.id for r in results for s in r.stories}


def tagged_ids(client: redis.Redis) -> list[str]:
    return [fields["id"] for _, fields in client.xrange("armswatch:tagged")]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[EmbeddedRedis]:
    """A redis-server of this test alone (AOF on), which the test may restart."""
    embedded = EmbeddedRedis(tmp_path / "redis")
    embedded.start()
    yield embedded
    embedded.stop()


@pytest.fixture
def procs(server: EmbeddedRedis, tmp_path: Path) -> Iterator[Processes]:
    config = tmp_path / "config"  # no subscriptions: publishing is what is under test
    config.mkdir()
    env = {
        **os.environ,
        **FAST_RECOVERY,
        "REDIS_URL": str(server.url),
        "ARMSWATCH_CONFIG_DIR": str(config),
        "ARMSWATCH_DATA_DIR": str(tmp_path / "data"),
        "PYTHONUNBUFFERED": "1",
    }
    running = Processes(env, tmp_path)
    yield running
    running.stop_all()


def count_tagged(url: str) -> int:
    try:
        with redis.Redis.from_url(url, socket_timeout=2) as client:
            return int(client.xlen("armswatch:tagged"))
    except redis.RedisError:
        return -1


def stuck(url: str, procs: Processes) -> str:
    """What a run that did not finish left behind: the broker's keys and the logs."""
    with redis.Redis.from_url(url, decode_responses=True) as client:
        state = {
            "queued": client.llen("armswatch"),
            "unacked": client.hlen("unacked"),
            "restore mutex ttl": client.ttl("unacked_mutex"),
            "tagged": client.xlen("armswatch:tagged"),
        }
    logs = "\n".join(f"--- {p.args}\n{procs.log(p)}" for p in procs.started)
    return f"{state}\n{logs}"


def finished(replay: subprocess.Popen[bytes], url: str, procs: Processes) -> int:
    try:
        return replay.wait(timeout=RUN_DEADLINE)
    except subprocess.TimeoutExpired:
        raise AssertionError(f"replay --queue still waiting: {stuck(url, procs)}") from None


@pytest.mark.timeout(RUN_DEADLINE + 120)
def test_a_worker_killed_mid_run_loses_nothing_and_duplicates_nothing(
    server: EmbeddedRedis, procs: Processes, tmp_path: Path, tagger: Tagger
) -> None:
    paths = write_corpus(tmp_path / "corpus", 1010)
    expected = undisturbed_ids(paths, tagger)
    assert len(expected) >= 1000
    url = str(server.url)

    first = procs.start("worker", "worker", "--concurrency", "2")
    replay = procs.start(
        "replay", "replay", "--queue", "--timeout", "600", str(tmp_path / "corpus")
    )
    wait_until(lambda: count_tagged(url) >= 250, deadline=600, what="a quarter published")

    os.killpg(first.pid, signal.SIGKILL)  # the worker and its pool, with tasks in hand
    first.wait()
    at_kill = count_tagged(url)
    assert at_kill < len(expected), "the worker was killed after the run had ended"

    procs.start("worker", "worker", "--concurrency", "2")
    assert finished(replay, url, procs) == 0, procs.log(replay)

    with redis.Redis.from_url(url, decode_responses=True) as client:
        ids = tagged_ids(client)
    assert len(ids) == len(set(ids)), "a story was published twice"
    assert set(ids) == expected


def queued_run(
    procs: Processes, tmp_path: Path, tagger: Tagger, url: str, *, stories: int, until: int
) -> tuple[set[str], subprocess.Popen[bytes], subprocess.Popen[bytes]]:
    """A worker and `replay --queue` of `stories` stories, returned once `until` are tagged:
    (the ids an undisturbed run publishes, the worker, the replay)."""
    paths = write_corpus(tmp_path / "corpus", stories)
    expected = undisturbed_ids(paths, tagger)
    worker = procs.start("worker", "worker", "--concurrency", "2")
    replay = procs.start(
        "replay", "replay", "--queue", "--timeout", "600", str(tmp_path / "corpus")
    )
    wait_until(lambda: count_tagged(url) >= until, deadline=600, what=f"{until} published")
    return expected, worker, replay


@pytest.mark.timeout(RUN_DEADLINE + 120)
def test_redis_restarted_mid_run_keeps_what_it_acknowledged_and_the_worker_resumes(
    server: EmbeddedRedis, procs: Processes, tmp_path: Path, tagger: Tagger
) -> None:
    url = str(server.url)
    expected, worker, replay = queued_run(procs, tmp_path, tagger, url, stories=600, until=100)

    with redis.Redis.from_url(url, decode_responses=True) as client:
        before = tagged_ids(client)
    server.stop()  # SHUTDOWN: the append-only file is flushed, as on `docker compose restart`
    time.sleep(3)  # the worker and replay see the connection refused meanwhile
    server.start()

    with redis.Redis.from_url(url, decode_responses=True) as client:
        after_restart = tagged_ids(client)
    assert after_restart[: len(before)] == before, "an acknowledged write was lost"
    assert len(before) < len(expected), "Redis was restarted after the run had ended"

    assert finished(replay, url, procs) == 0, procs.log(replay)
    assert worker.poll() is None, "the worker did not survive the restart"
    with redis.Redis.from_url(url, decode_responses=True) as client:
        ids = tagged_ids(client)
    assert len(ids) == len(set(ids)), "a story was published twice"
    assert set(ids) == expected


# Known bug (issue #13, 2026-12-07): in 2 of 9 runs of the 60 s case the pool's children
# died during the outage and were not replaced; the worker then stopped itself (its pool
# empty for worker_stuck_seconds) and, with no supervisor here, 30 batches stayed queued.
# Under compose a restart would finish them; the test stays to show when it is fixed.
_STALLS = pytest.mark.xfail(
    reason="pool not replaced after a 60 s outage (issue #13)", strict=False
)


@pytest.mark.slow
@pytest.mark.parametrize("outage", [8, pytest.param(60, marks=_STALLS)], ids=["8s", "60s"])
@pytest.mark.timeout(RUN_DEADLINE + 240)
def test_a_redis_outage_of_seconds_or_a_minute_loses_nothing(
    server: EmbeddedRedis, procs: Processes, tmp_path: Path, tagger: Tagger, outage: int
) -> None:
    """Redis away longer than a task's retries and (at 60 s) its hard time limit: tasks wait
    for it instead of dropping their batch, and the worker's pool comes back to work."""
    url = str(server.url)
    expected, worker, replay = queued_run(procs, tmp_path, tagger, url, stories=300, until=40)
    server.stop()
    time.sleep(outage)
    server.start()

    assert finished(replay, url, procs) == 0, procs.log(replay)
    assert worker.poll() is None, "the worker did not survive the outage"
    # Its pool came back whole: the heartbeat (written only while it can work) says so.
    with redis.Redis.from_url(url, decode_responses=True) as client:
        wait_until(lambda: any(client.scan_iter("armswatch:alive:*")), deadline=30,
                   what="the worker's heartbeat after the outage")  # fmt: skip
        [key] = client.scan_iter("armswatch:alive:*")
        assert json.loads(client.get(key) or "{}")["processes"] == 2
    with redis.Redis.from_url(url, decode_responses=True) as client:
        ids = tagged_ids(client)
    assert len(ids) == len(set(ids)), "a story was published twice"
    assert set(ids) == expected
