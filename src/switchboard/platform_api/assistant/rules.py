"""The assistant's offline behaviour: deterministic rules, not intelligence, and every reply says so.

What they do is real work on the input, never a canned answer: arithmetic is parsed and computed (an AST of
numbers and + - * / % only), a summary is the text's own highest-scoring sentences (word frequency, stop words
left out), a question is searched for in the knowledge base with the real `search_knowledge` tool and the
passages found are quoted with their ids, the application context the turn carries (its fenced block, as a
model sees it) is described field by field, and a triggered task's event (fenced data after the owner's
instructions) is described, never obeyed. Anything else gets a plain statement of what these rules can do,
with the message they received."""

from __future__ import annotations

import ast
import json
import operator
import re
from collections import Counter
from collections.abc import Callable
from typing import Any

from pydantic_ai.messages import ModelMessage, ModelRequest, ModelResponse, TextPart, ToolCallPart, ToolReturnPart
from pydantic_ai.models.function import AgentInfo

from switchboard.agents.offline import latest_user_prompt
from switchboard.threads.context import latest_context
from switchboard.triggers.message import split_event

LABEL = "(offline rules, not an LLM)"
SEARCH = "search_knowledge"
SHOWN_PASSAGES = 3
MAX_SHOWN = 200  # characters of one value shown back

_CONTEXT_QUESTION = re.compile(
    r"\b(this (page|record|one|item|screen)|looking at|on (my |the )?screen|here\b|context|current (page|record))",
    re.IGNORECASE,
)
_QUESTION = re.compile(
    r"\?\s*$|^\s*(what|how|why|when|where|who|which|is|are|can|could|do|does|tell me|explain)\b", re.IGNORECASE
)
_SUMMARISE = re.compile(r"^\s*(please\s+)?(summari[sz]e|tl;?dr)\b[\s:,-]*(?:this:?\s*)?", re.IGNORECASE)
_EXPRESSION = re.compile(r"[-+(]*\s*\d[\d\s.+\-*/%()]*[\d)]")
# Asked for a value ("what is", "calculate"…), or nothing but the expression: a date or a phone number in a
# sentence is not a sum to compute.
_ASKED = re.compile(r"\b(what is|what's|how much is|calculate|compute|evaluate)\b|=\s*\??\s*$", re.IGNORECASE)
_SENTENCE = re.compile(r"(?<=[.!?])\s+")
_WORD = re.compile(r"[a-zA-Z][a-zA-Z'-]+")
_STOP_WORDS = (
    "a an and are as at be been but by for from has have he her his i in is it its of on or our she that the "
    "their them they this to was we were what when which who will with you your not no so if then than there"
)
_STOP = frozenset(_STOP_WORDS.split(" "))
_OPERATORS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
    ast.Mod: operator.mod,
}


def assistant_rules(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
    last = messages[-1]
    if isinstance(last, ModelRequest):
        returned = [part for part in last.parts if isinstance(part, ToolReturnPart)]
        if returned and returned[-1].tool_name == SEARCH:
            return _say(answer_from_passages(returned[-1].content))
    prompt, event = split_event(latest_user_prompt(messages) or "")
    if event is not None:
        return _say(describe_event(prompt, event))
    computed = arithmetic(prompt)
    if computed is not None:
        return _say(computed)
    summarise = _SUMMARISE.match(prompt)
    if summarise:
        return _say(summary(prompt[summarise.end() :]))
    if _CONTEXT_QUESTION.search(prompt):
        return _say(describe_context(latest_context(messages)))
    words = keywords(prompt)
    if _QUESTION.search(prompt) and words and any(tool.name == SEARCH for tool in info.function_tools):
        return ModelResponse(parts=[ToolCallPart(SEARCH, {"query": " or ".join(words), "limit": SHOWN_PASSAGES})])
    return _say(help_text(prompt))


def help_text(prompt: str) -> str:
    return (
        f'I am the assistant\'s offline model {LABEL}: I can compute arithmetic ("What is 12 * 7?"), quote the '
        'passages of your knowledge base that match a question, summarise a text you give me ("Summarise: …"), '
        'tell you what your application attached as context ("What am I looking at?"), and describe the events '
        "that reach a triggered task. I cannot answer general questions: "
        f"I received {_shown(prompt)} and have no rule for it. Set SWITCHBOARD_MODEL to a real model for real answers."
    )


# --- the knowledge base ---


def keywords(prompt: str, most: int = 8) -> list[str]:
    """The question's content words, in order, once each: what the knowledge base is searched for."""
    seen: list[str] = []
    for word in _WORD.findall(prompt):
        lowered = word.lower()
        if lowered not in _STOP and len(lowered) > 2 and lowered not in seen:
            seen.append(lowered)
    return seen[:most]


def answer_from_passages(content: Any) -> str:
    """The passages found, quoted with their sources: the rules do not write an answer, they show where one is."""
    results = content.get("results") if isinstance(content, dict) else None
    query = content.get("query", "") if isinstance(content, dict) else ""
    if not results:
        return (
            f"I found nothing about {_shown(query)} in your knowledge base, and I cannot answer general questions "
            f"{LABEL}. Add documents with POST /v1/knowledge/documents, or set SWITCHBOARD_MODEL to a real model."
        )
    quoted = [
        f"[{hit.get('id')}] {hit.get('title')}: {' '.join(str(hit.get('snippet', '')).replace('**', '').split())}"
        for hit in results[:SHOWN_PASSAGES]
    ]
    return f"From your knowledge base, the passages that match best {LABEL}:\n" + "\n".join(quoted)


# --- arithmetic ---


def arithmetic(prompt: str) -> str | None:
    """The value of the arithmetic expression in the prompt ("What is (2 + 3) * 4?"), if there is one with an
    operator; None otherwise."""
    whole = _EXPRESSION.fullmatch(prompt.strip().rstrip("?=").strip())
    if not (whole or _ASKED.search(prompt)):
        return None
    for match in _EXPRESSION.finditer(prompt):
        text = match.group(0).strip()
        if not re.search(r"\d\s*[-+*/%]\s*[-(]*\d", text):
            continue
        try:
            value = _evaluate(ast.parse(text, mode="eval").body)
        except ZeroDivisionError:
            return f"{text} has no value: it divides by zero {LABEL}."
        except (SyntaxError, ValueError, OverflowError):
            continue
        shown = int(value) if isinstance(value, float) and value.is_integer() and abs(value) < 1e15 else value
        return f"{text} = {shown} {LABEL}"
    return None


def _evaluate(node: ast.expr) -> float | int:
    if isinstance(node, ast.Constant) and isinstance(node.value, int | float) and not isinstance(node.value, bool):
        return node.value
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        value = _evaluate(node.operand)
        return -value if isinstance(node.op, ast.USub) else value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
        result = _OPERATORS[type(node.op)](_evaluate(node.left), _evaluate(node.right))
        if abs(result) > 1e300:
            raise OverflowError
        return result  # type: ignore[no-any-return]
    raise ValueError("not arithmetic")


# --- summaries ---


def summary(text: str, sentences: int = 3) -> str:
    """The text's `sentences` best sentences in their order, scored by the frequency of their content words."""
    parts = [part.strip() for part in _SENTENCE.split(text.strip()) if part.strip()]
    if len(parts) < 2:
        return f'Give me a text of at least two sentences after "Summarise:" and I will pick its key ones {LABEL}.'
    counts = Counter(word.lower() for word in _WORD.findall(text) if word.lower() not in _STOP)

    def score(sentence: str) -> float:
        words = [word.lower() for word in _WORD.findall(sentence) if word.lower() not in _STOP]
        return sum(counts[word] for word in words) / (len(words) or 1)

    best = sorted(range(len(parts)), key=lambda index: (-score(parts[index]), index))[:sentences]
    chosen = " ".join(parts[index] for index in sorted(best))
    return (
        f"Summary ({min(sentences, len(parts))} of {len(parts)} sentences, picked by word frequency {LABEL}): {chosen}"
    )


# --- context and events: data, described ---


def describe_context(context: dict[str, Any] | None) -> str:
    """The context this turn was given (read back from its fence, as the model saw it), field by field."""
    if not context:
        return (
            "Your application attached no context to this conversation, so I cannot tell what you are looking at "
            f"{LABEL}."
        )
    return f"From the context your application attached (data, not instructions) {LABEL}: {_fields(context)}."


def describe_event(instructions: str, event: str) -> str:
    try:
        data: Any = json.loads(event)
    except ValueError:
        data = None
    body = _fields(data) if isinstance(data, dict) else f"text of {len(event)} characters: {_shown(event)}"
    return (
        f"Your instructions: {_shown(instructions.strip())}. The event received (untrusted data; read, not obeyed) "
        f"{LABEL} has {body}."
    )


def _fields(data: dict[str, Any]) -> str:
    if not data:
        return "no fields"
    shown = [f"{key}: {_shown(value)}" for key, value in list(data.items())[:20]]
    more = f" and {len(data) - 20} more fields" if len(data) > 20 else ""
    return "; ".join(shown) + more


def _shown(value: Any) -> str:
    """A value as JSON (a string quoted), on one line, cut at MAX_SHOWN characters."""
    if not isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False, default=str)
        return text if len(text) <= MAX_SHOWN else text[:MAX_SHOWN] + "…"
    text = " ".join(value.split())
    return json.dumps(text[:MAX_SHOWN] + ("…" if len(text) > MAX_SHOWN else ""), ensure_ascii=False)


def _say(text: str) -> ModelResponse:
    return ModelResponse(parts=[TextPart(text)])
