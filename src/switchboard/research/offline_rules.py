"""The researcher's offline behaviour: rules, not an LLM. They do the research's steps with the real tools:

1. Plan: the question's keywords (stop words out, at most 6); sub-questions are one query with any of them
   (`refund or policy or shipped`), then the first keyword (the topic) with each of the next three
   (`refund shipped`: passages with both words).
2. One `search_knowledge` call per sub-question, in order.
3. Read the best passages (`read_chunks`): ranked across every search by reciprocal rank fusion, the top four.
4. Write: an extractive report, the passages' sentences that contain the most keywords (at most two a passage,
   six in all), quoted as they are, each followed by its `[document:chunk]` citation, in passage rank order.

Each step is decided from the run's messages so far, so a run resumed mid-way carries on where it was.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic_ai.messages import (
    ModelMessage,
    ModelRequest,
    ModelResponse,
    ToolCallPart,
    ToolReturnPart,
    UserPromptPart,
)
from pydantic_ai.models.function import AgentInfo

from switchboard.threads.context import user_text

RRF_K = 60
READ = 4
PER_PASSAGE = 2
SENTENCES = 6
MAX_KEYWORDS = 6
LABEL = "*Offline rules, not an LLM: the sentences below are quoted from the passages found, each with its source.*"

_STOP_WORDS_TEXT = """
a about above after again all also am an and any are as at be been before being below between both
but by can could describe did do does doing down during each explain few find for from further give
had has have having he her here hers how i i'm if in into is it its itself just know me more most my
no nor not now of off on once only or other our ours out over own please same she should show so
some such tell than that the their them then there there's these they this those through to too
under until up very was we were what what's when where which while who whom why will with would you
your yours
"""
STOP_WORDS = frozenset(_STOP_WORDS_TEXT.split())

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
# A sentence ends at . ! or ? before a space, at a blank line, or where a list item starts; lines wrapped inside
# a paragraph are not ends.
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=\S)|\n\s*\n+|\n(?=[ \t]*(?:[-*+]|\d+[.)])[ \t])")
_LIST_MARKER = re.compile(r"^(?:[-*+]|\d+[.)])\s+")


def researcher_rules(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    question, turn = _this_turn(messages)
    returns: dict[str, list[dict[str, Any]]] = {
        name: [] for name in ("plan_research", "search_knowledge", "read_chunks")
    }
    for part in turn:
        if part.tool_name in returns:
            returns[part.tool_name].append(part.content if isinstance(part.content, dict) else {})
    keywords = keywords_of(question)
    if not returns["plan_research"]:
        return _call("plan_research", {"sub_questions": sub_questions(keywords, question)})
    plan = [str(q) for q in returns["plan_research"][-1].get("sub_questions", [])]
    searched = returns["search_knowledge"]
    if len(searched) < len(plan):
        return _call("search_knowledge", {"query": plan[len(searched)], "limit": 5})
    best = best_passages(searched)
    if best and not returns["read_chunks"]:
        return _call("read_chunks", {"ids": best})
    chunks = [c for read in returns["read_chunks"] for c in read.get("chunks", []) if isinstance(c, dict)]
    return _call(_output_tool(info), {"report": extractive_report(question, keywords, chunks)})


def keywords_of(question: str) -> list[str]:
    words = [w for w in _WORD.findall(question.lower()) if w not in STOP_WORDS and len(w) > 2]
    return list(dict.fromkeys(words))[:MAX_KEYWORDS]


def sub_questions(keywords: list[str], question: str) -> list[str]:
    if not keywords:
        return [question.strip()[:200] or "?"]
    if len(keywords) == 1:
        return keywords
    topic, rest = keywords[0], keywords[1:]
    return [" or ".join(keywords), *(f"{topic} {word}" for word in rest[:3])]


def best_passages(searches: list[dict[str, Any]]) -> list[str]:
    """The passages ranked best across every search: each result scores 1/(60 + its rank) in its search."""
    scores: dict[str, float] = {}
    for search in searches:
        for rank, result in enumerate(search.get("results", []), start=1):
            if isinstance(result, dict) and isinstance(result.get("id"), str):
                scores[result["id"]] = scores.get(result["id"], 0.0) + 1 / (RRF_K + rank)
    return sorted(scores, key=lambda label: -scores[label])[:READ]


def extractive_report(question: str, keywords: list[str], chunks: list[dict[str, Any]]) -> str:
    title = " ".join(question.split())[:200]
    picked: list[tuple[int, int, str, str]] = []  # (passage rank, sentence position, sentence, chunk id)
    for rank, chunk in enumerate(chunks):
        scored = []
        for position, sentence in enumerate(sentences_of(str(chunk.get("text", "")))):
            score = sum(1 for keyword in keywords if _mentions(sentence, keyword))
            if score:
                scored.append((score, position, sentence))
        best = sorted(scored, key=lambda item: (-item[0], item[1]))[:PER_PASSAGE]
        picked.extend((rank, position, sentence, str(chunk["id"])) for _, position, sentence in best)
    picked = sorted(picked)[:SENTENCES]
    if not picked:
        looked_for = ", ".join(f'"{k}"' for k in keywords) or "its words"
        return (
            f"# {title}\n\n{LABEL}\n\nNo passage in the knowledge base you can search matches {looked_for}: "
            "it does not answer this question."
        )
    lines = [f"- {sentence} [{label}]" for _, _, sentence, label in picked]
    return f"# {title}\n\n{LABEL}\n\n## What the documents say\n\n" + "\n".join(lines)


def sentences_of(text: str) -> list[str]:
    """Sentences and list items, whitespace collapsed, list markers dropped; otherwise as written."""
    found = []
    for piece in _SENTENCE_END.split(text):
        sentence = _LIST_MARKER.sub("", " ".join(piece.split()))
        if sentence and not sentence.startswith("#"):
            found.append(sentence)
    return found


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _mentions(sentence: str, keyword: str) -> bool:
    """Whether a word of the sentence has the keyword's stem ("refunded" and "refunds" mention "refund")."""
    stem = _stem(keyword)
    prefix = stem[:5] if len(stem) >= 5 else None
    for word in _WORD.findall(sentence.lower()):
        if (prefix is not None and word.startswith(prefix)) or _stem(word) == stem:
            return True
    return False


def _this_turn(messages: list[ModelMessage]) -> tuple[str, list[ToolReturnPart]]:
    """The latest question, and the tool results that came after it (this run's, not an earlier turn's)."""
    returns: list[ToolReturnPart] = []
    for message in reversed(messages):
        if not isinstance(message, ModelRequest):
            continue
        for part in reversed(message.parts):
            if isinstance(part, UserPromptPart) and (question := user_text(part.content)) is not None:
                return question, list(reversed(returns))
            if isinstance(part, ToolReturnPart):
                returns.append(part)
    return "", list(reversed(returns))


def _output_tool(info: AgentInfo) -> str:
    return info.output_tools[0].name if info.output_tools else "write_report"


def _call(tool: str, args: dict[str, Any]) -> ModelResponse:
    return ModelResponse(parts=[ToolCallPart(tool, args)])
