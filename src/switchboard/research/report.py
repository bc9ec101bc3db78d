"""The researcher's output: a Markdown report whose claims cite `[document:chunk]`, and its sources as data.

The report is checked before it is accepted: every citation must name a passage this run found (search results)
or read (`read_chunks`) — so a chunk that exists, that the user may see — or the model is asked to correct it.
The sources list is built here from the citations, not written by the model, so it is always exact: the `sources`
field for programs (link them, show titles), and the same list as a "Sources" section at the end of the report
for people.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, Field
from pydantic_ai import ModelRetry, RunContext
from pydantic_ai.messages import ModelMessage, ModelRequest, ToolReturnPart

from switchboard.agents.spec import AgentDeps

CITATION = re.compile(r"\[(\d+:\d+(?:\s*[,;]\s*\d+:\d+)*)\]")
_SOURCES_SECTION = re.compile(r"\n#{1,6}[ \t]*Sources[ \t]*\n.*\Z", re.DOTALL | re.IGNORECASE)
PASSAGE_TOOLS = ("search_knowledge", "read_chunks")


class Source(BaseModel):
    id: str = Field(description="The chunk cited, `document:chunk`.")
    document_id: int
    title: str
    heading: str
    source_url: str | None


class ResearchReport(BaseModel):
    report: str = Field(description="Markdown; each claim is followed by its sources as [document:chunk].")
    sources: list[Source] = Field(description="The chunks the report cites, in the order first cited.")


def citations(report: str) -> list[str]:
    """The chunk ids cited in `report`, in order of first citation, each once."""
    found: list[str] = []
    for group in CITATION.findall(report):
        for label in re.split(r"\s*[,;]\s*", group):
            if label not in found:
                found.append(label)
    return found


def passages_seen(messages: list[ModelMessage]) -> dict[str, dict[str, Any]]:
    """The passages this run's tools returned (search results, chunks read), by chunk id."""
    seen: dict[str, dict[str, Any]] = {}
    for message in messages:
        if not isinstance(message, ModelRequest):
            continue
        for part in message.parts:
            if not isinstance(part, ToolReturnPart) or part.tool_name not in PASSAGE_TOOLS:
                continue
            content: dict[str, Any] = dict(part.content) if isinstance(part.content, dict) else {}
            passages = [*(content.get("results") or []), *(content.get("chunks") or [])]
            for passage in passages:
                if isinstance(passage, dict) and isinstance(passage.get("id"), str):
                    seen.setdefault(passage["id"], {}).update(passage)
    return seen


async def write_report(ctx: RunContext[AgentDeps], report: str) -> ResearchReport:
    """Hand in the finished report (Markdown). Cite each claim with the ids of the passages it comes from, as
    [12:3] or [12:3, 4:1]; do not write a sources list (it is added from your citations).

    Args:
        report: The report in Markdown, with [document:chunk] citations.
    """
    seen = passages_seen(ctx.messages)
    body = _SOURCES_SECTION.sub("", report).rstrip()
    cited = citations(body)
    unknown = [label for label in cited if label not in seen]
    if unknown:
        raise ModelRetry(
            f"These citations name no passage you found or read: {', '.join(unknown)}. Cite only ids from "
            "search_knowledge or read_chunks results, or search again."
        )
    if seen and not cited:
        raise ModelRetry("The report cites nothing: follow each claim with the [document:chunk] ids it comes from.")
    ctx.deps.progress("writing", citations=len(cited))
    sources = [
        Source(
            id=label,
            document_id=int(label.split(":")[0]),
            title=str(seen[label].get("title", "")),
            heading=str(seen[label].get("heading", "")),
            source_url=seen[label].get("source_url"),
        )
        for label in cited
    ]
    if sources:
        lines = [
            f"- [{s.id}] {s.heading or s.title}" + (f" — <{s.source_url}>" if s.source_url else "") for s in sources
        ]
        body = body + "\n\n## Sources\n\n" + "\n".join(lines)
    return ResearchReport(report=body, sources=sources)
