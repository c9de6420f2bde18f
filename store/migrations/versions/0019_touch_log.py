"""The last touches by us and by them, kept as a run leaves them, and documents indexed by change.

``touch_log`` holds one row: per outside person the last touch by us and by them, read from every
document up to the end of a day, with the basis it was read from (the documents' count, newest id
and newest change, that day, our domains; see :mod:`store.touch_log`). A report on a store no run
has changed since reads it instead of every document's participants. ``documents.updated_at`` is
indexed so that the newest change is one index lookup, not a scan of every document.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "touch_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("basis", sa.Text(), nullable=False),
        sa.Column("named", sa.Boolean(), nullable=False),
        sa.Column("log", sa.JSON(), nullable=False),
        sa.Column("written_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_documents_updated_at", "documents", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_documents_updated_at", table_name="documents")
    op.drop_table("touch_log")
