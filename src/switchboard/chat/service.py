"""A chat turn: load the thread's history, run the agent with the caller's identity in its deps, record the
turn. Everything happens in the caller's unit of work, so a failed turn changes nothing."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import structlog
from pydantic_ai import Agent
from pydantic_ai.exceptions import AgentRunError, UserError
from pydantic_ai.messages import (
    FunctionToolCallEvent,
    FunctionToolResultEvent,
    ModelMessage,
    PartDeltaEvent,
    PartStartEvent,
    TextPart,
    TextPartDelta,
)
from pydantic_ai.run import AgentRunResult, AgentRunResultEvent
from pydantic_ai.usage import RunUsage
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.agents.registry import AgentRegistry, RegisteredAgent
from switchboard.agents.spec import AgentDeps
from switchboard.auth.principal import Principal
from switchboard.chat.schemas import ChatResponse, Usage
from switchboard.kit.errors import ModelFailed, PayloadTooLarge, ValidationFailed
from switchboard.models import Thread
from switchboard.settings import Settings
from switchboard.threads.service import ThreadService

log = structlog.get_logger(__name__)


@dataclass
class PreparedTurn:
    agent: RegisteredAgent
    thread: Thread
    history: list[ModelMessage]
    deps: AgentDeps
    message: str


@dataclass(frozen=True)
class ChatEvent:
    """One server-sent event of a streamed turn."""

    event: str  # thread | text_delta | tool_call | tool_result | done | error
    data: dict[str, Any]


def usage_of(usage: RunUsage) -> Usage:
    return Usage(
        requests=usage.requests,
        tool_calls=usage.tool_calls,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
    )


def reply_text(output: object) -> str:
    if isinstance(output, str):
        return output
    if hasattr(output, "model_dump_json"):
        return str(output.model_dump_json())
    return json.dumps(output, default=str)


def redact(text: str, secret: str | None) -> str:
    return text.replace(secret, "***") if secret else text


class ChatService:
    def __init__(self, session: AsyncSession, agents: AgentRegistry, settings: Settings) -> None:
        self.session = session
        self.agents = agents
        self.settings = settings
        self.threads = ThreadService(session)

    def _model_failed(self, turn: PreparedTurn, exc: Exception) -> ModelFailed:
        """The client's error for a failed model call. The library's message names the status and provider and
        quotes the provider's error body, which some OpenAI-compatible servers fill with the API key they were
        sent: the configured key is masked here, in the log line and in the response alike."""
        secret = self.settings.llm_api_key.get_secret_value() if self.settings.llm_api_key else None
        model = turn.agent.model.name
        reason = redact(str(exc), secret)
        log.warning("chat.model_failed", agent=turn.agent.spec.name, model=model, error=reason)
        return ModelFailed(f"The model {model!r} failed: {reason}. Nothing was changed; try again.")

    async def prepare(
        self,
        user: Principal,
        agent_name: str,
        message: str,
        *,
        thread_id: uuid.UUID | None = None,
        thread_key: str | None = None,
        request_id: str | None = None,
    ) -> PreparedTurn:
        """Validate everything before any model call or write: size, agent, thread ownership."""
        if len(message) > self.settings.max_prompt_chars:
            raise PayloadTooLarge(
                f"message is {len(message)} characters; the limit is {self.settings.max_prompt_chars} "
                "(SWITCHBOARD_MAX_PROMPT_CHARS)."
            )
        agent = self.agents.require(agent_name)
        if thread_id is not None:
            # The row lock serialises turns on one thread until this unit of work commits.
            thread = await self.threads.get(user, thread_id, for_update=True)
            if thread.agent != agent_name:
                raise ValidationFailed(
                    f"thread_id: thread {thread_id} belongs to agent {thread.agent!r}, not {agent_name!r}",
                    details=[{"field": "thread_id", "message": "belongs to another agent"}],
                )
        elif thread_key is not None:
            thread = await self.threads.keyed_for_update(user, agent_name, thread_key)
        else:
            thread = await self.threads.create(user, agent_name)
        history = await self.threads.history(thread)
        deps = AgentDeps(session=self.session, user=user, request_id=request_id)
        return PreparedTurn(agent=agent, thread=thread, history=history, deps=deps, message=message)

    def _run_kwargs(self, turn: PreparedTurn) -> dict[str, Any]:
        return {
            "message_history": turn.history,
            "deps": turn.deps,
            "model": turn.agent.model.model,
            "model_settings": turn.agent.model.settings,
        }

    async def run(self, turn: PreparedTurn) -> ChatResponse:
        agent: Agent[AgentDeps, Any] = turn.agent.spec.agent
        try:
            result = await agent.run(turn.message, **self._run_kwargs(turn))
        except (AgentRunError, UserError) as exc:
            raise self._model_failed(turn, exc) from exc
        return await self._finish(turn, result)

    async def _finish(self, turn: PreparedTurn, result: AgentRunResult[Any]) -> ChatResponse:
        model_name = turn.agent.model.name
        await self.threads.record_turn(
            turn.thread,
            result.new_messages(),
            model_name=model_name,
            request_id=turn.deps.request_id,
            acting_user_id=turn.deps.user.acted_by_user_id,
        )
        usage = usage_of(result.usage)
        log.info(
            "chat.turn_completed",
            agent=turn.agent.spec.name,
            thread_id=str(turn.thread.id),
            model=model_name,
            requests=usage.requests,
            tool_calls=usage.tool_calls,
        )
        return ChatResponse(
            thread_id=turn.thread.id,
            reply=reply_text(result.output),
            model=model_name,
            usage=usage,
            request_id=turn.deps.request_id,
        )

    async def stream(self, turn: PreparedTurn) -> AsyncIterator[ChatEvent]:
        """The same turn as `run`, as events: text deltas and tool calls as they happen, then `done`."""
        agent: Agent[AgentDeps, Any] = turn.agent.spec.agent
        model_name = turn.agent.model.name
        yield ChatEvent(
            "thread",
            {"thread_id": str(turn.thread.id), "agent": turn.agent.spec.name, "model": model_name},
        )
        result: AgentRunResult[Any] | None = None
        try:
            async with agent.run_stream_events(turn.message, **self._run_kwargs(turn)) as events:
                async for event in events:
                    if isinstance(event, PartStartEvent) and isinstance(event.part, TextPart):
                        if event.part.content:
                            yield ChatEvent("text_delta", {"delta": event.part.content})
                    elif isinstance(event, PartDeltaEvent) and isinstance(event.delta, TextPartDelta):
                        yield ChatEvent("text_delta", {"delta": event.delta.content_delta})
                    elif isinstance(event, FunctionToolCallEvent):
                        yield ChatEvent(
                            "tool_call",
                            {
                                "tool_call_id": event.part.tool_call_id,
                                "tool_name": event.part.tool_name,
                                "args": event.part.args_as_dict(),
                            },
                        )
                    elif isinstance(event, FunctionToolResultEvent):
                        yield ChatEvent(
                            "tool_result",
                            {
                                "tool_call_id": event.part.tool_call_id,
                                "tool_name": event.part.tool_name,
                                "result": getattr(event.part, "content", None),
                            },
                        )
                    elif isinstance(event, AgentRunResultEvent):
                        result = event.result
        except (AgentRunError, UserError) as exc:
            raise self._model_failed(turn, exc) from exc
        if result is None:
            raise ModelFailed(f"The model {model_name!r} ended the stream without a result. Nothing was changed.")
        response = await self._finish(turn, result)
        yield ChatEvent("done", response.model_dump(mode="json"))
