"""Request and response shapes of the knowledge API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, Field, StrictBool

from switchboard.kit.pagination import Page
from switchboard.kit.schemas import Patch
from switchboard.models.knowledge import DocumentFormat


def _tags(value: list[str]) -> list[str]:
    return list(dict.fromkeys(value))  # in order, each once


# Schemas say everything the server checks (no control characters; something besides spaces), so a request
# valid by the schema is never refused for its shape.
TITLE_PATTERN = r"^[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f][^\x00-\x1f\x7f]*$"
TAG_PATTERN = r"^[a-z0-9][a-z0-9._:-]{0,63}$"
SOURCE_URL_PATTERN = r"^https?://[^\s\x00-\x1f\x7f]+$"
Title = Annotated[str, Field(min_length=1, max_length=300, pattern=TITLE_PATTERN, examples=["Refund policy"])]
Tag = Annotated[str, Field(pattern=TAG_PATTERN, examples=["policies"])]
Tags = Annotated[
    list[Tag],
    Field(max_length=20, description="Up to 20 tags: lower-case letters, digits and `. _ : -`, at most 64 each."),
    AfterValidator(_tags),
]
SourceUrl = Annotated[
    str,
    Field(
        max_length=2048,
        pattern=SOURCE_URL_PATTERN,
        examples=["https://shop.example.com/help/refunds"],
        description="Where the document comes from (an http(s) URL), shown with citations.",
    ),
]
DocumentText = Annotated[
    str,
    Field(
        min_length=1,
        pattern=r"\S",  # something besides spaces, somewhere
        description="The document's text (limited by SWITCHBOARD_KNOWLEDGE_MAX_DOCUMENT_BYTES).",
    ),
]
ChunkId = Annotated[
    str,
    Field(
        pattern=r"^[1-9][0-9]{0,15}:[1-9][0-9]{0,5}$",
        examples=["12:3"],
        description="`document:chunk`: the document's id and the chunk's number in it (from 1).",
    ),
]


class DocumentCreate(BaseModel):
    title: Title
    text: DocumentText
    format: DocumentFormat = Field(
        default=DocumentFormat.TEXT, description="`markdown` is split at its headings; `text` by paragraphs."
    )
    source_url: SourceUrl | None = None
    tags: Tags = Field(default_factory=list)
    shared: StrictBool = Field(default=False, description="Visible to every user. Only an admin may share.")


class DocumentPatch(Patch):
    """Only the fields given change. The text cannot change (chunk ids stay valid): delete and add again."""

    tags: Tags | None = None
    shared: StrictBool | None = Field(default=None, description="Only an admin may share or unshare.")


class DocumentOut(BaseModel):
    id: int
    title: str
    format: DocumentFormat
    source_url: str | None
    tags: list[str]
    shared: bool = Field(description="Visible to every user.")
    owned: bool = Field(description="You added it (else it is a shared document of someone else's).")
    chars: int = Field(description="Characters of text.")
    chunk_count: int
    created_at: datetime
    updated_at: datetime


class ChunkOut(BaseModel):
    id: ChunkId
    ordinal: int = Field(description="The chunk's number in its document, from 1.")
    heading: str = Field(description='The title and the headings above the passage: "Title > Section".')
    text: str


class DocumentDetail(DocumentOut):
    text: str
    chunks: list[ChunkOut]


class DocumentPage(Page[DocumentOut]):
    pass


class SearchRanks(BaseModel):
    full_text: int | None = Field(description="Rank in the full-text list (1 is best); null: not in it.")
    vector: int | None = Field(description="Rank in the vector list; null: not in it (or full-text mode).")


class SearchHit(BaseModel):
    id: ChunkId
    document_id: int
    title: str
    heading: str
    source_url: str | None
    snippet: str = Field(description="The passage's best fragments, matched words in **bold**.")
    score: float = Field(
        description="full_text mode: `ts_rank_cd`. hybrid mode: the fused score, the sum of 1/(60 + rank) over the "
        "lists the chunk is in."
    )
    ranks: SearchRanks


class SearchResults(BaseModel):
    query: str
    mode: Literal["full_text", "hybrid"] = Field(
        description="`hybrid`: full-text and vector ranks fused; `full_text`: full-text search only (`note` says why)."
    )
    note: str | None = Field(default=None, description="Why the search is full-text only, when it is.")
    embedding_models: list[str] = Field(default_factory=list, description="The models whose vectors took part.")
    results: list[SearchHit]


class RefreshedEmbeddings(BaseModel):
    model: str
    embedded: int = Field(description="Chunks embedded by this request.")
    total_chunks: int
