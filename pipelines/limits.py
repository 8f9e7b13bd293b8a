"""A time limit for one CPU-bound call (trafilatura on a pathological page)."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

from .errors import InputRejected


@contextmanager
def time_limit(seconds: float | None, *, input: str) -> Iterator[None]:
    """Raise InputRejected when the block runs longer than `seconds`.

    A real-time interval timer (SIGALRM) interrupts pure-Python and lxml work alike. Signals
    reach only the main thread, so elsewhere (a test's worker thread) the block runs without
    a limit and Celery's task time limit is the bound.
    """
    if not seconds or threading.current_thread() is not threading.main_thread():
        yield
        return

    def expire(signum: int, frame: FrameType | None) -> None:
        raise InputRejected(f"took longer than {seconds:g} s", input=input)

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
