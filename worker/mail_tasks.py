"""Email delivery tasks: the same outbox, once-only markers and dead letters as webhooks.

    alert stream --group `email`--------> deliver_email(one alert)  -> SMTP, marker
    alert stream --group `email-digest`-> send_digest(subscription) -> SMTP, marker
                                          (enqueued once a day per subscription, at
                                          `email_digest_hour` UTC, by whoever sees it due)

An alert is acknowledged in its group only once its task is enqueued (`email`) or its digest
sent (`email-digest`), so a worker dying in between loses nothing. A sent message leaves a
marker, so a repeated task does not send it twice (delivery is at least once only when a
worker dies between the SMTP server's acceptance and the marker).
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import redis
import structlog
from celery import shared_task

from pipelines.alerts import GroupReader, alert_json, ensure_group
from pipelines.errors import ConfigError, InputRejected, TransientError
from pipelines.keys import DIGEST_GROUP, EMAIL_GROUP
from pipelines.mail import SmtpConfig, alert_message, digest_message, send
from pipelines.publish import dead_letter
from pipelines.subscriptions import Subscription
from pipelines.webhooks import backoff

from .celery_app import ArmswatchApp, ArmswatchTask
from .context import Context
from .settings import Settings

log = structlog.get_logger("armswatch.mail")

_BATCH = 100
# A digest carries at most this many alerts; the rest go in the next one.
_DIGEST_MAX = 500


def smtp_config(settings: Settings) -> SmtpConfig:
    """The SMTP server of the settings, or a ConfigError when none is set."""
    if not settings.smtp_host:
        raise ConfigError("no SMTP server: set ARMSWATCH_SMTP_HOST (smtp_host)")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    return SmtpConfig(
        host=settings.smtp_host,
        port=settings.smtp_port,
        starttls=settings.smtp_starttls,
        username=settings.smtp_username,
        password=password,
        sender=settings.smtp_from,
        timeout=settings.smtp_timeout,
    )


def ensure_outboxes(ctx: Context, subscriptions: Sequence[Subscription]) -> None:
    """Create each email subscription's group before alerts are added (a group made at `$`
    later would miss them)."""
    for sub in subscriptions:
        if sub.email:
            group = DIGEST_GROUP if sub.email.mode == "digest" else EMAIL_GROUP
            ensure_group(ctx.redis, ctx.keys.alerts(sub.name), group, start="$")


def dispatch_email(app: ArmswatchApp, subscriptions: Sequence[Subscription]) -> int:
    """Enqueue one `deliver_email` per alert not yet handed on; enqueue digests that are due."""
    ctx = app.armswatch
    task = app.tasks[deliver_email.name]
    sent = 0
    for sub in subscriptions:
        if sub.email is None or sub.email.mode != "each":
            continue
        reader = GroupReader(ctx.redis, ctx.keys.alerts(sub.name), EMAIL_GROUP, "dispatcher")
        entries = reader.reclaim(
            min_idle_ms=ctx.settings.webhook_reclaim_seconds * 1000, count=_BATCH
        )
        while fresh := reader.read(count=_BATCH, block_ms=None):
            entries.extend(fresh)
        for entry_id, fields in entries:
            body = json.dumps(alert_json(entry_id, fields), ensure_ascii=False)
            task.apply_async(args=(sub.name, entry_id, list(sub.email.to), body))
            reader.ack(entry_id)
            sent += 1
    enqueue_due_digests(app, subscriptions, now=time.time())
    return sent


def beat_digests(app: ArmswatchApp) -> list[str]:
    """The beat's look for due digests (a day without new alerts still gets its digest)."""
    ctx = app.armswatch
    return enqueue_due_digests(app, ctx.subscriptions.current(ctx.redis), now=time.time())


def enqueue_due_digests(
    app: ArmswatchApp, subscriptions: Sequence[Subscription], *, now: float
) -> list[str]:
    """Enqueue today's digest of each digest subscription once its hour has come (once a day:
    the first caller to claim the day sends it)."""
    ctx = app.armswatch
    when = datetime.fromtimestamp(now, tz=UTC)
    if when.hour < ctx.settings.email_digest_hour:
        return []
    day = when.strftime("%Y-%m-%d")
    enqueued = []
    for sub in subscriptions:
        if sub.email is None or sub.email.mode != "digest":
            continue
        if ctx.redis.set(ctx.keys.digest_claim(sub.name, day), "1", nx=True, ex=3 * 86400):
            app.tasks[send_digest.name].apply_async(args=(sub.name, list(sub.email.to)))
            enqueued.append(sub.name)
    return enqueued


def _retry_or_dead_letter(
    task: ArmswatchTask, exc: TransientError, payload: dict[str, Any], label: str
) -> None:
    """Retry with the webhook backoff settings; after the last try, the dead-letter stream."""
    settings = task.ctx.settings
    if task.request.retries >= settings.webhook_max_retries:
        reason = f"gave up after {task.request.retries + 1} tries: {exc.reason}"
        _failed(task.ctx, payload, label, reason, type(exc).__name__)
        return
    log.info("email_retry", input=label, error=str(exc))
    wait = backoff(
        task.request.retries, base=settings.webhook_backoff_base, cap=settings.webhook_backoff_max
    )
    raise task.retry(
        exc=exc, countdown=settings.countdown(wait), max_retries=settings.webhook_max_retries
    ) from exc


def _failed(ctx: Context, payload: dict[str, Any], label: str, reason: str, kind: str) -> None:
    log.warning("email_failed", input=label, reason=reason)
    dead_letter(
        client=ctx.redis,
        keys=ctx.keys,
        maxlen=ctx.settings.dlq_maxlen,
        input=label,
        stage="deliver",
        error=reason,
        error_type=kind,
        payload=payload,
    )


@shared_task(
    bind=True,
    base=ArmswatchTask,
    name="armswatch.deliver_email",
    ledgered=True,  # a lost message is an alert never sent (worker/ledger.py)
    autoretry_for=(redis.ConnectionError, redis.TimeoutError),
    retry_backoff=True,
    retry_jitter=True,
)
def deliver_email(
    self: ArmswatchTask, subscription: str, entry_id: str, to: list[str], body: str
) -> bool:
    """Send one alert as one message; retry with backoff; dead-letter when hopeless."""
    ctx = self.ctx
    # Per recipients too: a dead letter re-sent to the ones refused is another message.
    recipients = hashlib.sha256("\n".join(sorted(to)).encode("utf-8")).hexdigest()[:12]
    marker = ctx.keys.seen_email(subscription, f"{entry_id}:{recipients}")
    if ctx.redis.exists(marker):  # a repeated task: sent already
        return False
    payload = {"subscription": subscription, "entry_id": entry_id, "to": to, "body": body}
    label = f"email {subscription} {entry_id} -> {', '.join(to)}"
    try:
        config = smtp_config(ctx.settings)
        refused = send(alert_message(json.loads(body), sender=config.sender, to=to), config)
    except (InputRejected, ConfigError) as exc:
        _failed(ctx, payload, label, exc.reason, type(exc).__name__)
        return False
    except TransientError as exc:
        _retry_or_dead_letter(self, exc, payload, label)
        return False
    ctx.redis.set(marker, "1", ex=ctx.settings.seen_ttl_seconds)
    if refused:  # sent to the others; a dead letter addressed to these alone
        reason = "recipients refused: " + ", ".join(f"{a} ({r})" for a, r in refused.items())
        _failed(ctx, {**payload, "to": list(refused)}, label, reason, "InputRejected")
    log.info("email_sent", subscription=subscription, entry_id=entry_id)
    return True


@shared_task(
    bind=True,
    base=ArmswatchTask,
    name="armswatch.send_digest",
    autoretry_for=(redis.ConnectionError, redis.TimeoutError),
    retry_backoff=True,
    retry_jitter=True,
)
def send_digest(self: ArmswatchTask, subscription: str, to: list[str]) -> int:
    """Send the alerts of a subscription that no digest has carried yet, as one message."""
    ctx = self.ctx
    reader = GroupReader(ctx.redis, ctx.keys.alerts(subscription), DIGEST_GROUP, "digest")
    reader.ensure(start="$")
    # A digest that failed before acknowledging left its alerts pending here: send them too.
    entries = reader.own_pending(count=_DIGEST_MAX)
    if len(entries) < _DIGEST_MAX:
        entries += reader.read(count=_DIGEST_MAX - len(entries), block_ms=None)
    if not entries:
        return 0
    last = entries[-1][0]
    marker = ctx.keys.seen_email(subscription, f"d{last}")
    label = f"digest {subscription} ({len(entries)} alerts to {last}) -> {', '.join(to)}"
    if not ctx.redis.exists(marker):
        alerts = [alert_json(entry_id, fields) for entry_id, fields in entries]
        payload = {"subscription": subscription, "to": to, "entry_ids": [e for e, _ in entries]}
        try:
            config = smtp_config(ctx.settings)
            send(digest_message(subscription, alerts, sender=config.sender, to=to), config)
        except (InputRejected, ConfigError) as exc:
            # Left pending: the next digest (or `dlq retry`) carries them once fixed.
            _failed(ctx, payload, label, exc.reason, type(exc).__name__)
            return 0
        except TransientError as exc:
            _retry_or_dead_letter(self, exc, payload, label)  # raises Retry until the last try
            return 0
        ctx.redis.set(marker, "1", ex=ctx.settings.seen_ttl_seconds)
        log.info("digest_sent", subscription=subscription, alerts=len(entries))
    reader.ack(*(entry_id for entry_id, _ in entries))
    return len(entries)
