"""Batches submitted to an LLM provider's Batch API, so that a later run collects them.

``llm_batches`` holds one row per batch (the provider's id, the endpoint and the
extractor's cache key it was submitted with, its last polled status, when its
results were recorded); ``llm_batch_documents`` which documents it holds, with
their content hash when submitted and the number of requests for each.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "llm_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.String(length=200), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("cache_key", sa.String(length=300), nullable=False),
        sa.Column("input_file_id", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("batch_id"),
    )
    op.create_table(
        "llm_batch_documents",
        sa.Column("batch_row_id", sa.Integer(), nullable=False),
        sa.Column("document_id", sa.Integer(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["batch_row_id"], ["llm_batches.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["document_id"], ["documents.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("batch_row_id", "document_id"),
    )
    op.create_index(
        "ix_llm_batch_documents_document_id", "llm_batch_documents", ["document_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_llm_batch_documents_document_id", table_name="llm_batch_documents")
    op.drop_table("llm_batch_documents")
    op.drop_table("llm_batches")
