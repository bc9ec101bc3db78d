"""Searching the knowledge base as a user, and reading chunks by id: the same for people (the HTTP API) and for
agents (the `search_knowledge` and `read_chunks` tools). Both read only; both see only what the user may see."""

from __future__ import annotations

import re
from dataclasses import dataclass

from sqlalchemy import or_, select, tuple_
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.knowledge.documents import chunk_label
from switchboard.knowledge.schemas import SearchHit, SearchRanks, SearchResults
from switchboard.knowledge.search_sql import HIGHLIGHT, search_statement
from switchboard.knowledge.vectors import query_vectors
from switchboard.models.knowledge import KnowledgeChunk, KnowledgeDocument

CHUNK_ID = re.compile(r"^([1-9][0-9]{0,15}):([1-9][0-9]{0,5})$")


def parse_chunk_id(value: str) -> tuple[int, int] | None:
    """`"12:3"` → (12, 3); None for anything else."""
    match = CHUNK_ID.match(value.strip())
    return (int(match.group(1)), int(match.group(2))) if match else None


@dataclass(frozen=True)
class ReadChunk:
    id: str
    title: str
    heading: str
    source_url: str | None
    text: str


async def search(
    session: AsyncSession,
    user: Principal,
    query: str,
    *,
    limit: int = 10,
    tag: str | None = None,
    highlight: tuple[str, str] = HIGHLIGHT,
) -> SearchResults:
    """`highlight`: the marks around matched words in snippets (default `**`, Markdown bold)."""
    vectors, note = await query_vectors(session, query)
    statement, params = search_statement(
        user_id=user.user_id, query=query, limit=limit, tag=tag, vectors=vectors, highlight=highlight
    )
    rows = (await session.execute(statement, params)).mappings().all()
    hybrid = bool(vectors)
    hits = [
        SearchHit(
            id=chunk_label(row["document_id"], row["ordinal"]),
            document_id=row["document_id"],
            title=row["title"],
            heading=row["heading"],
            source_url=row["source_url"],
            snippet=row["snippet"],
            score=round(float(row["fused_score"] if hybrid else row["text_score"]), 6),
            ranks=SearchRanks(full_text=row["full_text_rank"], vector=row["vector_rank"]),
        )
        for row in rows
    ]
    return SearchResults(
        query=query,
        mode="hybrid" if hybrid else "full_text",
        note=note,
        embedding_models=[vector.model for vector in vectors],
        results=hits,
    )


async def read_chunks(session: AsyncSession, user: Principal, ids: list[str]) -> tuple[list[ReadChunk], list[str]]:
    """The chunks named (in the order asked, each once) that the user may see, and the ids that name none."""
    wanted: dict[str, tuple[int, int]] = {}
    unknown: list[str] = []
    for value in ids:
        parsed = parse_chunk_id(value)
        if parsed is None:
            unknown.append(value)
        else:
            wanted.setdefault(chunk_label(*parsed), parsed)
    if not wanted:
        return [], unknown
    rows = await session.execute(
        select(KnowledgeChunk, KnowledgeDocument)
        .join(KnowledgeDocument, KnowledgeDocument.id == KnowledgeChunk.document_id)
        .where(
            tuple_(KnowledgeChunk.document_id, KnowledgeChunk.ordinal).in_(list(wanted.values())),
            or_(KnowledgeDocument.user_id == user.user_id, KnowledgeDocument.shared),
        )
    )
    found = {
        chunk_label(document.id, chunk.ordinal): ReadChunk(
            id=chunk_label(document.id, chunk.ordinal),
            title=document.title,
            heading=chunk.heading,
            source_url=document.source_url,
            text=chunk.body,
        )
        for chunk, document in rows
    }
    unknown.extend(label for label in wanted if label not in found)
    return [found[label] for label in wanted if label in found], unknown
