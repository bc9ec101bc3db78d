"""The knowledge base: documents (per user, or shared with everyone by an admin), their chunks with a generated
full-text index, and optional embeddings of the chunks.

Embeddings are stored as `real[]`, not as pgvector's `vector`, so the schema is the same on every PostgreSQL
(with or without the extension): search casts them to `vector` only where pgvector is installed. Each row names
the model that made it and its dimension, so a model can be swapped (rows of another model are simply not
compared with this model's query vector)."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Computed,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, REAL, TSVECTOR
from sqlalchemy.orm import Mapped, mapped_column

from switchboard.models.base import Base, CreatedAt, EnumText, sql_list


class DocumentFormat(StrEnum):
    TEXT = "text"
    MARKDOWN = "markdown"


# The chunk's heading path (the document's title, then its Markdown headings) weighs more than its body text.
CHUNK_TSVECTOR = (
    "setweight(to_tsvector('english'::regconfig, heading), 'A'::\"char\") || "
    "setweight(to_tsvector('english'::regconfig, body), 'B'::\"char\")"
)


class KnowledgeDocument(CreatedAt, Base):
    __tablename__ = "knowledge_documents"
    __table_args__ = (
        CheckConstraint(f"format IN {sql_list(DocumentFormat)}", name="format"),
        Index("ix_knowledge_documents_user", "user_id", "id"),
        Index("ix_knowledge_documents_shared", "id", postgresql_where=text("shared")),
        Index("ix_knowledge_documents_tags", "tags", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(300))
    format: Mapped[DocumentFormat] = mapped_column(EnumText(DocumentFormat, 16))
    source_url: Mapped[str | None] = mapped_column(String(2048), default=None)
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(64)), default=list, server_default="{}")
    shared: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    body: Mapped[str] = mapped_column(Text)
    chars: Mapped[int] = mapped_column(Integer)
    chunk_count: Mapped[int] = mapped_column(Integer)
    updated_at: Mapped[datetime] = mapped_column(server_default=func.now(), onupdate=func.now())


class KnowledgeChunk(Base):
    """A passage of a document, numbered from 1 within it (`ordinal`): cited as `document_id:ordinal`."""

    __tablename__ = "knowledge_chunks"
    __table_args__ = (
        UniqueConstraint("document_id", "ordinal"),
        Index("ix_knowledge_chunks_tsv", "tsv", postgresql_using="gin"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("knowledge_documents.id", ondelete="CASCADE"))
    ordinal: Mapped[int] = mapped_column(Integer)
    heading: Mapped[str] = mapped_column(Text)  # "Title > Section > Subsection": context for search and readers
    body: Mapped[str] = mapped_column(Text)
    tsv: Mapped[str] = mapped_column(TSVECTOR, Computed(CHUNK_TSVECTOR, persisted=True), deferred=True)


class KnowledgeEmbedding(CreatedAt, Base):
    """A chunk's vector by one embedding model (at most one per chunk: re-embedding with another replaces it)."""

    __tablename__ = "knowledge_embeddings"
    __table_args__ = (
        CheckConstraint("cardinality(embedding) = dim", name="dim"),
        Index("ix_knowledge_embeddings_model", "model"),
    )

    chunk_id: Mapped[int] = mapped_column(ForeignKey("knowledge_chunks.id", ondelete="CASCADE"), primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    dim: Mapped[int] = mapped_column(Integer)
    embedding: Mapped[list[float]] = mapped_column(ARRAY(REAL))
