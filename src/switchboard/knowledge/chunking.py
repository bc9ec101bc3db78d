"""Documents split into chunks: passages of about 800-1200 characters that search ranks and the researcher cites.

Markdown is cut at its headings first (ATX headings `#` to `######`, outside fenced code), so a chunk never spans
two sections; each chunk keeps its heading path ("Title > Section > Subsection"), which is indexed with more
weight than the body, so a passage cut from the middle of a section still knows what it is about. Within a
section, paragraphs (blank-line separated) are packed up to the target size; a paragraph too long for one chunk is
cut between sentences, and a sentence too long, between words. Plain text is one section.

No overlap between chunks: a chunk is cited as evidence (`[doc:chunk]`), and with overlap the same sentence would
be citable under two ids and show up twice in search results. The heading path gives the context an overlap
would have given.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from switchboard.models.knowledge import DocumentFormat

TARGET_CHARS = 1000  # a chunk is closed once it reaches this
MAX_CHARS = 1200  # and never grows past this
MIN_TAIL_CHARS = 200  # a section's last piece shorter than this joins the one before, when it fits

_HEADING = re.compile(r"^ {0,3}(#{1,6})[ \t]+(.+?)[ \t#]*$")
_FENCE = re.compile(r"^ {0,3}(```|~~~)")
_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n+")
_SENTENCE_END = re.compile(r"(?<=[.!?])[\"')\]]*\s+(?=\S)")


@dataclass(frozen=True)
class Piece:
    heading: str  # the document's title, then the headings above the passage
    body: str


def chunk_document(title: str, text: str, format: DocumentFormat) -> list[Piece]:
    """The document's chunks, in order. Blank sections give none; a document with text gives at least one."""
    sections = _markdown_sections(text) if format == DocumentFormat.MARKDOWN else [([], text)]
    pieces: list[Piece] = []
    for path, body in sections:
        if path and path[0].casefold() == title.casefold():
            path = path[1:]  # a document whose first heading is its title: "Refunds > Refunds" says it once
        heading = " > ".join([title, *path])
        pieces.extend(Piece(heading=heading, body=part) for part in _pack(_paragraphs(body)))
    return pieces


def _markdown_sections(text: str) -> list[tuple[list[str], str]]:
    """(heading path, body) for the text before the first heading and under each heading."""
    sections: list[tuple[list[str], str]] = []
    path: list[tuple[int, str]] = []
    lines: list[str] = []
    fenced = False

    def close() -> None:
        sections.append(([name for _, name in path], "\n".join(lines)))
        lines.clear()

    for line in text.splitlines():
        if _FENCE.match(line):
            fenced = not fenced
        heading = None if fenced else _HEADING.match(line)
        if heading is None:
            lines.append(line)
            continue
        close()
        level = len(heading.group(1))
        path = [(lvl, name) for lvl, name in path if lvl < level]
        path.append((level, heading.group(2).strip()))
    close()
    return sections


def _paragraphs(text: str) -> list[str]:
    return [part.strip() for part in _PARAGRAPH_BREAK.split(text) if part.strip()]


def _pack(paragraphs: list[str]) -> list[str]:
    """Paragraphs joined into chunks of at most MAX_CHARS, each closed once it reaches TARGET_CHARS."""
    units: list[str] = []
    for paragraph in paragraphs:
        units.extend([paragraph] if len(paragraph) <= MAX_CHARS else _split_long(paragraph))
    chunks: list[str] = []
    current = ""
    for unit in units:
        joined = f"{current}\n\n{unit}" if current else unit
        if current and (len(joined) > MAX_CHARS or len(current) >= TARGET_CHARS):
            chunks.append(current)
            current = unit
        else:
            current = joined
    if current:
        if chunks and len(current) < MIN_TAIL_CHARS and len(chunks[-1]) + 2 + len(current) <= MAX_CHARS:
            chunks[-1] = f"{chunks[-1]}\n\n{current}"
        else:
            chunks.append(current)
    return chunks


def _split_long(paragraph: str) -> list[str]:
    """A paragraph longer than MAX_CHARS as pieces of at most MAX_CHARS: whole sentences, else whole words."""
    pieces: list[str] = []
    for sentence in _SENTENCE_END.split(paragraph):
        if len(sentence) <= MAX_CHARS:
            pieces.append(sentence)
            continue
        words, line = sentence.split(), ""
        for word in words:
            while len(word) > MAX_CHARS:  # a "word" longer than a chunk (a URL, a base64 blob): cut it
                if line:
                    pieces.append(line)
                    line = ""
                pieces.append(word[:MAX_CHARS])
                word = word[MAX_CHARS:]
            if line and len(line) + 1 + len(word) > MAX_CHARS:
                pieces.append(line)
                line = word
            else:
                line = f"{line} {word}" if line else word
        if line:
            pieces.append(line)
    # Sentences of one paragraph are joined with a space again (not a paragraph break) when packed together.
    merged: list[str] = []
    for piece in pieces:
        if merged and len(merged[-1]) + 1 + len(piece) <= TARGET_CHARS:
            merged[-1] = f"{merged[-1]} {piece}"
        else:
            merged.append(piece)
    return merged
