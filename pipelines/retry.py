"""When to try again (pure): jittered exponential backoff and the Retry-After header.

Shared by webhook delivery, feed polls and article fetches.
"""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime


def backoff(retries: int, *, base: float, cap: float, retry_after: float | None = None) -> float:
    """Seconds before the next try: base * 2**retries, jittered to its upper half, capped.

    The jitter keeps clients that failed together from coming back together; a Retry-After
    (already bounded by the caller) wins when it is longer, up to the cap.
    """
    delay = min(cap, base * 2.0**retries)
    delay = random.uniform(delay / 2, delay)
    return min(cap, max(delay, retry_after or 0.0))


def parse_retry_after(value: str | None, *, now: float) -> float | None:
    """Seconds to wait from a Retry-After header (delta seconds or an HTTP date)."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return max(0.0, when.timestamp() - now)
