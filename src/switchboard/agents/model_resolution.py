"""Turn a model string into a Pydantic AI model, once per agent at start-up, so a bad string fails early."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic_ai.models import Model, infer_model
from pydantic_ai.models.openai import OpenAIChatModel
from pydantic_ai.providers.openai import OpenAIProvider
from pydantic_ai.settings import ModelSettings

from switchboard.agents.offline import OFFLINE_MODEL_NAME, offline_model
from switchboard.agents.openai_client import OpenAIClient
from switchboard.agents.spec import AgentSpec
from switchboard.settings import Settings

OPENAI_CHAT_PREFIX = "openai-chat:"


class ModelConfigurationError(ValueError):
    """A model string that cannot be used; raised at start-up with the agent's name."""


@dataclass(frozen=True)
class ResolvedModel:
    name: str  # what responses report, e.g. "offline" or "openai-chat:gpt-4o-mini"
    model: Model
    settings: ModelSettings
    # OpenAI's chat protocol ends every complete streamed choice with a finish reason: a stream without one was
    # cut short (Pydantic AI would take it as finished).
    requires_finish_reason: bool = False

    @property
    def is_offline(self) -> bool:
        return self.name == OFFLINE_MODEL_NAME


def resolve_model(spec: AgentSpec, settings: Settings) -> ResolvedModel:
    if isinstance(spec.model, Model):  # an agent that brings its own model object uses it as is
        return ResolvedModel(name=spec.model.model_name, model=spec.model, settings=ModelSettings())
    name = spec.model or settings.model
    # The provider SDKs retry 429, 5xx and connection errors with exponential backoff; we set how often
    # and how long one attempt may take.
    model_settings = ModelSettings(timeout=settings.llm_timeout_seconds, max_retries=settings.llm_max_retries)
    if name == OFFLINE_MODEL_NAME:
        return ResolvedModel(name=name, model=offline_model(spec.offline), settings=ModelSettings())
    try:
        if name.startswith(OPENAI_CHAT_PREFIX) and settings.llm_base_url:
            api_key = settings.llm_api_key.get_secret_value() if settings.llm_api_key else "not-needed"
            # Retries are the client's own here: set per request, they made Pydantic AI copy the client each time.
            client = OpenAIClient(base_url=settings.llm_base_url, api_key=api_key, max_retries=settings.llm_max_retries)
            model_settings = ModelSettings(timeout=settings.llm_timeout_seconds)
            provider = OpenAIProvider(openai_client=client)
            model: Model = OpenAIChatModel(name.removeprefix(OPENAI_CHAT_PREFIX), provider=provider)
        else:
            model = infer_model(name)
    except Exception as exc:  # the library raises several types; all mean "this string cannot be used"
        raise ModelConfigurationError(f"agent {spec.name!r}: model {name!r} cannot be used: {exc}") from exc
    requires_finish_reason = isinstance(model, OpenAIChatModel) and settings.llm_require_finish_reason
    return ResolvedModel(name=name, model=model, settings=model_settings, requires_finish_reason=requires_finish_reason)
