"""The OpenAI client Switchboard gives Pydantic AI for OpenAI-compatible servers: the SDK's own, but for one cost.

Before sending, the SDK walks the whole request body against its parameter types (`_transform`), to rename keys
and format values where a type says so. For chat completions' `messages` and `tools` no type says so: the walk
returns what it was given, but it visits every message against each of the six message types, and so costs
more the longer the history is (on the support demo, ~0.3 ms of CPU per history message per request: 12 ms a
turn at 36 messages, half of the turn). Pydantic AI builds both already in the API's shape, so they are sent as
given, through `extra_body`, which the SDK merges into the body after the walk.
`tests/agents/test_openai_client.py` checks that no type under `messages` or `tools` asks for a transform, so
an SDK release that starts to would fail the tests rather than send something else.
"""

from __future__ import annotations

from functools import cached_property
from typing import Any

from openai import AsyncOpenAI
from openai.resources.chat import AsyncChat
from openai.resources.chat.completions import AsyncCompletions

AS_GIVEN = ("messages", "tools")


class _CompletionsAsGiven(AsyncCompletions):
    # The signature is the SDK's (a set of overloads, with every parameter named): passed through untouched.
    async def create(self, **params: Any) -> Any:
        extra_body = dict(params.pop("extra_body", None) or {})
        for name in AS_GIVEN:
            value = params.get(name)
            if isinstance(value, list):
                extra_body[name] = value
                params[name] = []
        if "tools" in extra_body:
            del params["tools"]
        return await super().create(**params, extra_body=extra_body)


class _ChatAsGiven(AsyncChat):
    @cached_property
    def completions(self) -> AsyncCompletions:
        return _CompletionsAsGiven(self._client)


class OpenAIClient(AsyncOpenAI):
    """`AsyncOpenAI`, sending chat completions' messages and tools as given (see the module's docstring)."""

    @cached_property
    def chat(self) -> AsyncChat:
        return _ChatAsGiven(self)
