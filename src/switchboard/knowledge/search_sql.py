"""The search statement: full-text rank, and the vector rank of each embedding model present, fused in one query.

- Full text: `websearch_to_tsquery('english', q)` against the chunks' generated `tsvector` (GIN index), ranked
  by `ts_rank_cd` (cover density: query words close together rank higher).
- Vectors (only where pgvector is installed and chunks have embeddings): the chunks' `real[]` embeddings of one
  model cast to `vector`, nearest first by cosine distance to the query's vector by that model. The cast is per
  row (an exact scan, no ANN index: exact recall, and fast enough for a knowledge base of some thousands of chunks).
- Fusion: reciprocal rank fusion, each list giving a chunk 1/(60 + its rank there); a chunk found by both ranks
  above one found by either alone. Only the top `pool` of each list take part.

Every list reads only chunks of documents the user may see (their own and shared ones), with the tag filter.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import TextClause, text

RRF_K = 60
POOL = 50  # candidates per ranked list
# Highlighted words are wrapped in ** (Markdown bold): readable as JSON, in a terminal and by a model.
HIGHLIGHT = ("**", "**")
HEADLINE_OPTIONS = 'StartSel={start}, StopSel={stop}, MaxWords=35, MinWords=12, MaxFragments=2, FragmentDelimiter=" … "'

_VISIBLE = """
visible AS MATERIALIZED (
    SELECT d.id, d.title, d.source_url FROM knowledge_documents d
    WHERE (d.user_id = :user_id OR d.shared) {tag_filter}
)"""

_FULL_TEXT = """
q AS (SELECT websearch_to_tsquery('english', :query) AS query),
fts AS (
    SELECT c.id, ts_rank_cd(c.tsv, q.query) AS score,
           row_number() OVER (ORDER BY ts_rank_cd(c.tsv, q.query) DESC, c.id) AS rank
    FROM knowledge_chunks c JOIN visible v ON v.id = c.document_id CROSS JOIN q
    WHERE c.tsv @@ q.query
    ORDER BY rank LIMIT :pool
)"""

# Vectors pointing away from the query (cosine distance 1 or more) are no match at all, whatever their rank.
_VECTOR = """
vec{i} AS (
    SELECT e.chunk_id AS id,
           row_number() OVER (ORDER BY CAST(e.embedding AS vector) <=> CAST(CAST(:vector{i} AS text) AS vector),
                              e.chunk_id) AS rank
    FROM knowledge_embeddings e
    JOIN knowledge_chunks c ON c.id = e.chunk_id
    JOIN visible v ON v.id = c.document_id
    WHERE e.model = :model{i}
      AND (CAST(e.embedding AS vector) <=> CAST(CAST(:vector{i} AS text) AS vector)) < 1
    ORDER BY rank LIMIT :pool
)"""

_FUSED = """
ranked AS (
    SELECT id, 'full_text' AS kind, rank, score FROM fts
    {vector_lists}
),
fused AS (
    SELECT id,
           sum(1.0 / ({rrf_k} + rank)) AS fused_score,
           max(score) AS text_score,
           min(rank) FILTER (WHERE kind = 'full_text') AS full_text_rank,
           min(rank) FILTER (WHERE kind = 'vector') AS vector_rank
    FROM ranked GROUP BY id
)
SELECT c.id AS chunk_pk, c.document_id, c.ordinal, c.heading, v.title, v.source_url,
       f.fused_score, f.text_score, f.full_text_rank, f.vector_rank,
       ts_headline('english', c.body, q.query, :headline) AS snippet
FROM fused f
JOIN knowledge_chunks c ON c.id = f.id
JOIN visible v ON v.id = c.document_id
CROSS JOIN q
ORDER BY f.fused_score DESC, c.id
LIMIT :limit"""


@dataclass(frozen=True)
class QueryVector:
    model: str
    vector: str  # pgvector's text form


def search_statement(
    *,
    user_id: int,
    query: str,
    limit: int,
    tag: str | None,
    vectors: list[QueryVector],
    highlight: tuple[str, str] = HIGHLIGHT,
) -> tuple[TextClause, dict[str, Any]]:
    """`highlight`: what the snippet's matched words are wrapped in (the console asks for marks no text uses)."""
    headline = HEADLINE_OPTIONS.format(start=highlight[0], stop=highlight[1])
    params: dict[str, Any] = {"user_id": user_id, "query": query, "limit": limit, "pool": POOL, "headline": headline}
    tag_filter = ""
    if tag is not None:
        tag_filter = "AND d.tags @> ARRAY[CAST(:tag AS varchar)]"
        params["tag"] = tag
    parts = [_VISIBLE.format(tag_filter=tag_filter), _FULL_TEXT]
    lists = []
    for i, query_vector in enumerate(vectors):
        parts.append(_VECTOR.format(i=i))
        # Only numbers and constants go into the text; every value is a bound parameter.
        lists.append(f"UNION ALL SELECT id, 'vector', rank, NULL FROM vec{i}")  # noqa: S608
        params[f"model{i}"] = query_vector.model
        params[f"vector{i}"] = query_vector.vector
    fused = _FUSED.format(vector_lists="\n    ".join(lists), rrf_k=RRF_K)
    return text("WITH" + ",".join(parts) + "," + fused), params


# One round trip: can vectors be compared here, and by which models were chunks embedded.
VECTOR_STATE = text(
    "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'vector') AS pgvector, "
    "ARRAY(SELECT DISTINCT model FROM knowledge_embeddings ORDER BY model) AS models"
)
