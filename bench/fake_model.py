"""A zero-delay, OpenAI-compatible model for the chat bench: `python -m bench.fake_model --port N`.

It speaks the real protocol (`POST /v1/chat/completions`, streamed as server-sent events when `stream` is true,
`data: [DONE]` at the end, usage when `stream_options.include_usage` asks for it), so the OpenAI SDK, through
Pydantic AI or directly, talks to it as it would to a provider. It is stateless, so any number of clients and
conversations can share it: a request whose last message is a tool result gets the final text answer; any other
request gets a call of `list_orders`. A support-agent turn is thus exactly two model calls, whatever the thread's
history. (The tests' scripted fake, tests/fakes/openai_server.py, plays a script instead: one test at a time.)

The chunks are rendered once at import; a request only fills in its ids, so the fake's own CPU stays small.
"""

from __future__ import annotations

import argparse
import itertools
import json
import re
from collections.abc import AsyncIterator, Sequence
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

MODEL = "fake-model"
TOOL_NAME = "list_orders"
ANSWER = "You have no orders in your account yet. Is there anything else I can help you with?"
_ID = "@ID@"  # filled with a fresh id per response


def _chunk(delta: dict[str, Any], finish_reason: str | None = None) -> dict[str, Any]:
    return {
        "id": f"chatcmpl-{_ID}",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason, "logprobs": None}],
    }


def _usage_chunk() -> dict[str, Any]:
    usage = {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    chunk = _chunk({})
    chunk["choices"] = []
    chunk["usage"] = usage
    return chunk


def _render(chunks: Sequence[dict[str, Any]]) -> list[str]:
    return [f"data: {json.dumps(chunk)}\n\n" for chunk in chunks]


# A tool call streamed as models stream it: the call's opening (id, name), then its arguments.
_TOOL_CALL = _render(
    [
        _chunk({"role": "assistant", "content": None}),
        _chunk(
            {
                "tool_calls": [
                    {
                        "index": 0,
                        "id": f"call_{_ID}",
                        "type": "function",
                        "function": {"name": TOOL_NAME, "arguments": ""},
                    }
                ]
            }
        ),
        _chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
        _chunk({}, "tool_calls"),
    ]
)
# The answer, word by word.
_ANSWER = _render(
    [
        _chunk({"role": "assistant", "content": ""}),
        *(_chunk({"content": word}) for word in re.findall(r"\S+\s*", ANSWER)),
        _chunk({}, "stop"),
    ]
)
_USAGE = _render([_usage_chunk()])
_DONE = "data: [DONE]\n\n"

_ids = itertools.count(1)


async def _stream(chunks: list[str]) -> AsyncIterator[bytes]:
    response_id = str(next(_ids))
    for chunk in chunks:
        yield chunk.replace(_ID, response_id).encode()


def _completion(answering: bool) -> dict[str, Any]:
    """The same reply, not streamed."""
    response_id = str(next(_ids))
    message: dict[str, Any] = {"role": "assistant", "content": ANSWER if answering else None}
    if not answering:
        function = {"name": TOOL_NAME, "arguments": "{}"}
        message["tool_calls"] = [{"id": f"call_{response_id}", "type": "function", "function": function}]
    return {
        "id": f"chatcmpl-{response_id}",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": MODEL,
        "choices": [
            {"index": 0, "message": message, "finish_reason": "stop" if answering else "tool_calls", "logprobs": None}
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15},
    }


async def completions(request: Request) -> Response:
    body = json.loads(await request.body())
    messages = body.get("messages") or [{}]
    answering = messages[-1].get("role") == "tool"
    if not body.get("stream"):
        return JSONResponse(_completion(answering))
    chunks = list(_ANSWER if answering else _TOOL_CALL)
    if (body.get("stream_options") or {}).get("include_usage"):
        chunks += _USAGE
    return StreamingResponse(_stream([*chunks, _DONE]), media_type="text/event-stream")


app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.fake_model", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
