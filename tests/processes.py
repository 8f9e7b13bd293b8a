"""armswatch commands as child processes for the tests that need real ones."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


class Processes:
    """armswatch commands as child processes, each in a session of its own (so that a
    SIGKILL takes the worker's pool children too), stopped at the end of the test."""

    def __init__(self, env: dict[str, str], logs: Path):
        self.env = env
        self.logs = logs
        self.started: list[subprocess.Popen[bytes]] = []

    def start(self, name: str, *args: str) -> subprocess.Popen[bytes]:
        log = (self.logs / f"{name}-{len(self.started)}.log").open("wb")
        child = subprocess.Popen(
            [sys.executable, "-m", "worker", *args],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        self.started.append(child)
        return child

    def log(self, process: subprocess.Popen[bytes]) -> str:
        index = self.started.index(process)
        [path] = self.logs.glob(f"*-{index}.log")
        return path.read_text(errors="replace")[-3000:]

    def stop_all(self) -> None:
        for child in self.started:
            if child.poll() is None:
                os.killpg(child.pid, signal.SIGTERM)
        for child in self.started:
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(child.pid, signal.SIGKILL)
                child.wait()


def wait_until(condition: Callable[[], bool], *, deadline: float, what: str) -> None:
    end = time.monotonic() + deadline
    while not condition():
        if time.monotonic() > end:
            raise AssertionError(f"gave up waiting for {what} after {deadline:.0f} s")
        time.sleep(0.2)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
