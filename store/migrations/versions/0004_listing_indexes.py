"""Listing index: one owner's commitments in (due, id) order.

With it, "open commitments of an owner" walks the index in page order and
stops after one page, instead of fetching and sorting all of that owner's rows.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_commitments_owner_due_id", "commitments", ["owner_email", "due", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_commitments_owner_due_id", table_name="commitments")
