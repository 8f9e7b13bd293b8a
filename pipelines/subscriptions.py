"""Alert subscriptions (CONTRACT.md, "subscriptions.yaml"): the model, matching, changes (pure).

    matches(story, subscription) -> bool
      story level     topics (any of), min_relevance, keywords (text contains any, any case)
      transfer level  suppliers, recipients, system_classes, systems, statuses, include_denied:
                      all must hold for at least ONE transfer of the story
    An empty or absent list places no constraint; `include_denied: false` is a constraint
    (the transfer must not be denied). A subscription without a transfer-level constraint
    matches on the story-level fields alone, transfers or not.

What a subscription has seen of a story is a set of `Fact`s (supplier, recipient, class,
status, denied) of the transfers that match it; `changes` says what a later story adds.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Annotated, Any, Literal, NamedTuple
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .record import Status, Story, SystemClass, TopicLabel, Transfer
from .yamlfile import load_yaml

SUBSCRIPTIONS_FILE = "subscriptions.yaml"

# States are ISO 3166-1 alpha-2 codes, armed groups lower-case slugs (CONTRACT.md, actors).
_ACTOR = re.compile(r"^([A-Z]{2}|[a-z0-9]+(-[a-z0-9]+)*)$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s,;<>\"]+@[^@\s,;<>\"]+$")


def _actor(value: str) -> str:
    if len(value) == 2 and value.isalpha() and value.islower():
        raise ValueError(f"{value!r}: states are upper-case ISO codes ({value.upper()!r})")
    if not _ACTOR.match(value):
        raise ValueError(
            f"{value!r} is neither an ISO country code (IR) nor a group slug (houthis)"
        )
    return value


def _list(value: Any) -> Any:
    """Absent, null or a single value: a list (an empty list places no constraint)."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else value


def _words(values: tuple[str, ...]) -> tuple[str, ...]:
    if any(not v.strip() for v in values):
        raise ValueError("empty string")
    return values


Actor = Annotated[str, AfterValidator(_actor)]
Strings = Annotated[tuple[str, ...], BeforeValidator(_list), AfterValidator(_words)]


class _Strict(BaseModel):
    # A misspelt field must fail loudly: `supplier:` silently ignored would match everything.
    model_config = ConfigDict(frozen=True, extra="forbid")


class Match(_Strict):
    topics: Annotated[tuple[TopicLabel, ...], BeforeValidator(_list)] = ()
    min_relevance: float = Field(default=0.0, ge=0.0, le=1.0)
    keywords: Strings = ()
    suppliers: Annotated[tuple[Actor, ...], BeforeValidator(_list)] = ()
    recipients: Annotated[tuple[Actor, ...], BeforeValidator(_list)] = ()
    system_classes: Annotated[tuple[SystemClass, ...], BeforeValidator(_list)] = ()
    systems: Strings = ()
    statuses: Annotated[tuple[Status, ...], BeforeValidator(_list)] = ()
    include_denied: bool = True

    @property
    def on_transfers(self) -> bool:
        """Whether any transfer-level constraint is set."""
        return bool(
            self.suppliers
            or self.recipients
            or self.system_classes
            or self.systems
            or self.statuses
            or not self.include_denied
        )


def _http_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{value!r} is not an http(s) URL with a host")
    return value


def _env_name(value: str) -> str:
    if not _ENV_NAME.match(value):
        raise ValueError(f"{value!r} is not an environment variable name")
    return value


class Webhook(_Strict):
    url: Annotated[str, AfterValidator(_http_url)]
    # The secret itself never sits in a file or in Redis: only the variable that holds it.
    secret_env: Annotated[str, AfterValidator(_env_name)]
    # The body: the alert as Standard Webhooks JSON, or what a Slack or Teams incoming
    # webhook accepts (pipelines/alert_formats.py). Signed the same way in every format.
    format: Literal["standard", "slack", "teams"] = "standard"


def _address(value: str) -> str:
    # Only the shape: one @, no spaces or header separators (the address goes in a header).
    if not _EMAIL.match(value):
        raise ValueError(f"{value!r} is not an email address")
    return value


class Email(_Strict):
    to: Annotated[tuple[Annotated[str, AfterValidator(_address)], ...], BeforeValidator(_list)] = (
        Field(min_length=1)
    )
    # `each`: one message per alert; `digest`: one message a day with that day's alerts.
    mode: Literal["each", "digest"] = "each"


class Deliver(_Strict):
    webhook: Webhook | None = None
    email: Email | None = None


class Subscription(_Strict):
    # The name ends up in a Redis key and in shell commands: no spaces, no colons.
    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
    match: Match = Match()
    deliver: Deliver | None = None
    # Alert only when the transfer ledger changes in what the subscription matches (a new
    # pair, a status advance, a denial that appears or goes), not for every story.
    changes_only: bool = False

    @property
    def webhook(self) -> Webhook | None:
        return self.deliver.webhook if self.deliver else None

    @property
    def email(self) -> Email | None:
        return self.deliver.email if self.deliver else None


# --- reading and validating -----------------------------------------------------------------


def _field(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else f".{part}" if out else str(part)
    return out or "(entry)"


def validate_subscription(data: Any, *, where: str = "") -> Subscription:
    """One subscription from plain data, or a ConfigError naming it and the bad field."""
    name = data.get("name") if isinstance(data, dict) else None
    label = f"subscription {name!r}" if isinstance(name, str) else f"subscription {where}".strip()
    try:
        return Subscription.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(f"{_field(e['loc'])}: {e['msg']}" for e in exc.errors())
        raise ConfigError(f"{label}: {problems}") from exc


def parse_subscriptions(text: str, *, source: str) -> tuple[Subscription, ...]:
    """The subscriptions of a YAML document, or one ConfigError listing every problem."""
    data = load_yaml(text, source=source)
    if data is None:
        return ()
    if not isinstance(data, dict) or set(data) - {"subscriptions"}:
        raise ConfigError("expected a mapping with one key, 'subscriptions'", input=source)
    entries = data.get("subscriptions") or []
    if not isinstance(entries, list):
        raise ConfigError("'subscriptions' must be a list", input=source)
    found: list[Subscription] = []
    problems: list[str] = []
    for i, entry in enumerate(entries):
        try:
            found.append(validate_subscription(entry, where=f"#{i + 1}"))
        except ConfigError as exc:
            problems.append(exc.reason)
    seen: set[str] = set()
    for sub in found:
        if sub.name in seen:
            problems.append(f"subscription {sub.name!r}: name: used twice")
        seen.add(sub.name)
    if problems:
        raise ConfigError("; ".join(problems), input=source)
    return tuple(found)


def load_subscriptions(config_dir: Path) -> tuple[Subscription, ...]:
    """`subscriptions.yaml` of the config folder; none when the file is absent."""
    path = config_dir / SUBSCRIPTIONS_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ()
    except OSError as exc:
        raise ConfigError(exc.strerror or str(exc), input=str(path)) from exc
    return parse_subscriptions(text, source=str(path))


# --- matching -------------------------------------------------------------------------------


def transfer_matches(transfer: Transfer, match: Match) -> bool:
    """Whether one transfer satisfies every transfer-level field."""
    if match.suppliers and transfer.supplier not in match.suppliers:
        return False
    if match.recipients and transfer.recipient not in match.recipients:
        return False
    if match.system_classes and transfer.system_class not in match.system_classes:
        return False
    if match.systems:
        wanted = {s.casefold() for s in match.systems}
        if not any(s.casefold() in wanted for s in transfer.systems):
            return False
    if match.statuses and transfer.status not in match.statuses:
        return False
    return match.include_denied or not transfer.denied


def story_level_matches(story: Story, match: Match) -> bool:
    if match.topics and not {t.label for t in story.topics} & set(match.topics):
        return False
    if story.relevance < match.min_relevance:
        return False
    if match.keywords:
        text = story.text.casefold()
        return any(k.casefold() in text for k in match.keywords)
    return True


def matching_transfers(story: Story, subscription: Subscription) -> list[int]:
    """Indices of the transfers that concern the subscription (all, if it has no filter)."""
    match = subscription.match
    if not match.on_transfers:
        return list(range(len(story.transfers)))
    return [i for i, t in enumerate(story.transfers) if transfer_matches(t, match)]


def matches(story: Story, subscription: Subscription) -> bool:
    """Whether the story is an alert for the subscription."""
    match = subscription.match
    if not story_level_matches(story, match):
        return False
    return not match.on_transfers or any(transfer_matches(t, match) for t in story.transfers)


# --- what changed ---------------------------------------------------------------------------

TransferKey = tuple[str | None, str | None, str]


class Fact(NamedTuple):
    """One alerted transfer, reduced to what makes a new alert when it changes."""

    supplier: str | None
    recipient: str | None
    system_class: str
    status: str
    denied: bool

    @property
    def key(self) -> TransferKey:
        return (self.supplier, self.recipient, self.system_class)


def transfer_label(key: TransferKey) -> str:
    supplier, recipient, system_class = key
    return f"{supplier or '?'} -> {recipient or '?'} {system_class}"


def facts(story: Story, subscription: Subscription) -> frozenset[Fact]:
    """The facts of the story's transfers that concern the subscription."""
    return frozenset(
        Fact(t.supplier, t.recipient, t.system_class, t.status, t.denied)
        for t in (story.transfers[i] for i in matching_transfers(story, subscription))
    )


ChangeKind = Literal["new_transfer", "new_status", "now_denied", "no_longer_denied"]


class Change(_Strict):
    """One thing a story says that the subscription had not alerted before."""

    change: ChangeKind
    transfer: str  # "IR -> RU drone"
    status: str
    before: tuple[str, ...] = ()  # the statuses alerted before for this transfer
    # Changes-only alerts: the party denying or withdrawing, the transfer ledger entry.
    by: str | None = None
    entry: str | None = None

    @property
    def text(self) -> str:
        if self.change == "new_transfer":
            return f"new transfer {self.transfer} ({self.status})"
        if self.change == "new_status":
            return f"{self.transfer}: {', '.join(self.before)} -> {self.status}"
        by = f" by {self.by}" if self.by else ""
        if self.change == "now_denied":
            return f"{self.transfer} ({self.status}): now denied{by}"
        return f"{self.transfer} ({self.status}): no longer denied{by}"


# What was alerted before, per transfer key: status -> the `denied` values seen (empty when
# unknown, as for the subscription-wide memory, which does not keep `denied`).
Before = Mapping[TransferKey, Mapping[str, frozenset[bool]]]


def before_from_facts(known: Iterable[Fact]) -> dict[TransferKey, dict[str, frozenset[bool]]]:
    out: dict[TransferKey, dict[str, frozenset[bool]]] = {}
    for fact in known:
        statuses = out.setdefault(fact.key, {})
        statuses[fact.status] = statuses.get(fact.status, frozenset()) | {fact.denied}
    return out


def changes(added: Iterable[Fact], before: Before) -> list[Change]:
    """What the added facts change: a new transfer, a new status, a flip of `denied`."""
    out: list[Change] = []
    for fact in sorted(added, key=lambda f: (str(f.key), f.status, f.denied)):
        label = transfer_label(fact.key)
        statuses = before.get(fact.key)
        if statuses is None:
            out.append(Change(change="new_transfer", transfer=label, status=fact.status))
        elif fact.status not in statuses:
            out.append(
                Change(
                    change="new_status",
                    transfer=label,
                    status=fact.status,
                    before=tuple(sorted(statuses)),
                )
            )
        elif statuses[fact.status] and fact.denied not in statuses[fact.status]:
            kind: ChangeKind = "now_denied" if fact.denied else "no_longer_denied"
            out.append(Change(change=kind, transfer=label, status=fact.status))
    return out
