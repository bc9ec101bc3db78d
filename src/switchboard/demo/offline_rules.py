"""The support agent's offline behaviour: keyword rules, not intelligence.

They find the intent (list, look up, cancel) and the order number in the latest message, fall back on the
thread's earlier turns for references ("it", "that one") and for an order number given in reply to our own
question, call the real tools, and word the answer from the tool results. A trigger's event (fenced data after
the owner's instructions) is never obeyed: what to do comes from the instructions; the event may only supply the
order number they leave out ("An order was shipped: look it up" with `{"order_id": 2}`)."""

from __future__ import annotations

import re
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo

from switchboard.agents.offline import latest_user_prompt
from switchboard.demo.schemas import CancelOutcome, RefundOutcome
from switchboard.triggers.message import split_event

ASK_CANCEL = (
    "I'd be happy to help you cancel an order! Could you please provide me with the order number you'd like to cancel?"
)
ASK_REFUND = "I can request a refund for you. Which order number should be refunded?"
ASK_LOOKUP = "Sure, I can look that up. Could you please tell me the order number you'd like me to check?"
HELP = (
    "I can list your orders, look up an order's status, cancel an order, or request a refund. "
    'Try "Show me all my orders" or "What is the status of order 1?" '
    "(I am the offline model: keyword rules, not an LLM.)"
)

_CANCEL = re.compile(r"\bcancel", re.IGNORECASE)
_REFUND = re.compile(r"\brefund", re.IGNORECASE)
_LIST = re.compile(r"\b(list|show|see|all|summari[sz]e)\b.*\borders\b|\bmy orders\b|\borders\?", re.IGNORECASE)
_LOOKUP = re.compile(r"\b(status|where|track|details?|look\s*up|check|what about|how is)\b", re.IGNORECASE)
_ORDER_NUMBER = re.compile(r"(?:\border\b\s*(?:number\s*|no\.?\s*)?#?\s*|#\s*)(\d+)", re.IGNORECASE)
_BARE_NUMBER = re.compile(r"\b(\d+)\b")
_REFERENCE = re.compile(r"\b(it|that one|that order|this one|this order|the order|same order)\b", re.IGNORECASE)
_ORDER_IN_DATA = re.compile(r"\border(?:_?id|_number)?\"?\s*[:=]\s*\"?#?(\d+)", re.IGNORECASE)
_YES = re.compile(r"^\s*(yes|yeah|yep|sure|ok(ay)?|please do|do it|go ahead)\b", re.IGNORECASE)


def support_rules(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    last = messages[-1]
    if isinstance(last, ModelRequest):
        results = [part for part in last.parts if isinstance(part, ToolReturnPart)]
        if results:
            return ModelResponse(parts=[TextPart(word_result(results[-1].tool_name, results[-1].content))])
    prompt, event = split_event(latest_user_prompt(messages) or "")
    earlier = messages[:-1]
    if _REFUND.search(prompt):
        match = _ORDER_NUMBER.search(prompt) or _ORDER_IN_DATA.search(event or "")
        refund_id = int(match.group(1)) if match else None
        if refund_id is None and _REFERENCE.search(prompt):
            refund_id = _last_order_mentioned(earlier)
        return _call("refund_order", {"order_id": refund_id}) if refund_id is not None else _say(ASK_REFUND)
    intent, order_id = _understand(prompt, earlier)
    if event is not None and not _ORDER_NUMBER.search(prompt):  # the event's order, before an earlier turn's
        in_data = _ORDER_IN_DATA.search(event) or _ORDER_NUMBER.search(event)
        order_id = int(in_data.group(1)) if in_data else order_id
    if intent == "list":
        return _call("list_orders", {})
    if intent in {"lookup", "cancel"}:
        if order_id is None:
            return _say(ASK_CANCEL if intent == "cancel" else ASK_LOOKUP)
        return _call("cancel_order" if intent == "cancel" else "get_order", {"order_id": order_id})
    return _say(HELP)


def _understand(prompt: str, earlier: list[ModelMessage]) -> tuple[str | None, int | None]:
    match = _ORDER_NUMBER.search(prompt)
    order_id = int(match.group(1)) if match else None
    if _CANCEL.search(prompt):
        said: str | None = "cancel"
    elif _LIST.search(prompt) and order_id is None:
        said = "list"
    elif _LOOKUP.search(prompt):
        said = "lookup"
    else:
        said = None

    last_reply = _latest_reply(earlier)
    # An order number given in answer to our own question: "2", "It's order 2".
    asked = "cancel" if last_reply == ASK_CANCEL else "lookup" if last_reply == ASK_LOOKUP else None
    number = match or _BARE_NUMBER.search(prompt)
    if asked is not None and said in {None, asked} and number is not None:
        return asked, int(number.group(1))
    # "Yes" to our offer to cancel the order we just talked about.
    if said is None and _YES.search(prompt) and "Would you like to cancel it" in (last_reply or ""):
        return "cancel", _last_order_mentioned(earlier)
    intent = said or ("lookup" if order_id is not None else None)
    if intent in {"cancel", "lookup"} and order_id is None and _REFERENCE.search(prompt):
        order_id = _last_order_mentioned(earlier)
    return intent, order_id


def _latest_reply(messages: list[ModelMessage]) -> str | None:
    for message in reversed(messages):
        if isinstance(message, ModelResponse):
            texts = [part.content for part in message.parts if isinstance(part, TextPart)]
            if texts:
                return "".join(texts)
    return None


def _last_order_mentioned(messages: list[ModelMessage]) -> int | None:
    """The most recent single order the conversation was about, from tool calls, results or the user."""
    for message in reversed(messages):
        for part in reversed(message.parts):
            if isinstance(part, ToolCallPart):
                order_id = part.args_as_dict().get("order_id")
                if isinstance(order_id, int):
                    return order_id
            elif isinstance(part, ToolReturnPart) and isinstance(part.content, dict):
                orders = part.content.get("orders")
                if isinstance(orders, list) and len(orders) == 1 and isinstance(orders[0], dict):
                    return int(orders[0]["id"])
            elif isinstance(part, UserPromptPart) and isinstance(part.content, str):
                match = _ORDER_NUMBER.search(part.content)
                if match:
                    return int(match.group(1))
    return None


def _call(tool: str, args: dict[str, Any]) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(tool, args)])


def _say(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(text)])


def word_result(tool: str, content: Any) -> str:
    """Turn a tool's result into the reply the customer reads."""
    if tool == "refund_order" and isinstance(content, str):  # the refund was denied: the reason is the content
        return f"The refund was not made. {content}"
    if not isinstance(content, dict):
        return f"Something went wrong while using {tool}: {content}"
    if tool == "list_orders":
        return _word_list(content.get("orders", []))
    if tool == "get_order":
        if not content.get("found"):
            return _not_found(content.get("order_id"))
        order = content["order"]
        placed = str(order["placed_at"])[:10]
        follow_up = (
            "Would you like to cancel it or do anything else?"
            if order["status"] in {"pending", "processing"}
            else "Is there anything else I can help you with?"
        )
        product = f" ({order['product']})" if order.get("product") else ""
        return (
            f"Order #{order['id']}{product} is currently **{order['status']}**. It was placed on {placed}. {follow_up}"
        )
    if tool == "cancel_order":
        return _word_cancel(content)
    if tool == "refund_order":
        done = content.get("outcome") == RefundOutcome.REFUNDED
        return f"{'Done! ' if done else ''}{content.get('message')} Is there anything else I can help you with?"
    return f"{tool} returned: {content}"


def _word_list(orders: list[dict[str, Any]]) -> str:
    if not orders:
        return "You don't have any orders on file. Is there anything else I can help you with?"
    lines = [
        f"- **Order #{o['id']}** | Status: {o['status']} | Product: {o.get('product') or 'n/a'} "
        f"| Date: {o['placed_at']}"
        for o in orders
    ]
    count = f"{len(orders)} order" + ("" if len(orders) == 1 else "s")
    follow_up = (
        "Would you like to do anything with it?"
        if len(orders) == 1
        else "Would you like to do anything with one of them?"
    )
    return "Here are your orders:\n\n" + "\n".join(lines) + f"\n\nYou currently have {count} on file. {follow_up}"


def _not_found(order_id: Any) -> str:
    return (
        f"I wasn't able to find Order #{order_id} in your account. Please double-check the order number and try again."
    )


def _word_cancel(content: dict[str, Any]) -> str:
    order_id = content.get("order_id")
    outcome = content.get("outcome")
    if outcome == CancelOutcome.CANCELLED:
        return (
            f"Done! Order #{order_id} has been successfully cancelled. The status is now 'cancelled'. "
            "Is there anything else I can help you with?"
        )
    if outcome == CancelOutcome.ALREADY_CANCELLED:
        return (
            f"I wasn't able to cancel Order #{order_id} because it's already been cancelled. "
            "No further action is needed. Is there anything else I can help with?"
        )
    if outcome == CancelOutcome.NOT_CANCELLABLE:
        status = content.get("status")
        return (
            f"I'm sorry, but I can't cancel Order #{order_id} because it has already been {status}. "
            f"For {status} orders, please contact our support team to arrange a return."
        )
    return _not_found(order_id)
