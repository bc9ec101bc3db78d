"""knowledge base documents and chunks

Revision ID: core_0008
Revises: core_0007
Create Date: 2026-11-28 02:40:00

The tables are the same on every PostgreSQL. Embeddings are `real[]` (no extension needed to store them); the
pgvector extension, which search needs to compare them, is created here when the server offers it
(`pg_available_extensions`) and we may create it. Where it is missing, or creating it is not allowed (a managed
PostgreSQL without the privilege), the migration still succeeds and search is full-text only, saying so. Keeping
the vector type out of the schema means no table or column depends on the extension, so the models, this
migration and `alembic check` agree on both kinds of server.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = 'core_0008'
down_revision: str | Sequence[str] | None = 'core_0007'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

CHUNK_TSVECTOR = (
    "setweight(to_tsvector('english'::regconfig, heading), 'A'::\"char\") || "
    "setweight(to_tsvector('english'::regconfig, body), 'B'::\"char\")"
)


def upgrade() -> None:
    op.create_table('knowledge_documents',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('format', sa.String(length=16), nullable=False),
    sa.Column('source_url', sa.String(length=2048), nullable=True),
    sa.Column('tags', postgresql.ARRAY(sa.String(length=64)), server_default='{}', nullable=False),
    sa.Column('shared', sa.Boolean(), server_default='false', nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('chars', sa.Integer(), nullable=False),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint("format IN ('text', 'markdown')", name=op.f('ck_knowledge_documents_format')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_knowledge_documents_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_documents'))
    )
    op.create_index('ix_knowledge_documents_user', 'knowledge_documents', ['user_id', 'id'], unique=False)
    op.create_index('ix_knowledge_documents_shared', 'knowledge_documents', ['id'], unique=False, postgresql_where=sa.text('shared'))
    op.create_index('ix_knowledge_documents_tags', 'knowledge_documents', ['tags'], unique=False, postgresql_using='gin')
    op.create_table('knowledge_chunks',
    sa.Column('id', sa.BigInteger(), sa.Identity(always=False), nullable=False),
    sa.Column('document_id', sa.BigInteger(), nullable=False),
    sa.Column('ordinal', sa.Integer(), nullable=False),
    sa.Column('heading', sa.Text(), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('tsv', postgresql.TSVECTOR(), sa.Computed(CHUNK_TSVECTOR, persisted=True), nullable=True),
    sa.ForeignKeyConstraint(['document_id'], ['knowledge_documents.id'], name=op.f('fk_knowledge_chunks_document_id_knowledge_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_chunks')),
    sa.UniqueConstraint('document_id', 'ordinal', name=op.f('uq_knowledge_chunks_document_id_ordinal'))
    )
    op.create_index('ix_knowledge_chunks_tsv', 'knowledge_chunks', ['tsv'], unique=False, postgresql_using='gin')
    op.create_table('knowledge_embeddings',
    sa.Column('chunk_id', sa.BigInteger(), nullable=False),
    sa.Column('model', sa.String(length=200), nullable=False),
    sa.Column('dim', sa.Integer(), nullable=False),
    sa.Column('embedding', postgresql.ARRAY(sa.REAL()), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), server_default=sa.text('now()'), nullable=False),
    sa.CheckConstraint('cardinality(embedding) = dim', name=op.f('ck_knowledge_embeddings_dim')),
    sa.ForeignKeyConstraint(['chunk_id'], ['knowledge_chunks.id'], name=op.f('fk_knowledge_embeddings_chunk_id_knowledge_chunks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('chunk_id', name=op.f('pk_knowledge_embeddings'))
    )
    op.create_index('ix_knowledge_embeddings_model', 'knowledge_embeddings', ['model'], unique=False)
    _create_vector_extension()


def _create_vector_extension() -> None:
    bind = op.get_bind()
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")).first()
    if available is None:
        return
    savepoint = bind.begin_nested()  # a refusal (no privilege) must not abort the migration's transaction
    try:
        bind.execute(sa.text('CREATE EXTENSION IF NOT EXISTS vector'))
        savepoint.commit()
    except sa.exc.DBAPIError:
        savepoint.rollback()


def downgrade() -> None:
    # The vector extension stays: other schemas may use it, and it holds no data of ours.
    op.drop_index('ix_knowledge_embeddings_model', table_name='knowledge_embeddings')
    op.drop_table('knowledge_embeddings')
    op.drop_index('ix_knowledge_chunks_tsv', table_name='knowledge_chunks', postgresql_using='gin')
    op.drop_table('knowledge_chunks')
    op.drop_index('ix_knowledge_documents_tags', table_name='knowledge_documents', postgresql_using='gin')
    op.drop_index('ix_knowledge_documents_shared', table_name='knowledge_documents', postgresql_where=sa.text('shared'))
    op.drop_index('ix_knowledge_documents_user', table_name='knowledge_documents')
    op.drop_table('knowledge_documents')
