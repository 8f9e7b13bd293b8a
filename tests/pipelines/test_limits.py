"""The per-document time limit interrupts CPU-bound work (main thread, SIGALRM)."""

from __future__ import annotations

import signal

import pytest

from pipelines.errors import InputRejected
from pipelines.limits import time_limit


def _spin(seconds: float) -> None:
    with time_limit(seconds, input="page.html"):
        while True:
            pass


def test_a_runaway_block_is_interrupted_and_named() -> None:
    with pytest.raises(InputRejected, match=r"took longer than 0\.05 s") as info:
        _spin(0.05)
    assert info.value.input == "page.html"


def test_a_quick_block_is_left_alone_and_the_timer_cleared() -> None:
    with time_limit(5, input="page.html"):
        total = sum(range(1000))
    assert total == 499500
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
