"""Alerts as Slack and Teams messages, and as email: hostile text stays text."""

from __future__ import annotations

import json

import pytest

from pipelines.alert_formats import markdown_escape, slack_payload, teams_payload, webhook_body
from pipelines.errors import ConfigError, InputRejected, TransientError
from pipelines.mail import SmtpConfig, alert_message, digest_message, send
from tests.smtp import smtp_server

TITLE = "<!channel> Drones <script>alert(1)</script> & *bold* [x](https://evil.example)"
SENTENCE = "Iran sent <b>Shahed-136</b> drones to Russia & Belarus."


def _alert(entry_id: str = "1700000000000-0", title: str = TITLE) -> dict:
    transfer = {
        "supplier": "IR",
        "recipient": "RU",
        "system_class": "drone",
        "systems": ["Shahed-136"],
        "status": "delivered",
        "denied": True,
        "evidence": [{"sentence": SENTENCE, "start": 0, "end": len(SENTENCE)}],
    }
    return {
        "subscription": "desk",
        "entry_id": entry_id,
        "story_id": "s1",
        "kind": "new",
        "changes": [{"text": "new transfer IR -> RU drone (delivered)"}],
        "matched": [0, 7],  # an index past the transfers is ignored, not a crash
        "record": {
            "title": title,
            "source": {"url": "https://news.example/s1"},
            "transfers": [transfer],
        },
    }


def test_slack_payload_escapes_its_control_characters() -> None:
    payload = slack_payload(_alert())
    assert payload["text"].startswith("[desk] &lt;!channel&gt; Drones &lt;script&gt;")
    header, section, context = payload["blocks"]
    assert header["text"] == {"type": "plain_text", "text": " ".join(TITLE.split())[:150]}
    text = section["text"]["text"]
    assert section["text"]["type"] == "mrkdwn"
    assert text == (
        "*IR -&gt; RU  drone (Shahed-136)  delivered  DENIED*\n"
        ">Iran sent &lt;b&gt;Shahed-136&lt;/b&gt; drones to Russia &amp; Belarus."
    )
    assert all(e["type"] == "plain_text" for e in context["elements"])
    assert "<" not in json.dumps(payload["text"]) and "<" not in text


def test_teams_payload_is_one_adaptive_card_with_markdown_escaped() -> None:
    payload = teams_payload(_alert())
    assert payload["type"] == "message"
    (attachment,) = payload["attachments"]
    assert attachment["contentType"] == "application/vnd.microsoft.card.adaptive"
    card = attachment["content"]
    assert card["type"] == "AdaptiveCard" and card["version"] == "1.4"
    texts = [block["text"] for block in card["body"]]
    assert texts[0] == markdown_escape(" ".join(TITLE.split()))
    assert r"\[x\]\(https://evil\.example\)" in texts[0] and r"\*bold\*" in texts[0]
    assert r"IR \-\> RU  drone \(Shahed\-136\)  delivered  DENIED" in texts


def test_webhook_body_by_format() -> None:
    alert = _alert()
    assert json.loads(webhook_body("standard", alert)) == alert
    assert "blocks" in json.loads(webhook_body("slack", alert))
    assert json.loads(webhook_body("teams", alert))["type"] == "message"


def _config(port: int, **changes: object) -> SmtpConfig:
    values = {
        "host": "127.0.0.1",
        "port": port,
        "starttls": False,
        "username": None,
        "password": None,
        "sender": "armswatch@example.org",
        "timeout": 10.0,
    }
    return SmtpConfig(**{**values, **changes})  # type: ignore[arg-type]


def test_an_alert_by_email_and_a_digest_on_a_loopback_smtp_server() -> None:
    with smtp_server() as box:
        config = _config(box.port)
        send(alert_message(_alert(), sender=config.sender, to=["desk@example.org"]), config)
        alerts = [_alert("1700000000000-0", "First"), _alert("1700000000001-0", "Second")]
        send(
            digest_message("desk", alerts, sender=config.sender, to=["a@x.org", "b@x.org"]), config
        )
    one, digest = box.messages
    assert box.envelopes[0] == ("armswatch@example.org", ["desk@example.org"])
    assert one["subject"] == "[armswatch desk] " + " ".join(TITLE.split())
    assert one.get_content_type() == "text/plain"  # never HTML
    body = one.get_content()
    assert "IR -> RU  drone (Shahed-136)  delivered  DENIED" in body
    assert f'"{SENTENCE}"' in body and "source: https://news.example/s1" in body
    assert digest["subject"] == "[armswatch desk] digest: 2 alerts"
    assert box.envelopes[1][1] == ["a@x.org", "b@x.org"]
    text = digest.get_content()
    assert text.index("First") < text.index("Second")


def test_a_title_cannot_add_headers() -> None:
    with smtp_server() as box:
        config = _config(box.port)
        title = "Drones\r\nBcc: victim@example.org"
        send(alert_message(_alert(title=title), sender=config.sender, to=["d@x.org"]), config)
    (message,) = box.messages
    assert message["bcc"] is None and box.envelopes[0][1] == ["d@x.org"]
    assert message["subject"] == "[armswatch desk] Drones Bcc: victim@example.org"


@pytest.mark.parametrize(
    ("reply", "error"),
    [("550 5.1.1 no such user", InputRejected), ("451 4.3.0 try again later", TransientError)],
)
def test_smtp_refusals_are_permanent_or_transient_by_their_code(reply: str, error: type) -> None:
    with smtp_server() as box:
        box.refuse["nobody@x.org"] = reply
        config = _config(box.port)
        message = alert_message(_alert(), sender=config.sender, to=["nobody@x.org"])
        with pytest.raises(error, match=reply.split()[0]):
            send(message, config)


def test_no_server_is_transient_and_no_starttls_is_a_configuration_error() -> None:
    with smtp_server() as box:
        port = box.port
        with pytest.raises(ConfigError, match="STARTTLS"):
            send(
                alert_message(_alert(), sender="a@x.org", to=["d@x.org"]),
                _config(port, starttls=True),
            )
    with pytest.raises(TransientError, match="ConnectionRefusedError"):
        send(alert_message(_alert(), sender="a@x.org", to=["d@x.org"]), _config(port))


def test_credentials_from_the_settings_log_in() -> None:
    with smtp_server(login=("armswatch", "s3cret")) as box:
        message = alert_message(_alert(), sender="a@x.org", to=["d@x.org"])
        send(message, _config(box.port, username="armswatch", password="s3cret"))
    assert len(box.messages) == 1 and box.logins == ["armswatch"]


def test_a_story_with_dozens_of_transfers_stays_within_the_chat_limits() -> None:
    alert = _alert()
    one = alert["record"]["transfers"][0]
    alert["record"]["transfers"] = [{**one, "recipient": f"R{i}"} for i in range(60)]
    alert["matched"] = list(range(60))
    slack = slack_payload(alert)
    assert len(slack["blocks"]) == 1 + 20 + 1  # Slack refuses more than 50
    assert slack["blocks"][-1]["elements"][1]["text"] == "and 40 more transfers"
    body = teams_payload(alert)["attachments"][0]["content"]["body"]
    assert [b["text"] for b in body].count(markdown_escape("and 40 more transfers")) == 1
    assert len(json.dumps(body)) < 28_000
