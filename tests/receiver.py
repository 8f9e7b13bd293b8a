"""A webhook receiver on loopback: records each POST and answers with scripted statuses."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int


@dataclass
class Receiver:
    base_url: str
    # path -> statuses to answer in turn; the last one repeats. Unknown paths get 200.
    script: dict[str, list[int]] = field(default_factory=dict)
    # path -> extra response headers (e.g. Retry-After)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def url(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def answer(self, path: str) -> int:
        statuses = self.script.get(path) or [200]
        return statuses.pop(0) if len(statuses) > 1 else statuses[0]


@contextmanager
def serve_receiver() -> Iterator[Receiver]:
    receiver: Receiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length", "0")))
            headers = {k.lower(): v for k, v in self.headers.items()}
            with receiver.lock:
                status = receiver.answer(self.path)
                # Recorded before answering: a client that has its answer finds it here
                # (recording after raced the client's next look under load).
                receiver.requests.append(Received(self.path, headers, body, status))
            self.send_response(status)
            for name, value in receiver.headers.get(self.path, {}).items():
                self.send_header(name, value)
            self.send_header("content-length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = Receiver(f"http://127.0.0.1:{server.server_address[1]}")
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def wait_until(predicate, timeout: float = 120.0, interval: float = 0.05) -> bool:
    """Poll until `predicate()` is true; whether it became true (a wait, not a timing check)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(interval)
    return True
