"""Documents as the API sees them: add (split into chunks, embedded when a model is configured), list, read,
change tags or sharing, delete.

A user sees their own documents and the shared ones; another user's unshared document is "not found", to admins
too. Only an admin shares (or unshares) a document, and only the owner or an admin changes or deletes one.
Everything is checked before anything is written, in the caller's unit of work: a refused request stores nothing.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from switchboard.auth.principal import Principal
from switchboard.kit.errors import NotFound, PayloadTooLarge, PermissionDenied
from switchboard.kit.pagination import keyset_page
from switchboard.knowledge.chunking import chunk_document
from switchboard.knowledge.schemas import (
    ChunkOut,
    DocumentCreate,
    DocumentDetail,
    DocumentOut,
    DocumentPatch,
)
from switchboard.knowledge.vectors import embed_chunks
from switchboard.models.knowledge import KnowledgeChunk, KnowledgeDocument

ONLY_ADMINS_SHARE = "shared: only an admin can share a document with every user (or stop sharing it)"


def chunk_label(document_id: int, ordinal: int) -> str:
    """How a chunk is cited: `12:3` is the third chunk of document 12."""
    return f"{document_id}:{ordinal}"


def document_out(document: KnowledgeDocument, user: Principal) -> DocumentOut:
    return DocumentOut(
        id=document.id,
        title=document.title,
        format=document.format,
        source_url=document.source_url,
        tags=list(document.tags),
        shared=document.shared,
        owned=document.user_id == user.user_id,
        chars=document.chars,
        chunk_count=document.chunk_count,
        created_at=document.created_at,
        updated_at=document.updated_at,
    )


class DocumentService:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(
        self, user: Principal, body: DocumentCreate, *, max_bytes: int, embedding_model: str | None
    ) -> DocumentDetail:
        size = len(body.text.encode())
        if size > max_bytes:
            raise PayloadTooLarge(
                f"text: the document is {size} bytes as UTF-8; the limit is {max_bytes} "
                "(SWITCHBOARD_KNOWLEDGE_MAX_DOCUMENT_BYTES)",
                details=[{"field": "text", "message": f"larger than {max_bytes} bytes"}],
            )
        if body.shared and not user.is_admin:
            raise PermissionDenied(ONLY_ADMINS_SHARE)
        pieces = chunk_document(body.title.strip(), body.text, body.format)
        document = KnowledgeDocument(
            user_id=user.user_id,
            title=body.title.strip(),
            format=body.format,
            source_url=body.source_url,
            tags=body.tags,
            shared=body.shared,
            body=body.text,
            chars=len(body.text),
            chunk_count=len(pieces),
        )
        self.session.add(document)
        await self.session.flush()
        chunks = [
            KnowledgeChunk(document_id=document.id, ordinal=number, heading=piece.heading, body=piece.body)
            for number, piece in enumerate(pieces, start=1)
        ]
        self.session.add_all(chunks)
        await self.session.flush()
        if embedding_model is not None:
            await embed_chunks(self.session, embedding_model, chunks)
        await self.session.refresh(document)
        return self._detail(document, chunks, user)

    async def page(
        self, user: Principal, limit: int, cursor: str | None, tag: str | None
    ) -> tuple[list[DocumentOut], str | None]:
        query = select(KnowledgeDocument).where(self._visible(user))
        if tag is not None:
            query = query.where(KnowledgeDocument.tags.contains([tag]))
        rows, next_cursor = await keyset_page(
            self.session, query, [KnowledgeDocument.id], limit=limit, cursor=cursor, descending=True
        )
        return [document_out(row, user) for row in rows], next_cursor

    async def detail(self, user: Principal, document_id: int) -> DocumentDetail:
        document = await self.visible(user, document_id)
        chunks = await self.session.scalars(
            select(KnowledgeChunk).where(KnowledgeChunk.document_id == document.id).order_by(KnowledgeChunk.ordinal)
        )
        return self._detail(document, list(chunks), user)

    async def update(self, user: Principal, document_id: int, patch: DocumentPatch) -> DocumentOut:
        document = await self.visible(user, document_id, for_update=True)
        self._require_owner_or_admin(user, document, "change")
        given = patch.model_fields_set
        if "shared" in given and patch.shared != document.shared and not user.is_admin:
            raise PermissionDenied(ONLY_ADMINS_SHARE)
        if patch.tags is not None:
            document.tags = patch.tags
        if patch.shared is not None:
            document.shared = patch.shared
        await self.session.flush()
        await self.session.refresh(document)
        return document_out(document, user)

    async def delete(self, user: Principal, document_id: int) -> None:
        document = await self.visible(user, document_id, for_update=True)
        self._require_owner_or_admin(user, document, "delete")
        await self.session.execute(delete(KnowledgeDocument).where(KnowledgeDocument.id == document.id))

    async def visible(self, user: Principal, document_id: int, *, for_update: bool = False) -> KnowledgeDocument:
        query = select(KnowledgeDocument).where(KnowledgeDocument.id == document_id, self._visible(user))
        document = await self.session.scalar(query.with_for_update() if for_update else query)
        if document is None:
            raise NotFound(f"Document {document_id} not found.")
        return document

    @staticmethod
    def _visible(user: Principal) -> ColumnElement[bool]:
        return or_(KnowledgeDocument.user_id == user.user_id, KnowledgeDocument.shared)

    @staticmethod
    def _require_owner_or_admin(user: Principal, document: KnowledgeDocument, what: str) -> None:
        if document.user_id != user.user_id and not user.is_admin:
            raise PermissionDenied(
                f"Document {document.id} is shared with you by an admin: only its owner or an admin can {what} it."
            )

    @staticmethod
    def _detail(document: KnowledgeDocument, chunks: list[KnowledgeChunk], user: Principal) -> DocumentDetail:
        return DocumentDetail(
            **document_out(document, user).model_dump(),
            text=document.body,
            chunks=[
                ChunkOut(id=chunk_label(document.id, c.ordinal), ordinal=c.ordinal, heading=c.heading, text=c.body)
                for c in chunks
            ],
        )
