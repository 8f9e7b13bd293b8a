"""The command line and its Redis, as processes: a server that does not answer is one clean
line naming it (password hidden) in every command, and `subscribe` follows for as long as
it is left running, through blocking reads longer than a socket timeout and a restart."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import redis

from tests.conftest import ROOT, SEEDS
from tests.receiver import wait_until
from tests.worker.test_subscribers import _fill
from worker.redis_server import EmbeddedRedis

SEED = str(SEEDS / "003_66b9e44e360c82d3.txt")
# Port 1 refuses at once; the password must never be printed.
UNREACHABLE = "redis://:s3cret-pw@127.0.0.1:1/0"
SHOWN = "redis://:***@127.0.0.1:1/0"


def _env(redis_url: str, config_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSWATCH_")}
    return {**env, "REDIS_URL": redis_url, "ARMSWATCH_CONFIG_DIR": str(config_dir)}


def _armswatch(*args: str) -> list[str]:
    return [sys.executable, "-m", "worker", *args]


@pytest.mark.parametrize(
    "args",
    [
        ["replay", SEED],
        ["replay", "--queue", SEED],
        ["replay", "--via-http", SEED],
        ["poll"],
        ["beat"],
        ["worker"],
        ["status"],
        ["dlq", "list"],
        ["dlq", "retry", "--all"],
        ["dlq", "purge", "--yes"],
        ["subscriptions", "list"],
        ["subscriptions", "add", "desk", "--supplier", "IR"],
        ["subscriptions", "remove", "desk"],
        ["subscribe", "desk"],
    ],
    ids=" ".join,
)
def test_an_unreachable_redis_is_one_clean_error(args: list[str], config_dir: Path) -> None:
    (config_dir / "feeds.yaml").write_text(
        "feeds:\n  - {name: wire, url: 'https://example.org/rss.xml'}\n"
    )
    # The subprocess timeout is the bound: a few seconds, not the minutes of retries.
    out = subprocess.run(
        _armswatch(*args), cwd=ROOT, env=_env(UNREACHABLE, config_dir),
        capture_output=True, text=True, timeout=20, check=False,
    )  # fmt: skip
    assert out.returncode == 2, out.stderr
    assert "Traceback" not in out.stderr
    assert f"armswatch: cannot reach Redis at {SHOWN}: " in out.stderr
    assert "s3cret" not in out.stderr + out.stdout
    assert "rejected" not in out.stderr  # no feed or file is blamed for it


class _Lines:
    """The stdout lines of a process, collected by a thread as they come."""

    def __init__(self, proc: subprocess.Popen[str]):
        assert proc.stdout is not None
        self.lines: list[str] = []
        self._thread = threading.Thread(target=lambda: self.lines.extend(proc.stdout or ()))
        self._thread.start()

    def ids(self) -> list[str]:
        return [json.loads(line)["entry_id"] for line in list(self.lines)]


def test_subscribe_follows_past_the_socket_timeout_and_across_a_redis_restart(
    tmp_path: Path, config_dir: Path
) -> None:
    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    client = redis.Redis.from_url(url, decode_responses=True)
    follower = None
    try:
        before = _fill(client, config_dir, 2)
        follower = subprocess.Popen(
            _armswatch("subscribe", "desk", "--json", "--consumer", "c1"),
            cwd=ROOT, env=_env(url, config_dir), text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        printed = _Lines(follower)
        # --timeout longer than redis-py's 5 s socket timeout: waits it out, then exits 0.
        waiter = subprocess.run(
            _armswatch("subscribe", "desk", "--json", "--group", "other", "--timeout", "6"),
            cwd=ROOT, env=_env(url, config_dir), capture_output=True, text=True, timeout=60,
            check=False,
        )  # fmt: skip
        assert waiter.returncode == 0, waiter.stderr
        assert "Traceback" not in waiter.stderr
        assert [json.loads(line)["entry_id"] for line in waiter.stdout.splitlines()] == before
        assert wait_until(lambda: len(printed.lines) == 2, timeout=60)

        server.stop()  # SHUTDOWN, as `docker compose restart redis` does
        # Down longer than redis-py's own retries last (about 7 s), then back.
        time.sleep(8)
        assert follower.poll() is None, "subscribe died while Redis was down"
        server.start()  # the same port and password, the data from its append-only file
        with redis.Redis.from_url(url, decode_responses=True) as again:
            after = _fill(again, config_dir, 2, first=2)
        assert wait_until(lambda: len(printed.lines) == 4, timeout=60), printed.lines
        assert follower.poll() is None
        follower.send_signal(signal.SIGINT)
        _, stderr = follower.communicate(timeout=30)
    finally:
        if follower is not None and follower.poll() is None:
            follower.kill()
            follower.wait()
        client.close()
        server.stop()
    assert printed.ids() == before + after  # each alert once, in order
    port = url.rsplit(":", 1)[1].split("/")[0]
    shown = f"redis://:***@127.0.0.1:{port}/0"
    assert f"armswatch: lost Redis at {shown}" in stderr
    assert f"armswatch: reconnected to Redis at {shown}" in stderr
    assert "Traceback" not in stderr and server.password not in stderr
