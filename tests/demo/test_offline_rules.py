"""The support agent's offline rules as pure functions over Pydantic AI message lists: no database, no agent
run. A conversation is built the way a thread's history looks, and the rules' next response is checked."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    TextPart,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models import ModelRequestParameters
from pydantic_ai.models.function import AgentInfo

from switchboard.demo.offline_rules import ASK_CANCEL, ASK_LOOKUP, HELP, support_rules, word_result

INFO = AgentInfo(
    function_tools=[],
    allow_text_output=True,
    output_tools=[],
    model_settings=None,
    model_request_parameters=ModelRequestParameters(),
    instructions=None,
)

KEYBOARD = {
    "id": 1,
    "status": "pending",
    "product": "Mechanical Keyboard",
    "items": [],
    "total_cents": 12999,
    "placed_at": "2026-03-01T04:02:00Z",
}
WIDGET = {
    "id": 2,
    "status": "processing",
    "product": "Widget A",
    "items": [],
    "total_cents": 1999,
    "placed_at": "2026-03-02T09:30:00Z",
}


# --- building conversations ----------------------------------------------------------------------------


def user(text: str) -> ModelRequest:
    return ModelRequest(parts=[UserPromptPart(text)])


def said(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(text)])


def called(tool: str, args: dict[str, Any], call_id: str) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(tool, args, tool_call_id=call_id)])


def returned(tool: str, content: Any, call_id: str) -> ModelRequest:
    return ModelRequest(parts=[ToolReturnPart(tool, content, tool_call_id=call_id)])


def turn_with_tool(prompt: str, tool: str, args: dict[str, Any], content: Any, call_id: str) -> list[ModelMessage]:
    """A whole earlier turn as a thread stores it: prompt, tool call, tool result, and the rules' reply."""
    return [
        user(prompt),
        called(tool, args, call_id),
        returned(tool, content, call_id),
        said(word_result(tool, content)),
    ]


def respond(*messages: ModelMessage) -> ModelResponse:
    return support_rules(list(messages), INFO)


def tool_call(response: ModelResponse) -> tuple[str, dict[str, Any]]:
    """The response's only part, which must be a tool call: (tool name, arguments)."""
    assert len(response.parts) == 1, response
    part = response.parts[0]
    assert isinstance(part, ToolCallPart), response
    return part.tool_name, part.args_as_dict()


def text(response: ModelResponse) -> str:
    assert len(response.parts) == 1, response
    part = response.parts[0]
    assert isinstance(part, TextPart), response
    return part.content


STATUS_OF_ORDER_1 = turn_with_tool(
    "What is the status of order 1?", "get_order", {"order_id": 1}, {"found": True, "order": KEYBOARD}, "c1"
)


# --- intent and order number -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt",
    ["Show me all my orders", "List my orders", "Can I see all my orders?", "What are my orders?", "show orders"],
)
def test_listing(prompt: str) -> None:
    assert tool_call(respond(user(prompt))) == ("list_orders", {})


@pytest.mark.parametrize(
    ("prompt", "order_id"),
    [
        ("What is the status of order 1?", 1),
        ("What's the status of order 2?", 2),
        ("Where is order #12?", 12),
        ("Can you track order number 7", 7),
        ("Details for order no. 5 please", 5),
        ("What about #4?", 4),
        ("Order 3", 3),  # a bare order reference is a look-up
        ("Show me order 9", 9),  # "show" with a number is one order, not the list
    ],
)
def test_looking_up(prompt: str, order_id: int) -> None:
    assert tool_call(respond(user(prompt))) == ("get_order", {"order_id": order_id})


@pytest.mark.parametrize(
    ("prompt", "order_id"),
    [
        ("Cancel order 3", 3),
        ("Yes, please cancel order 1", 1),
        ("Cancel my order #12345", 12345),
        ("I want to cancel order number 2", 2),
        ("CANCEL ORDER 8!", 8),
        ("Please cancel #6", 6),
    ],
)
def test_cancelling(prompt: str, order_id: int) -> None:
    assert tool_call(respond(user(prompt))) == ("cancel_order", {"order_id": order_id})


@pytest.mark.parametrize(
    ("prompt", "question"),
    [
        ("I want to cancel my order", ASK_CANCEL),
        ("Please cancel", ASK_CANCEL),
        ("Where is my order?", ASK_LOOKUP),
        ("Can you check the status?", ASK_LOOKUP),
    ],
)
def test_without_an_order_number_it_asks_instead_of_guessing(prompt: str, question: str) -> None:
    assert text(respond(user(prompt))) == question


@pytest.mark.parametrize("prompt", ["Hello", "2", "yes", "What can you do?", "I have 3 cats"])
def test_anything_else_gets_help_and_no_tool_call(prompt: str) -> None:
    reply = text(respond(user(prompt)))
    assert reply == HELP
    assert "offline model" in reply


def test_an_order_number_without_a_cancel_word_does_not_cancel() -> None:
    assert tool_call(respond(*STATUS_OF_ORDER_1, user("And order 2?")))[0] == "get_order"


# --- references to earlier turns -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "prompt", ["Please cancel it", "Yes, please cancel it", "Cancel that one", "cancel that order", "Cancel this one"]
)
def test_it_refers_to_the_order_just_looked_up(prompt: str) -> None:
    assert tool_call(respond(*STATUS_OF_ORDER_1, user(prompt))) == ("cancel_order", {"order_id": 1})


def test_it_refers_to_the_most_recent_order() -> None:
    second = turn_with_tool(
        "What is the status of order 2?", "get_order", {"order_id": 2}, {"found": True, "order": WIDGET}, "c2"
    )
    assert tool_call(respond(*STATUS_OF_ORDER_1, *second, user("Cancel it"))) == ("cancel_order", {"order_id": 2})


def test_a_look_up_can_refer_back_too() -> None:
    history: list[ModelMessage] = [
        user("Cancel order 1"),
        said(ASK_LOOKUP),
    ]  # any earlier mention of an order number counts
    assert tool_call(respond(*history, user("What is the status of it now?"))) == ("get_order", {"order_id": 1})


def test_it_refers_to_the_only_order_in_a_listing() -> None:
    history = turn_with_tool("Show me all my orders", "list_orders", {}, {"orders": [KEYBOARD]}, "c1")
    assert tool_call(respond(*history, user("Cancel it"))) == ("cancel_order", {"order_id": 1})


def test_it_is_ambiguous_after_a_listing_of_several_orders() -> None:
    history = turn_with_tool("Show me all my orders", "list_orders", {}, {"orders": [KEYBOARD, WIDGET]}, "c1")
    assert text(respond(*history, user("Cancel it"))) == ASK_CANCEL


def test_it_with_nothing_said_before_asks() -> None:
    assert text(respond(user("Cancel it"))) == ASK_CANCEL


def test_cancel_without_a_reference_word_does_not_reuse_the_earlier_order() -> None:
    assert text(respond(*STATUS_OF_ORDER_1, user("I want to cancel my order"))) == ASK_CANCEL


# --- an order number given in answer to the question ------------------------------------------------------


@pytest.mark.parametrize("answer", ["2", "It's order 2", "#2", "order number 2", "2 please"])
def test_number_after_the_cancel_question_cancels(answer: str) -> None:
    history: list[ModelMessage] = [user("I want to cancel my order"), said(ASK_CANCEL)]
    assert tool_call(respond(*history, user(answer))) == ("cancel_order", {"order_id": 2})


def test_number_after_the_lookup_question_looks_up() -> None:
    history: list[ModelMessage] = [user("Where is my order?"), said(ASK_LOOKUP)]
    assert tool_call(respond(*history, user("3"))) == ("get_order", {"order_id": 3})


def test_a_change_of_mind_after_the_question_is_respected() -> None:
    history: list[ModelMessage] = [user("I want to cancel my order"), said(ASK_CANCEL)]
    assert tool_call(respond(*history, user("Actually, what is the status of order 3?"))) == (
        "get_order",
        {"order_id": 3},
    )


def test_no_number_in_the_answer_calls_no_tool() -> None:
    history: list[ModelMessage] = [user("I want to cancel my order"), said(ASK_CANCEL)]
    assert text(respond(*history, user("I don't know"))) == HELP


def test_a_bare_number_only_counts_as_an_answer_right_after_the_question() -> None:
    history: list[ModelMessage] = [user("I want to cancel my order"), said(ASK_CANCEL), user("Hello"), said(HELP)]
    assert text(respond(*history, user("2"))) == HELP


# --- "yes" to the offer to cancel ------------------------------------------------------------------------


@pytest.mark.parametrize("answer", ["yes", "Yes please", "Sure", "ok", "Go ahead", "yep, do it"])
def test_yes_to_would_you_like_to_cancel_it(answer: str) -> None:
    offer = STATUS_OF_ORDER_1[-1]
    assert isinstance(offer, ModelResponse)
    assert "Would you like to cancel it" in text(offer)
    assert tool_call(respond(*STATUS_OF_ORDER_1, user(answer))) == ("cancel_order", {"order_id": 1})


def test_yes_without_an_offer_to_cancel_does_nothing() -> None:
    shipped = {**KEYBOARD, "status": "shipped"}
    history = turn_with_tool(
        "What is the status of order 1?", "get_order", {"order_id": 1}, {"found": True, "order": shipped}, "c1"
    )
    assert "Would you like to cancel it" not in word_result("get_order", {"found": True, "order": shipped})
    assert text(respond(*history, user("yes"))) == HELP


@pytest.mark.parametrize("answer", ["no", "No thanks", "nope"])
def test_no_to_the_offer_does_not_cancel(answer: str) -> None:
    assert text(respond(*STATUS_OF_ORDER_1, user(answer))) == HELP


# --- wording of the tool outcomes ------------------------------------------------------------------------


def worded(tool: str, content: Any) -> str:
    """The reply the rules give once the tool's result comes back."""
    return text(respond(user("(the prompt)"), called(tool, {}, "c9"), returned(tool, content, "c9")))


def test_wording_of_a_listing_with_one_order() -> None:
    assert worded("list_orders", {"orders": [KEYBOARD]}) == (
        "Here are your orders:\n\n"
        "- **Order #1** | Status: pending | Product: Mechanical Keyboard | Date: 2026-03-01T04:02:00Z\n\n"
        "You currently have 1 order on file. Would you like to do anything with it?"
    )


def test_wording_of_a_listing_with_several_orders() -> None:
    reply = worded("list_orders", {"orders": [KEYBOARD, {**WIDGET, "product": None}]})
    assert "- **Order #1** | Status: pending | Product: Mechanical Keyboard" in reply
    assert "- **Order #2** | Status: processing | Product: n/a" in reply
    assert reply.endswith("You currently have 2 orders on file. Would you like to do anything with one of them?")


def test_wording_of_an_empty_listing() -> None:
    assert worded("list_orders", {"orders": []}).startswith("You don't have any orders on file.")


def test_wording_of_a_cancellable_order() -> None:
    assert worded("get_order", {"found": True, "order": KEYBOARD}) == (
        "Order #1 (Mechanical Keyboard) is currently **pending**. It was placed on 2026-03-01. "
        "Would you like to cancel it or do anything else?"
    )


def test_wording_of_an_order_that_cannot_be_cancelled() -> None:
    reply = worded("get_order", {"found": True, "order": {**KEYBOARD, "id": 3, "status": "delivered", "product": None}})
    assert reply == (
        "Order #3 is currently **delivered**. It was placed on 2026-03-01. Is there anything else I can help you with?"
    )


def test_wording_of_an_order_not_found() -> None:
    reply = worded("get_order", {"found": False, "order_id": 2, "message": "Order #2 was not found in this account."})
    assert reply == (
        "I wasn't able to find Order #2 in your account. Please double-check the order number and try again."
    )


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            {"order_id": 1, "outcome": "cancelled", "status": "cancelled", "message": ""},
            "Done! Order #1 has been successfully cancelled. The status is now 'cancelled'. "
            "Is there anything else I can help you with?",
        ),
        (
            {"order_id": 1, "outcome": "already_cancelled", "status": "cancelled", "message": ""},
            "I wasn't able to cancel Order #1 because it's already been cancelled. "
            "No further action is needed. Is there anything else I can help with?",
        ),
        (
            {"order_id": 3, "outcome": "not_cancellable", "status": "shipped", "message": ""},
            "I'm sorry, but I can't cancel Order #3 because it has already been shipped. "
            "For shipped orders, please contact our support team to arrange a return.",
        ),
        (
            {"order_id": 4, "outcome": "not_cancellable", "status": "delivered", "message": ""},
            "I'm sorry, but I can't cancel Order #4 because it has already been delivered. "
            "For delivered orders, please contact our support team to arrange a return.",
        ),
        (
            {"order_id": 2, "outcome": "not_found", "status": None, "message": ""},
            "I wasn't able to find Order #2 in your account. Please double-check the order number and try again.",
        ),
    ],
)
def test_wording_of_each_cancel_outcome(content: dict[str, Any], expected: str) -> None:
    assert worded("cancel_order", content) == expected


def test_a_tool_failure_is_worded_not_raised() -> None:
    assert worded("cancel_order", "database unavailable") == (
        "Something went wrong while using cancel_order: database unavailable"
    )


def test_an_unknown_tool_result_is_shown_as_is() -> None:
    assert worded("refund", {"ok": True}) == "refund returned: {'ok': True}"


def test_the_latest_tool_result_is_the_one_worded() -> None:
    both = ModelRequest(
        parts=[
            ToolReturnPart("list_orders", {"orders": []}, tool_call_id="a"),
            ToolReturnPart("get_order", {"found": False, "order_id": 7}, tool_call_id="b"),
        ]
    )
    reply = text(respond(user("(the prompt)"), called("list_orders", {}, "a"), both))
    assert reply.startswith("I wasn't able to find Order #7")


def test_after_a_tool_result_it_answers_instead_of_calling_again() -> None:
    # The prompt would call cancel_order again; the rules must word the result and end the turn.
    messages: list[ModelMessage] = [
        user("Cancel order 1"),
        called("cancel_order", {"order_id": 1}, "c1"),
        returned("cancel_order", {"order_id": 1, "outcome": "cancelled", "status": "cancelled"}, "c1"),
    ]
    assert text(respond(*messages)).startswith("Done! Order #1 has been successfully cancelled.")
