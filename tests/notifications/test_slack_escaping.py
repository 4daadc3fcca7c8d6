"""Issue 22, finding 6: every text Slack reads as mrkdwn is escaped (&, <, >), the fallback `text` included,
so an account name or a rule id cannot ping a channel or smuggle a link."""

import json

from billing.models import ChannelKind
from billing.notifications import channel_admin
from billing.notifications import outbox as mail
from billing.notifications.messages import AlertMessage, FigureValue, slack_message
from billing.pipeline import evaluate_alerts
from tests.support.alerts import only_rule
from tests.support.history import snapshot

HOSTILE = "<!channel> <!here> <https://evil.test|click> & co"


def mrkdwn_texts(message: dict) -> list[str]:
    texts = [message["text"]]
    for block in message["blocks"]:
        if block.get("text", {}).get("type") == "mrkdwn":
            texts.append(block["text"]["text"])
        texts += [
            item["text"]
            for item in block.get("fields", []) + block.get("elements", [])
            if "type" in item and item["type"] == "mrkdwn"
        ]
    return texts


def test_every_mrkdwn_text_and_the_fallback_are_escaped():
    message = AlertMessage(
        event_id="alert:1",
        kind="gateway_rule",
        kind_label="Gateway rule",
        state="opened",
        headline=f"Gateway rule {HOSTILE} nearly used",
        occurred_at="2026-03-18T10:20:00+00:00",
        account_id="a" * 32,
        account_name=HOSTILE,
        figures=(FigureValue("rule", "Rule", HOSTILE),),
    )

    texts = mrkdwn_texts(slack_message(message))

    assert len(texts) == 4  # fallback, headline, the figure, the context
    for text in texts:
        assert "<" not in text and ">" not in text
        assert "&lt;!channel&gt;" in text and "&amp; co" in text


def test_an_account_named_to_ping_everyone_reaches_slack_escaped(db, account, receiver):
    account.name = HOSTILE
    account.save()
    snapshot(account, "4.20")
    team = channel_admin.create_channel(None, name="Team", kind=ChannelKind.SLACK, url=receiver.url).channel
    only_rule(account, notify_managers=False, recipients=[]).channels.add(team)

    evaluate_alerts(account)
    mail.send_outbox()

    (hit,) = receiver.received
    message = json.loads(hit.body)
    assert message["text"].startswith(
        "Low balance: &lt;!channel&gt; &lt;!here&gt; &lt;https://evil.test|click&gt;"
    )
    assert all("<!" not in text for text in mrkdwn_texts(message))
