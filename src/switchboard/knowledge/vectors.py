"""Chunks' embeddings: written when a document is added (with the configured model, where pgvector is installed),
refreshed for a new model, and the query's vectors for search (one per model the stored chunks were embedded by:
a query vector is only ever compared with vectors of its own model)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import structlog
from sqlalchemy import delete, func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.knowledge.embeddings import embedder, stored_name, vector_literal
from switchboard.knowledge.search_sql import VECTOR_STATE, QueryVector
from switchboard.models.knowledge import KnowledgeChunk, KnowledgeEmbedding

log = structlog.get_logger(__name__)

BATCH = 64  # chunks per embedding request
MAX_MODELS = 3  # vector lists in one search (more than one only while a model is being swapped)


@dataclass(frozen=True)
class VectorState:
    pgvector: bool
    models: list[str]


async def vector_state(session: AsyncSession) -> VectorState:
    row = (await session.execute(VECTOR_STATE)).one()
    return VectorState(pgvector=bool(row.pgvector), models=list(row.models))


async def pgvector_installed(session: AsyncSession) -> bool:
    return (await vector_state(session)).pgvector


def _embedded_text(chunk: KnowledgeChunk) -> str:
    return f"{chunk.heading}\n\n{chunk.body}"


async def embed_chunks(session: AsyncSession, model_name: str, chunks: Sequence[KnowledgeChunk]) -> int:
    """Embed `chunks` with the model and store their vectors (replacing another model's); returns how many. Only
    where pgvector is installed: elsewhere vectors could not be searched, and a paid model would be paid for
    nothing."""
    if not chunks or not await pgvector_installed(session):
        return 0
    name = stored_name(model_name)
    model = embedder(model_name)
    done = 0
    for start in range(0, len(chunks), BATCH):
        batch = chunks[start : start + BATCH]
        result = await model.embed_documents([_embedded_text(chunk) for chunk in batch])
        rows = [
            {"chunk_id": chunk.id, "model": name, "dim": len(vector), "embedding": [float(v) for v in vector]}
            for chunk, vector in zip(batch, result.embeddings, strict=True)
        ]
        statement = insert(KnowledgeEmbedding).values(rows)
        excluded = statement.excluded
        await session.execute(
            statement.on_conflict_do_update(
                index_elements=[KnowledgeEmbedding.chunk_id],
                set_={"model": excluded.model, "dim": excluded.dim, "embedding": excluded.embedding},
            )
        )
        done += len(batch)
    return done


async def refresh_embeddings(session: AsyncSession, model_name: str) -> tuple[int, int]:
    """Embed every chunk that has no vector of this model (after the model changed); returns (embedded, total)."""
    name = stored_name(model_name)
    missing = select(KnowledgeChunk).where(
        ~select(KnowledgeEmbedding.chunk_id)
        .where(KnowledgeEmbedding.chunk_id == KnowledgeChunk.id, KnowledgeEmbedding.model == name)
        .exists()
    )
    chunks = list(await session.scalars(missing.order_by(KnowledgeChunk.id)))
    embedded = await embed_chunks(session, model_name, chunks)
    await session.execute(delete(KnowledgeEmbedding).where(KnowledgeEmbedding.model != name))
    total = int(await session.scalar(select(func.count()).select_from(KnowledgeChunk)) or 0)
    return embedded, total


async def query_vectors(session: AsyncSession, query: str) -> tuple[list[QueryVector], str | None]:
    """The query embedded by each model stored chunks were embedded by, or ([], why the search is full-text)."""
    state = await vector_state(session)
    if not state.pgvector:
        return [], "pgvector is not installed in this PostgreSQL: full-text search only"
    if not state.models:
        return [], "no chunk has an embedding (set SWITCHBOARD_EMBEDDING_MODEL): full-text search only"
    vectors: list[QueryVector] = []
    failures: list[str] = []
    for name in state.models[:MAX_MODELS]:
        try:
            result = await embedder(name).embed_query(query)
        except Exception as exc:  # a provider down, a key missing: search goes on with what it has
            log.warning("knowledge.query_embedding_failed", model=name, error=str(exc))
            failures.append(name)
            continue
        vectors.append(QueryVector(model=name, vector=vector_literal(result.embeddings[0])))
    if not vectors:
        return [], f"embedding the query failed ({', '.join(failures)}): full-text search only"
    return vectors, None
