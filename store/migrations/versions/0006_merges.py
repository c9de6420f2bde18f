"""One promise, many sources: merged commitments and the pairs a person split apart.

``commitments.merged_into`` names the commitment one was merged into (status
``merged``); ``evidence.merged_from`` names the merged commitment a piece of
evidence came from while it sits on the survivor, so that a split gives it
back; ``commitment_splits`` remembers the pairs a person split, which the merge
pass never merges again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("commitments", sa.Column("merged_into", sa.Integer(), nullable=True))
    op.create_index("ix_commitments_merged_into", "commitments", ["merged_into"], unique=False)
    op.add_column("evidence", sa.Column("merged_from", sa.Integer(), nullable=True))
    op.create_table(
        "commitment_splits",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("other_id", sa.Integer(), nullable=False),
        sa.Column("split_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["commitment_id"], ["commitments.id"], ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["other_id"], ["commitments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("commitment_id", "other_id", name="uq_commitment_splits_pair"),
    )
    op.create_index("ix_commitment_splits_other_id", "commitment_splits", ["other_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_commitment_splits_other_id", table_name="commitment_splits")
    op.drop_table("commitment_splits")
    op.drop_column("evidence", "merged_from")
    op.drop_index("ix_commitments_merged_into", table_name="commitments")
    op.drop_column("commitments", "merged_into")
