"""Splitting text into sentences and words, for the offline rules of the three text-analysis agents.

Rules, not language understanding: a sentence ends at `.`, `!` or `?` (or a blank line) followed by a space and an
upper-case letter, a digit or a quote, except after a known abbreviation (Mr., Dr., Inc., e.g., U.S. …)."""

from __future__ import annotations

import re
from dataclasses import dataclass


def word_set(words: str) -> frozenset[str]:
    """The words of a whitespace-separated list (how the word lists here are written)."""
    return frozenset(words.split())


# Abbreviations whose full stop does not end a sentence (compared lower-case, without the final dot).
ABBREVIATIONS = frozenset(
    {
        "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "mt", "inc", "ltd", "corp", "co", "vs", "etc", "e.g",
        "i.e", "u.s", "u.k", "no", "fig", "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct",
        "nov", "dec", "gen", "gov", "sen", "rep", "approx", "dept", "univ",
    }
)  # fmt: skip

STOPWORDS = word_set(
    """a about above after again against all also am an and any are as at be because been before being below
    between both but by can could did do does doing down during each few for from further had has have having he
    her here hers herself him himself his how i if in into is it its itself just me more most my myself nor of off
    on once only or other our ours ourselves out over own same she should so some such than that the their theirs
    them themselves then there these they this those through to too under until up very was we were what when
    where which while who whom why will with would you your yours yourself yourselves said says one two new
    """
)

_BOUNDARY = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=[\"'(\[]?[A-Z0-9])|\n\s*\n")
_WORD = re.compile(r"[A-Za-z][A-Za-z'\u2019-]*[A-Za-z]|[A-Za-z]")


@dataclass(frozen=True)
class Sentence:
    index: int  # its position in the text, from 0
    text: str
    start: int  # character offset in the text


def sentences(text: str) -> list[Sentence]:
    """The text's sentences in order, stripped, with their offsets; empty pieces dropped."""
    pieces: list[tuple[int, int]] = []
    start = 0
    for match in _BOUNDARY.finditer(text):
        before = text[start : match.start()]
        last_word = re.search(r"([A-Za-z][A-Za-z.]*)\.$", before.rstrip("\"')]"))
        if last_word and last_word.group(1).lower() in ABBREVIATIONS:
            continue  # "Dr. Smith": the dot belongs to the abbreviation
        if last_word and len(last_word.group(1)) == 1 and match.group().strip() == "":
            continue  # an initial, as in "John F. Kennedy"
        pieces.append((start, match.start()))
        start = match.end()
    pieces.append((start, len(text)))
    found: list[Sentence] = []
    for begin, end in pieces:
        raw = text[begin:end]
        stripped = raw.strip()
        if stripped:
            offset = begin + (len(raw) - len(raw.lstrip()))
            found.append(Sentence(index=len(found), text=" ".join(stripped.split()), start=offset))
    return found


def words(text: str) -> list[str]:
    """The words of `text`, lower-case (apostrophes and hyphens inside a word kept, a curly apostrophe as ')."""
    return [word.lower().replace("\u2019", "'") for word in _WORD.findall(text)]


def content_words(text: str) -> list[str]:
    """The words that carry meaning: stop words and one-letter words left out."""
    return [word for word in words(text) if word not in STOPWORDS and len(word) > 1]
