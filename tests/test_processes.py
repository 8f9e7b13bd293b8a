"""The compose services as local processes (no docker engine here): a redis-server with
AOF, `armswatch worker`, two `armswatch beat`s and Flower, with the commands, environment,
config folder and health checks compose.yaml gives them, monitoring a feed served on
loopback. Each story lands in `armswatch:tagged` once, the subscriptions of ./config get
their alert, every health check passes, and SIGTERM to each main process (what
`docker stop` sends to a container's PID 1) stops it cleanly, pool included."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import httpx
import redis
import yaml

from newssite import Article, NewsSite, publish_site
from tests.processes import Processes, free_port, wait_until
from tests.sitegen import filler_article
from tests.test_compose import health_argv, interpolate
from worker.redis_server import EmbeddedRedis

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]

RELEVANT = Article(
    slug="iran-drones-russia",
    title="Iran delivers new batch of drones to Russia",
    text="Iran has delivered a new batch of Shahed-136 drones to Russia, according to two "
    "officials familiar with the shipments.\n\nThe drones were flown to an airfield near the "
    "Caspian coast last month and moved on by rail, the officials said. Russian forces have "
    "launched hundreds of the drones at Ukrainian power stations since the autumn.\n\n"
    "Tehran has not commented on the report. Officials in Kyiv said the new deliveries "
    "would put more pressure on the country's air defences over the winter.",
)


def local(argv: list[str]) -> list[str]:
    """A container's command as this machine runs it: the test's Python and package."""
    if argv[0] == "armswatch":
        return [sys.executable, "-m", "worker", *argv[1:]]
    if argv[0] in ("python", "celery"):
        return [sys.executable, *(["-m", "celery"] if argv[0] == "celery" else []), *argv[1:]]
    raise AssertionError(f"no local equivalent of {argv}")


def health(name: str, env: dict[str, str], **replace: str) -> int:
    """Exit code of the service's compose health check, run here (`replace`: in its code)."""
    argv = health_argv(SERVICES[name])
    for old, new in replace.items():
        argv = [a.replace(old, new) for a in argv]
    return subprocess.run(local(argv), env=env, capture_output=True, timeout=30).returncode


def image_health(env: dict[str, str], cwd: Path | None = None) -> int:
    [line] = [
        ln for ln in (ROOT / "Dockerfile").read_text().splitlines() if ln.startswith("HEALTH")
    ]
    argv = yaml.safe_load(line.split(" CMD ", 1)[1])  # a JSON array
    return subprocess.run(local(argv), env=env, cwd=cwd, capture_output=True, timeout=30).returncode


def test_the_image_health_check_on_a_plain_docker_run(redis_url: str, tmp_path: Path) -> None:
    """`docker run armswatch:latest`: no REDIS_URL, the worker on its embedded Redis, whose
    URL file is under .armswatch/ of the working directory (/app)."""
    env = {k: v for k, v in os.environ.items() if k != "REDIS_URL" and "ARMSWATCH" not in k}
    assert image_health(env, cwd=tmp_path) != 0  # no Redis started yet: unhealthy
    (tmp_path / ".armswatch").mkdir()
    (tmp_path / ".armswatch" / "redis.url").write_text(redis_url + "\n")
    assert image_health(env, cwd=tmp_path) == 0
    assert image_health({**env, "REDIS_URL": redis_url}, cwd=ROOT) == 0


def group_gone(pid: int) -> bool:
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return True
    return False


def test_the_compose_services_run_the_live_path_as_local_processes(tmp_path: Path) -> None:
    worker_cmd = SERVICES["worker"]["command"]
    beat_cmd = SERVICES["beat"]["command"]
    flower_cmd = SERVICES["flower"]["command"]
    assert worker_cmd[0] == beat_cmd[0] == "armswatch" and flower_cmd[0] == "celery"

    server = EmbeddedRedis(tmp_path / "redis")  # appendonly yes, as compose's redis
    url = server.start()
    articles = [RELEVANT, *(filler_article(n, seed=11) for n in range(5))]
    # ./config is mounted into the containers: the same files here, but for the feeds.
    config = tmp_path / "config"
    shutil.copytree(ROOT / "config", config)
    metrics_port, flower_port = free_port(), free_port()
    flower: subprocess.Popen[bytes] | None = None
    with NewsSite() as site:
        feed = publish_site(site, articles)
        (config / "feeds.yaml").write_text(
            f"feeds:\n  - name: local\n    url: {feed}\n    interval: 2\n"
        )
        env = {
            **os.environ,
            # compose.yaml's environment, pointed at this machine's processes
            **{k: interpolate(v) for k, v in COMPOSE["x-armswatch"]["environment"].items()},
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
        client = redis.Redis.from_url(url, decode_responses=True)
        try:
            worker = procs.start("worker", *worker_cmd[1:])
            beats = [procs.start("beat", *beat_cmd[1:]) for _ in range(2)]
            broker = flower_cmd.index("--broker") + 1
            argv = [*flower_cmd[:broker], url, *flower_cmd[broker + 1 :]]
            argv = [a.replace("5555", str(flower_port)) for a in argv]
            with (tmp_path / "flower.log").open("wb") as log:
                flower = subprocess.Popen(
                    [*local(argv), "--address=127.0.0.1"],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )

            assert client.config_get("appendonly") == {"appendonly": "yes"}
            wait_until(
                lambda: client.xlen("armswatch:tagged") >= len(articles),
                deadline=180,
                what=f"{len(articles)} stories",
            )
            # Polls go on every 2 s (two beats, one claim each time): still nothing twice.
            polled = float(client.hget("armswatch:feed:local", "last_poll") or 0)
            wait_until(
                lambda: float(client.hget("armswatch:feed:local", "last_poll") or 0) > polled,
                deadline=60,
                what="another poll",
            )
            ids = [f["id"] for _, f in client.xrange("armswatch:tagged")]
            assert len(ids) == len(set(ids)) == len(articles)
            # config/subscriptions.yaml, as mounted: the one relevant story is an alert.
            assert client.xlen("armswatch:alerts:iran-drones") == 1

            text = httpx.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).text
            assert f'armswatch_published_total{{outcome="new"}} {len(articles)}.0' in text

            # Every health check of compose.yaml and the image passes against the running
            # processes (Flower may still be starting).
            assert health("worker", env) == 0
            assert health("beat", env) == 0
            assert image_health(env) == 0
            wait_until(
                lambda: health("flower", env, **{"5555": str(flower_port)}) == 0,
                deadline=60,
                what="Flower's health check",
            )

            # `docker stop`: SIGTERM to each container's main process only.
            flower_log = tmp_path / "flower.log"
            for process in [worker, *beats]:
                assert process.poll() is None, procs.log(process)
            assert flower.poll() is None, flower_log.read_text()[-3000:]
            for process in [worker, *beats, flower]:
                process.send_signal(signal.SIGTERM)
            for process in [worker, *beats]:
                assert process.wait(timeout=60) == 0, procs.log(process)
            assert flower.wait(timeout=60) == 0, flower_log.read_text()[-3000:]
            # The worker took its pool down with it, and its health check now fails; so does
            # the beats' (each removed its heartbeat on the way out).
            wait_until(lambda: group_gone(worker.pid), deadline=30, what="the worker's pool")
            assert health("worker", env) != 0
            assert health("beat", env) != 0
        finally:
            client.close()
            if flower is not None and flower.poll() is None:
                os.killpg(flower.pid, signal.SIGKILL)
                flower.wait()
            procs.stop_all()
            server.stop()
