"""What a Slack message and an email say about an event, from its stored body (`outbox.RunNotices.body`)."""

from __future__ import annotations

import html
import json
from email.message import EmailMessage
from typing import Any

SLACK_SECTION_LIMIT = 2900  # Slack refuses a section's text past 3,000 characters
EXCERPT = 1500

_TITLES = {
    "run.succeeded": "Run succeeded",
    "run.failed": "Run failed",
    "run.cancelled": "Run cancelled",
    "run.timed_out": "Run timed out",
    "run.requires_action": "Run needs your approval",
}


def _summary(body: str) -> tuple[str, dict[str, Any], str]:
    """The title, the run and a short text of what it produced (its output, its error, or what waits)."""
    event = json.loads(body)
    run: dict[str, Any] = event.get("data") or {}
    title = _TITLES.get(event.get("type", ""), event.get("type", "Event"))
    if run.get("error"):
        detail = f"{run['error'].get('type')}: {run['error'].get('message')}"
    elif run.get("pending_approvals"):
        detail = "Waiting for approval: " + ", ".join(
            f"{call['tool_name']} {json.dumps(call['args'])}" for call in run["pending_approvals"]
        )
    else:
        output = run.get("output")
        detail = output if isinstance(output, str) else json.dumps(output, ensure_ascii=False)
    if len(detail) > EXCERPT:
        detail = detail[:EXCERPT] + "…"
    return title, run, detail


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack_payload(body: str) -> dict[str, Any]:
    """An incoming-webhook message: `text` always (notifications and screen readers use it), `blocks` for
    the status, the agent, an excerpt and a link."""
    title, run, detail = _summary(body)
    agent = run.get("agent", "?")
    url = run.get("url", "")
    return {
        "text": f"{title}: {agent} — {_slack_escape(detail[:200])}",  # mrkdwn too: no mention, no link
        "blocks": [
            {"type": "header", "text": {"type": "plain_text", "text": f"{title}: {agent}"[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": _slack_escape(detail)[:SLACK_SECTION_LIMIT]}},
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": f"status *{run.get('status')}* · <{url}|run {run.get('id')}>"}],
            },
        ],
    }


def email_message(body: str, *, sender: str, to: list[str]) -> EmailMessage:
    """A plain-text email with an HTML alternative."""
    title, run, detail = _summary(body)
    agent = run.get("agent", "?")
    url = run.get("url", "")
    message = EmailMessage()
    message["Subject"] = f"[Switchboard] {title}: {agent}"
    message["From"] = sender
    message["To"] = ", ".join(to)
    message.set_content(
        f"{title}: agent {agent}, run {run.get('id')}, status {run.get('status')}.\n\n{detail}\n\n{url}\n"
    )
    message.add_alternative(
        f"<p><strong>{html.escape(title)}</strong>: agent <code>{html.escape(agent)}</code>, status "
        f"<code>{html.escape(str(run.get('status')))}</code></p>"
        f"<pre style='white-space:pre-wrap'>{html.escape(detail)}</pre>"
        f"<p><a href='{html.escape(url)}'>Run {html.escape(str(run.get('id')))}</a></p>",
        subtype="html",
    )
    return message
