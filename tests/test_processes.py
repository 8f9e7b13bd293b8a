"""The compose services as local processes (no docker engine here): a redis-server with
AOF, `armswatch worker` and two `armswatch beat`s, with the environment compose.yaml gives
them, monitoring a feed served on loopback. Each story lands in `armswatch:tagged` once,
the metrics port answers, and SIGTERM stops every process cleanly."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import httpx
import redis
import yaml

from tests.processes import Processes, free_port, wait_until
from tests.sitegen import filler_article
from worker.redis_server import EmbeddedRedis
from worker.site import NewsSite, publish_site

ROOT = Path(__file__).resolve().parent.parent


def test_redis_worker_and_two_beats_run_the_live_path_as_compose_would(tmp_path: Path) -> None:
    compose = yaml.safe_load((ROOT / "compose.yaml").read_text())
    worker_cmd = compose["services"]["worker"]["command"]
    beat_cmd = compose["services"]["beat"]["command"]
    assert worker_cmd[0] == beat_cmd[0] == "armswatch"

    server = EmbeddedRedis(tmp_path / "redis")
    url = server.start()
    articles = [filler_article(n, seed=11) for n in range(6)]
    config = tmp_path / "config"
    config.mkdir()
    metrics_port = free_port()
    with NewsSite() as site:
        feed = publish_site(site, articles)
        (config / "feeds.yaml").write_text(
            f"feeds:\n  - name: local\n    url: {feed}\n    interval: 2\n"
        )
        env = {
            **os.environ,
            # compose.yaml's environment, pointed at this machine's processes
            **{k: str(v) for k, v in compose["x-armswatch"]["environment"].items()},
            "REDIS_URL": url,
            "ARMSWATCH_CONFIG_DIR": str(config),
            "ARMSWATCH_METRICS_HOST": "127.0.0.1",
            "ARMSWATCH_METRICS_PORT": str(metrics_port),
            "ARMSWATCH_DATA_DIR": str(tmp_path / "data"),
            # the site is on loopback, and ours
            "ARMSWATCH_ALLOW_PRIVATE_NETWORKS": "true",
            "ARMSWATCH_HOST_MIN_DELAY_SECONDS": "0",
        }
        procs = Processes(env, tmp_path)
        try:
            worker = procs.start("worker", *worker_cmd[1:])
            beats = [procs.start("beat", *beat_cmd[1:]) for _ in range(2)]
            client = redis.Redis.from_url(url, decode_responses=True)

            def published() -> int:
                return int(client.xlen("armswatch:tagged"))

            wait_until(lambda: published() >= len(articles), deadline=180, what="6 stories")
            # Polls go on every 2 s (two beats, one claim each time): still nothing twice.
            polled = float(client.hget("armswatch:feed:local", "last_poll") or 0)
            wait_until(
                lambda: float(client.hget("armswatch:feed:local", "last_poll") or 0) > polled,
                deadline=60,
                what="another poll",
            )
            ids = [f["id"] for _, f in client.xrange("armswatch:tagged")]
            assert len(ids) == len(set(ids)) == len(articles)

            text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
            assert 'armswatch_published_total{outcome="new"} 6.0' in text

            for process in [worker, *beats]:
                assert process.poll() is None, procs.log(process)
                os.killpg(process.pid, signal.SIGTERM)
            for process in [worker, *beats]:
                assert process.wait(timeout=60) == 0, procs.log(process)
            client.close()
        finally:
            procs.stop_all()
            server.stop()
