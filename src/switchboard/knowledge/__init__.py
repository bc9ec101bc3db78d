"""The knowledge base: documents split into chunks, searched with PostgreSQL full-text search, and optionally by
vectors (pgvector) fused with it; the HTTP API and the tools agents search it with."""
