"""The knowledge API: documents (JSON or a .txt/.md file), their chunks, and search."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse

from switchboard.auth.dependencies import AdminDep, PrincipalDep, SessionDep
from switchboard.kit.errors import API_ERRORS, Conflict, ErrorResponse, ValidationFailed
from switchboard.kit.pagination import CursorParam, LimitParam
from switchboard.knowledge.documents import DocumentService
from switchboard.knowledge.schemas import (
    DocumentCreate,
    DocumentDetail,
    DocumentOut,
    DocumentPage,
    DocumentPatch,
    RefreshedEmbeddings,
    SearchResults,
)
from switchboard.knowledge.search import search
from switchboard.knowledge.uploads import UPLOAD_FORM_SCHEMA, read_document_request
from switchboard.knowledge.vectors import refresh_embeddings
from switchboard.state import app_state

router = APIRouter(prefix="/v1/knowledge", tags=["knowledge"], responses={**API_ERRORS, 404: {"model": ErrorResponse}})

DocumentId = Annotated[int, Path(ge=1, le=2**53 - 1, description="The document's id.")]
TagParam = Annotated[
    str | None, Query(pattern=r"^[a-z0-9][a-z0-9._:-]{0,63}$", description="Only documents with this tag.")
]

CREATE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "The document as JSON, or a `.txt`/`.md` file as `multipart/form-data` (field `file`; the "
        "title defaults to the file name, the format to its extension).",
        "content": {
            "application/json": {"schema": DocumentCreate.model_json_schema()},
            "multipart/form-data": {"schema": UPLOAD_FORM_SCHEMA},
        },
    }
}


@router.post(
    "/documents",
    status_code=201,
    summary="Add a document",
    response_model=DocumentDetail,
    openapi_extra=CREATE_BODY,
    responses={
        400: {"model": ErrorResponse, "description": "`bad_request`: the body is not JSON, nor a form."},
        403: {"model": ErrorResponse, "description": "`permission_denied`: only an admin may share a document."},
        413: {"model": ErrorResponse, "description": "`payload_too_large`: the body or the document is too large."},
    },
)
async def add_document(request: Request, user: PrincipalDep, session: SessionDep) -> JSONResponse:
    """The text is split into chunks (Markdown at its headings, then by paragraphs, about 1000 characters each,
    no overlap) and indexed for full-text search; with `SWITCHBOARD_EMBEDDING_MODEL` set, and pgvector in
    PostgreSQL, each chunk is also embedded. Chunks are cited as `document:chunk` (`12:3`)."""
    settings = app_state(request).settings
    body = await read_document_request(request)
    detail = await DocumentService(session).create(
        user, body, max_bytes=settings.knowledge_max_document_bytes, embedding_model=settings.embedding_model
    )
    headers = {"Location": f"/v1/knowledge/documents/{detail.id}"}
    return JSONResponse(detail.model_dump(mode="json"), status_code=201, headers=headers)


@router.get("/documents", summary="List the documents you can search, newest first")
async def list_documents(
    user: PrincipalDep, session: SessionDep, limit: LimitParam = 20, cursor: CursorParam = None, tag: TagParam = None
) -> DocumentPage:
    """Yours and the shared ones (`owned` says which)."""
    items, next_cursor = await DocumentService(session).page(user, limit, cursor, tag)
    return DocumentPage(items=items, next_cursor=next_cursor)


@router.get("/documents/{document_id}", summary="Get a document with its chunks")
async def get_document(document_id: DocumentId, user: PrincipalDep, session: SessionDep) -> DocumentDetail:
    return await DocumentService(session).detail(user, document_id)


@router.patch(
    "/documents/{document_id}",
    summary="Change a document's tags or sharing",
    responses={403: {"model": ErrorResponse, "description": "`permission_denied`: only an admin shares."}},
)
async def update_document(
    document_id: DocumentId, body: DocumentPatch, user: PrincipalDep, session: SessionDep
) -> DocumentOut:
    """`shared: true` makes it visible to every user: admins only. Only its owner or an admin changes it."""
    return await DocumentService(session).update(user, document_id, body)


@router.delete(
    "/documents/{document_id}",
    status_code=204,
    summary="Delete a document and its chunks",
    responses={403: {"model": ErrorResponse, "description": "`permission_denied`: not yours to delete."}},
)
async def delete_document(document_id: DocumentId, user: PrincipalDep, session: SessionDep) -> Response:
    await DocumentService(session).delete(user, document_id)
    return Response(status_code=204)


@router.get("/search", summary="Search the documents you can see")
async def search_documents(
    user: PrincipalDep,
    session: SessionDep,
    q: Annotated[
        str,
        Query(
            min_length=1,
            max_length=500,
            description='Web-search syntax: words, "a phrase", `or`, `-word`. English stemming: refunds finds refund.',
        ),
    ],
    limit: Annotated[int, Query(ge=1, le=50, description="Results (1-50).")] = 10,
    tag: TagParam = None,
) -> SearchResults:
    """Ranked chunks with their document's title, the chunk id to cite, a snippet with the matched words in
    **bold**, and a score. `mode` says whether it was full-text only or hybrid (full-text and vector ranks fused by
    reciprocal rank fusion), and `note` why it was full-text only."""
    if not q.strip():
        raise ValidationFailed("q: must contain something besides spaces", details=[{"field": "q", "message": "blank"}])
    return await search(session, user, q, limit=limit, tag=tag)


@router.post(
    "/embeddings/refresh",
    summary="Embed every chunk with the configured model (admin)",
    responses={409: {"model": ErrorResponse, "description": "`conflict`: no embedding model is configured."}},
)
async def refresh(request: Request, admin: AdminDep, session: SessionDep) -> RefreshedEmbeddings:
    """After `SWITCHBOARD_EMBEDDING_MODEL` changed (or was first set): every chunk without a vector of that model
    is embedded, and other models' vectors are removed. Needs pgvector (else nothing is embedded)."""
    model = app_state(request).settings.embedding_model
    if model is None:  # the server's state, not the request's fault: a 409
        raise Conflict("SWITCHBOARD_EMBEDDING_MODEL is not set on this server: there is no model to embed with.")
    embedded, total = await refresh_embeddings(session, model)
    return RefreshedEmbeddings(model=model, embedded=embedded, total_chunks=total)
