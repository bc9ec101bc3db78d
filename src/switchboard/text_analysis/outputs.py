"""The three agents' structured outputs, and the label the offline rules put on theirs.

`method` says where an output came from: the offline model's rules set it to `OFFLINE_METHOD`; a real model is
told to leave it out (`"model"`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field
from pydantic_ai.messages import ModelResponse, TextPart, ToolCallPart
from pydantic_ai.models.function import AgentInfo

OFFLINE_METHOD = "offline rules, not an LLM"
METHOD_DOC = f"How this was produced: `{OFFLINE_METHOD}` (the offline model), or `model` (a language model)."
MIN_TEXT_CHARS = 10
MAX_TEXT_CHARS = 10_000

SentimentLabel = Literal["positive", "negative", "neutral", "mixed"]


class Summary(BaseModel):
    """An extractive summary: the text's most representative sentences, in their original order."""

    summary: str = Field(description="The summary: a few of the text's own sentences, or a short abstract.")
    sentence_count: int = Field(ge=0, description="How many sentences the text has.")
    selected: list[int] = Field(
        default_factory=list, description="Which sentences (from 0, in text order) the summary is made of, if any."
    )
    method: str = Field(default="model", description=METHOD_DOC)


class SentimentScores(BaseModel):
    positive: float = Field(ge=0, description="The weight of the positive expressions found.")
    negative: float = Field(ge=0, description="The weight of the negative expressions found.")


class Sentiment(BaseModel):
    """The text's overall sentiment: `mixed` when it is strongly both positive and negative."""

    sentiment: SentimentLabel
    confidence: float = Field(ge=0, le=1, description="How sure, from 0 to 1.")
    scores: SentimentScores | None = Field(default=None, description="What the label was decided from, if known.")
    evidence: list[str] = Field(
        default_factory=list, description="The expressions that weighed most, e.g. 'not good' or 'very happy'."
    )
    method: str = Field(default="model", description=METHOD_DOC)


class Entities(BaseModel):
    """Named entities, each list in order of first appearance, without duplicates, as written in the text."""

    persons: list[str] = Field(default_factory=list, description="People's names, without titles (Mr., Dr.).")
    organizations: list[str] = Field(default_factory=list, description="Companies, institutions, agencies.")
    locations: list[str] = Field(default_factory=list, description="Countries, cities, regions, places.")
    dates: list[str] = Field(default_factory=list, description="Dates and days as written (2025-03-03, Monday…).")
    method: str = Field(default="model", description=METHOD_DOC)


def output_response(info: AgentInfo, output: BaseModel) -> ModelResponse:
    """Offline rules answer by calling the agent's output tool with `output` as JSON arguments, as an LLM would,
    so the output goes through Pydantic AI's own validation; without an output tool (a text output mode), as
    JSON text."""
    if not info.output_tools:
        return ModelResponse(parts=[TextPart(output.model_dump_json())])
    return ModelResponse(parts=[ToolCallPart(info.output_tools[0].name, output.model_dump(mode="json"))])
