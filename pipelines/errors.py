"""The one error tree of armswatch.

    ArmswatchError            base: every message names the input and the stage
    ├── ConfigError           bad settings, feeds or subscriptions: exit code 2, nothing runs
    ├── InputRejected         this input can never be processed: dead-lettered, exit code 1
    │   └── UnsafeURL         a URL resolving to a private, loopback or link-local address
    ├── TransientError        may work later (network, 5xx, Redis down): retried with backoff,
    │   │                     dead-lettered after the last try
    │   └── RateLimited       the server asked us to wait (429/503 with Retry-After)
    │       └── HostBusy      our own per-host politeness says wait: a deferral, not a failure
    ├── StageFailed           a stage raised something unexpected (a bug): dead-lettered with
    │                         the traceback, never retried, never crashes the worker
    └── Duplicate             already seen: a skip, not a failure

Stages raise these; the Celery tasks and the command line map them to retries, the
dead-letter stream and exit codes. Nothing else should escape a stage.
"""

from __future__ import annotations


class ArmswatchError(Exception):
    """Base of all armswatch errors."""

    def __init__(self, reason: str, *, input: str | None = None, stage: str | None = None):
        self.reason = reason
        self.input = input
        self.stage = stage
        super().__init__(reason)

    def at(self, *, stage: str | None = None, input: str | None = None) -> ArmswatchError:
        """Fill in where it happened, keeping what is already known."""
        self.stage = self.stage or stage
        self.input = self.input or input
        return self

    def __str__(self) -> str:
        where = " ".join(
            part for part in (self.input, f"[{self.stage}]" if self.stage else "") if part
        )
        return f"{where}: {self.reason}" if where else self.reason


class ConfigError(ArmswatchError):
    """Settings, feeds or subscriptions are invalid."""


class InputRejected(ArmswatchError):
    """The input can never be processed: empty, binary, too large, unsafe."""


class UnsafeURL(InputRejected):
    """The URL points at a private, loopback, link-local or metadata address."""


class TransientError(ArmswatchError):
    """A failure that may go away: retry later."""


class RateLimited(TransientError):
    """The server asked us to come back after `retry_after` seconds."""

    def __init__(
        self, reason: str, *, retry_after: float, input: str | None = None, stage: str | None = None
    ):
        super().__init__(reason, input=input, stage=stage)
        self.retry_after = retry_after


class HostBusy(RateLimited):
    """The host's concurrency or delay limit is reached: come back after `retry_after`."""


class StageFailed(ArmswatchError):
    """A stage raised an unexpected exception; the cause is chained."""


class Duplicate(ArmswatchError):
    """Already seen: skip quietly."""
