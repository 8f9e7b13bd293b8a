"""`armswatch worker` when its metrics port is taken (node_exporter's 9100 often is): it
says so on stderr and in `armswatch status`, and runs without metrics."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import redis

from tests.conftest import ROOT
from tests.processes import free_port, wait_until


def test_a_taken_metrics_port_is_a_warning_not_an_exit(
    redis_url: str, redis_client: redis.Redis, config_dir: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARMSWATCH_")}
    env |= {"REDIS_URL": redis_url, "ARMSWATCH_CONFIG_DIR": str(config_dir)}
    port = free_port()
    log = tmp_path / "worker.log"
    with socket.socket() as taken, log.open("wb") as out:
        taken.bind(("127.0.0.1", port))
        taken.listen()
        worker = subprocess.Popen(
            [sys.executable, "-m", "worker", "worker", "--metrics-port", str(port),
             "--pool", "solo"],
            cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:
            wait_until(
                lambda: (
                    bool(list(redis_client.scan_iter("armswatch:worker:*")))
                    or worker.poll() is not None
                ),
                deadline=120,
                what="the worker's advert",
            )
            assert worker.poll() is None, log.read_text()
            status = subprocess.run(
                [sys.executable, "-m", "worker", "status", "--json"],
                cwd=ROOT, env=env, capture_output=True, text=True, timeout=120, check=True,
            )  # fmt: skip
            (row,) = json.loads(status.stdout)["workers"]
            assert row["metrics"] is None
            assert f"cannot serve metrics on 127.0.0.1:{port}" in row["reason"]
        finally:
            worker.terminate()
            worker.wait(timeout=60)
    stderr = log.read_text()
    assert f"WARNING: cannot serve metrics on 127.0.0.1:{port}: Address already in use" in stderr
    assert "running without metrics" in stderr
    assert "Traceback" not in stderr
    assert not list(redis_client.scan_iter("armswatch:worker:*"))  # removed on a clean stop
