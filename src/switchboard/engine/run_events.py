"""What a run's model and tools produce, as the run's events: text as `text_delta` (and into the run's partial
text, kept if it is cancelled), tool calls and their results as `tool_call` and `tool_result`."""

from __future__ import annotations

from pydantic_ai.messages import (
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    ModelResponse,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)

from switchboard.engine.event_buffer import EventBuffer
from switchboard.engine.progress import Progress


def on_model_event(event: object, progress: Progress, buffer: EventBuffer) -> None:
    """An event of a streamed model response: its text, as it arrives."""
    if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart) and event.part.content:
        progress.partial_text += event.part.content
        buffer.add("text_delta", {"index": event.index, "delta": event.part.content})
    elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
        progress.partial_text += event.delta.content_delta
        buffer.add("text_delta", {"index": event.index, "delta": event.delta.content_delta})


def on_whole_response(response: ModelResponse, progress: Progress, buffer: EventBuffer) -> None:
    """A response asked for whole: its text as one `text_delta` per part, as a stream would have ended."""
    for index, part in enumerate(response.parts):
        if isinstance(part, TextPart) and part.content:
            progress.partial_text += part.content
            buffer.add("text_delta", {"index": index, "delta": part.content})


def on_tool_event(event: object, buffer: EventBuffer) -> None:
    """A tool call about to run, or its result (or the model's retry prompt, `kind`)."""
    if isinstance(event, FunctionToolCallEvent):
        part = event.part
        buffer.add(
            "tool_call",
            {"tool_call_id": part.tool_call_id, "tool_name": part.tool_name, "args": part.args_as_dict()},
        )
    elif isinstance(event, FunctionToolResultEvent):
        result = event.part
        buffer.add(
            "tool_result",
            {
                "tool_call_id": result.tool_call_id,
                "tool_name": result.tool_name,
                "result": getattr(result, "content", None),
                "kind": result.part_kind,
            },
        )
