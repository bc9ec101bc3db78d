"""The shop sidekick's offline behaviour: keyword rules, not intelligence.

The sidekick lives beside the shop's pages, so "cancel this one" means the order on the customer's screen. The
rules read the application context the way a model would: from the fenced, labelled block of the latest user
prompt (its JSON parsed as data). From it they take one thing only, the number of the order on screen; what to
do comes from the customer's own words. Then they call the same tools as the support agent, which act only within
the signed-in customer's account: a context naming someone else's order gets "not found", like any other number.
An order number the customer says outright wins over the one on screen.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo

from switchboard.agents.offline import latest_user_prompt
from switchboard.demo.offline_rules import word_result
from switchboard.threads.context import latest_context

HELP = (
    'I\'m the shop\'s sidekick: on an order\'s page, ask me "when did I order this?", "what is its status?" or '
    '"cancel this one"; anywhere, "show my orders". (I am the offline model: keyword rules, not an LLM.)'
)
NO_ORDER_ON_SCREEN = (
    "I can't see an order on your screen. Open the order's page, or tell me its number (e.g. \"cancel order 1\")."
)

_CANCEL = re.compile(r"\bcancel", re.IGNORECASE)
_REFUND = re.compile(r"\brefund", re.IGNORECASE)
_LIST = re.compile(r"\b(list|show|see|all)\b.*\borders\b|\bmy orders\b", re.IGNORECASE)
_WHEN = re.compile(r"\bwhen\b", re.IGNORECASE)
_LOOKUP = re.compile(
    r"\b(status|where|track|details?|look\s*up|check|what is (this|it)|tell me about|arrive|ship)", re.IGNORECASE
)
_ORDER_NUMBER = re.compile(r"(?:\border\b\s*(?:number\s*|no\.?\s*)?#?\s*|#\s*)(\d+)", re.IGNORECASE)
_ORDER_ID = re.compile(r"#?\s*(\d{1,15})")


def sidekick_rules(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    prompt = latest_user_prompt(messages) or ""
    last = messages[-1]
    if isinstance(last, ModelRequest):
        results = [part for part in last.parts if isinstance(part, ToolReturnPart)]
        if results:
            return _say(word(results[-1].tool_name, results[-1].content, asked_when=bool(_WHEN.search(prompt))))
    said = _ORDER_NUMBER.search(prompt)
    order_id = int(said.group(1)) if said else order_on_screen(latest_context(messages))
    if _REFUND.search(prompt):
        intent = "refund_order"
    elif _CANCEL.search(prompt):
        intent = "cancel_order"
    elif _LIST.search(prompt) and said is None:
        return _call("list_orders", {})
    elif _WHEN.search(prompt) or _LOOKUP.search(prompt) or said is not None:
        intent = "get_order"
    else:
        return _say(HELP)
    if order_id is None:
        return _say(NO_ORDER_ON_SCREEN)
    return _call(intent, {"order_id": order_id})


def order_on_screen(context: dict[str, Any] | None) -> int | None:
    """The order number the application context names (`order_id`: a number, or text such as "#12"), if any."""
    if context is None:
        return None
    value = context.get("order_id")
    if isinstance(value, int) and not isinstance(value, bool):
        return value if value > 0 else None
    if isinstance(value, str) and (match := _ORDER_ID.fullmatch(value.strip())):
        return int(match.group(1))
    return None


def word(tool: str, content: Any, *, asked_when: bool) -> str:
    """The reply from a tool's result; "when did I order this?" is answered with the date first."""
    if asked_when and tool == "get_order" and isinstance(content, dict) and content.get("found"):
        order = content["order"]
        product = f" ({order['product']})" if order.get("product") else ""
        placed = str(order["placed_at"])[:10]
        return f"You placed order #{order['id']}{product} on {placed}. It is currently **{order['status']}**."
    return word_result(tool, content)


def _call(tool: str, args: dict[str, Any]) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(tool, args)])


def _say(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(text)])
