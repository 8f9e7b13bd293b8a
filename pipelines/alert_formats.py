"""An alert (`alerts.alert_json`) in the shapes other channels read (pure functions).

    summary(alert)        the facts the page, Atom, email, Slack and Teams show: title, the
                          matching transfers with their first evidence sentence, source, changes
    slack_payload(alert)  a Slack incoming-webhook body: `text` (the fallback) + Block Kit blocks
    teams_payload(alert)  a Teams incoming-webhook body: one Adaptive Card in a `message`
    webhook_body(fmt, a)  the body for a subscription's `format` (standard: the alert itself)

Article text is hostile: Slack's mrkdwn treats `<`, `>` and `&` as control characters (links,
mentions such as `<!channel>`), so they are escaped; Teams' TextBlocks render a little
Markdown, so its specials are escaped; nothing is ever sent as HTML.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

WebhookFormat = Literal["standard", "slack", "teams"]
WEBHOOK_FORMATS: tuple[WebhookFormat, ...] = ("standard", "slack", "teams")

# Slack and Teams cut long messages; one evidence sentence need not be a page.
_MAX_EVIDENCE = 500
# Slack takes at most 50 blocks and Teams cards about 28 KB: a story listing dozens of
# transfers shows this many, then says how many more.
_MAX_ROWS = 20
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|>~<])")


def _clip(text: str, limit: int = _MAX_EVIDENCE) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def summary(alert: dict[str, Any]) -> dict[str, Any]:
    """What every channel shows of an alert, as plain (unescaped) text fields."""
    record = alert.get("record") or {}
    source = record.get("source") or {}
    transfers = record.get("transfers") or []
    rows = []
    for i in alert.get("matched") or []:
        if not isinstance(i, int) or not 0 <= i < len(transfers):
            continue
        t = transfers[i]
        evidence = [_clip(e.get("sentence") or "") for e in (t.get("evidence") or [])[:1]]
        rows.append(
            {
                "supplier": t.get("supplier") or "?",
                "recipient": t.get("recipient") or "?",
                "system_class": t.get("system_class") or "other",
                "systems": list(t.get("systems") or []),
                "status": t.get("status") or "",
                "denied": bool(t.get("denied")),
                "evidence": evidence[0] if evidence else "",
            }
        )
    return {
        "subscription": alert.get("subscription") or "",
        "entry_id": alert.get("entry_id") or "",
        "story_id": alert.get("story_id") or "",
        "kind": alert.get("kind") or "new",
        "title": _clip(record.get("title") or "(untitled)", 300),
        "published": record.get("published"),
        "source": source.get("url") or source.get("path") or "",
        "transfers": rows,
        "changes": [c.get("text") or "" for c in alert.get("changes") or []],
    }


def _shown(s: dict[str, Any]) -> tuple[list[dict[str, Any]], list[str]]:
    """The transfers a chat message lists, and its context lines (with "N more" if cut)."""
    rows = s["transfers"][:_MAX_ROWS]
    more = len(s["transfers"]) - len(rows)
    lines = [f"{s['subscription']} · {s['kind']}", *s["changes"][:5], s["source"]]
    if more:
        lines.insert(1, f"and {more} more transfers")
    return rows, [line for line in lines if line]


def transfer_line(row: dict[str, Any]) -> str:
    """`IR -> RU  drone (Shahed-136)  delivered` and `DENIED` when a party denies it."""
    systems = f" ({', '.join(row['systems'])})" if row["systems"] else ""
    denied = "  DENIED" if row["denied"] else ""
    return (
        f"{row['supplier']} -> {row['recipient']}  {row['system_class']}{systems}"
        f"  {row['status']}{denied}"
    )


def plain_text(s: dict[str, Any]) -> str:
    """A summary as plain text (email bodies, the Slack fallback)."""
    lines = [f"[{s['subscription']}] {s['kind']}: {s['title']}"]
    for row in s["transfers"]:
        lines.append(f"  {transfer_line(row)}")
        if row["evidence"]:
            lines.append(f'    "{row["evidence"]}"')
    if s["source"]:
        lines.append(f"  source: {s['source']}")
    lines.extend(f"  change: {c}" for c in s["changes"])
    return "\n".join(lines)


def slack_escape(text: str) -> str:
    """Text for Slack mrkdwn: the three control characters Slack asks to escape."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(alert: dict[str, Any]) -> dict[str, Any]:
    """A Slack incoming-webhook message (Block Kit, with `text` as the notification)."""
    s = summary(alert)
    blocks: list[dict[str, Any]] = [
        {
            "type": "header",  # plain_text: nothing in it is interpreted
            "text": {"type": "plain_text", "text": _clip(s["title"], 150)},
        }
    ]
    rows, context = _shown(s)
    for row in rows:
        text = f"*{slack_escape(transfer_line(row))}*"
        if row["evidence"]:
            text += f"\n>{slack_escape(row['evidence'])}"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": text}})
    # Slack allows ten context elements.
    elements = [{"type": "plain_text", "text": _clip(c, 300)} for c in context[:10]]
    blocks.append({"type": "context", "elements": elements})
    return {"text": slack_escape(f"[{s['subscription']}] {s['title']}"), "blocks": blocks}


def markdown_escape(text: str) -> str:
    """Text for a Teams TextBlock: every Markdown special backslash-escaped."""
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def teams_payload(alert: dict[str, Any]) -> dict[str, Any]:
    """A Teams incoming-webhook message: one Adaptive Card (schema 1.4)."""
    s = summary(alert)
    rows, context = _shown(s)
    body: list[dict[str, Any]] = [
        {
            "type": "TextBlock",
            "text": markdown_escape(s["title"]),
            "weight": "Bolder",
            "size": "Medium",
            "wrap": True,
        },
        {
            "type": "TextBlock",
            "text": markdown_escape(context[0]),
            "isSubtle": True,
            "spacing": "None",
        },
    ]
    for row in rows:
        body.append(
            {
                "type": "TextBlock",
                "text": markdown_escape(transfer_line(row)),
                "weight": "Bolder",
                "wrap": True,
            }
        )
        if row["evidence"]:
            body.append(
                {
                    "type": "TextBlock",
                    "text": markdown_escape(f"“{row['evidence']}”"),
                    "wrap": True,
                    "isSubtle": True,
                }
            )
    for line in context[1:]:
        body.append({"type": "TextBlock", "text": markdown_escape(line), "wrap": True})
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": body,
    }
    return {
        "type": "message",
        "attachments": [
            {
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": None,
                "content": card,
            }
        ],
    }


def webhook_body(fmt: str, alert: dict[str, Any]) -> str:
    """The POST body for a webhook of this format."""
    if fmt == "slack":
        payload = slack_payload(alert)
    elif fmt == "teams":
        payload = teams_payload(alert)
    else:
        payload = alert
    return json.dumps(payload, ensure_ascii=False)
