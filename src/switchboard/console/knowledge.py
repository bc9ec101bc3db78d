"""The knowledge page: the user's documents (and the shared ones), adding one (a .txt/.md file or pasted text,
read exactly as `POST /v1/knowledge/documents` reads it), deleting one, and search.

Search snippets come from users' documents: the database marks the matched words with two private-use
characters no text is expected to hold, the snippet is escaped whole, and only those marks become `<mark>`."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from markupsafe import Markup, escape

from switchboard.console.dependencies import ConsoleUserDep
from switchboard.console.rendering import templates
from switchboard.console.routing import ConsoleRoute, is_htmx
from switchboard.kit.pagination import CursorParam
from switchboard.knowledge.documents import DocumentService
from switchboard.knowledge.schemas import SearchResults
from switchboard.knowledge.search import search
from switchboard.knowledge.uploads import read_document_request
from switchboard.state import app_state

router = APIRouter(prefix="/console", route_class=ConsoleRoute, include_in_schema=False)

PAGE_SIZE = 25
MARK_START, MARK_STOP = "\ue000", "\ue001"  # Unicode private use: never markup, never in ordinary text
DocumentId = Annotated[int, Path(ge=1, le=2**53 - 1)]
SearchQuery = Annotated[str | None, Query(max_length=500)]


def highlighted(snippet: str) -> Markup:
    """The snippet escaped, with the search's marks (and nothing else) as `<mark>`; unbalanced marks are closed."""
    out: list[str] = []
    inside = False
    for piece in snippet.replace(MARK_STOP, MARK_START).split(MARK_START):
        if out:  # a mark between this piece and the previous one
            out.append("</mark>" if inside else "<mark>")
            inside = not inside
        out.append(str(escape(piece)))
    if inside:
        out.append("</mark>")
    return Markup("".join(out))  # noqa: S704 - every piece is escaped; only <mark> tags are added


async def _search(request: Request, user: ConsoleUserDep, q: str) -> SearchResults:
    async with app_state(request).db.unit_of_work() as session:
        return await search(session, user, q, limit=10, highlight=(MARK_START, MARK_STOP))


@router.get("/knowledge")
async def knowledge_page(
    request: Request, user: ConsoleUserDep, cursor: CursorParam = None, q: SearchQuery = None
) -> Response:
    async with app_state(request).db.unit_of_work() as session:
        documents, next_cursor = await DocumentService(session).page(user, PAGE_SIZE, cursor, None)
    results = await _search(request, user, q) if q and q.strip() else None
    context: dict[str, Any] = {
        "documents": documents,
        "next_cursor": next_cursor,
        "cursor": cursor,
        "q": q or "",
        "results": results,
        "highlighted": highlighted,
        "max_bytes": app_state(request).settings.knowledge_max_document_bytes,
    }
    return templates.TemplateResponse(request, "knowledge.html", context)


@router.get("/knowledge/search")
async def knowledge_search(request: Request, user: ConsoleUserDep, q: SearchQuery = None) -> Response:
    """The results alone (for htmx); a plain visit gets the whole page with them."""
    if not is_htmx(request):
        target = "/console/knowledge" + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(target, status_code=303)
    results = await _search(request, user, q) if q and q.strip() else None
    context = {"results": results, "q": q or "", "highlighted": highlighted}
    return templates.TemplateResponse(request, "knowledge_results.html", context)


@router.post("/knowledge/documents")
async def add_document(request: Request, user: ConsoleUserDep) -> Response:
    """The form is read as the API reads a multipart upload: field `file` (a file, or the pasted text)."""
    settings = app_state(request).settings
    body = await read_document_request(request)
    async with app_state(request).db.unit_of_work() as session:
        service = DocumentService(session)
        detail = await service.create(
            user, body, max_bytes=settings.knowledge_max_document_bytes, embedding_model=settings.embedding_model
        )
    message = f"Added {detail.title!r}: {detail.chunk_count} chunk(s)."
    return await _after_change(request, user, message)


@router.post("/knowledge/documents/{document_id}/delete")
async def delete_document(request: Request, user: ConsoleUserDep, document_id: DocumentId) -> Response:
    async with app_state(request).db.unit_of_work() as session:
        service = DocumentService(session)
        title = (await service.visible(user, document_id)).title
        await service.delete(user, document_id)
    return await _after_change(request, user, f"Deleted {title!r}.")


async def _after_change(request: Request, user: ConsoleUserDep, message: str) -> Response:
    """For htmx, the document list anew with the message; otherwise back to the page (post, redirect, get)."""
    if not is_htmx(request):
        return RedirectResponse("/console/knowledge", status_code=303)
    async with app_state(request).db.unit_of_work() as session:
        documents, next_cursor = await DocumentService(session).page(user, PAGE_SIZE, None, None)
    context = {"documents": documents, "next_cursor": next_cursor, "cursor": None, "message": message}
    return templates.TemplateResponse(request, "knowledge_documents.html", context)
