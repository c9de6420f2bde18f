"""Per-deal counts from one index: each commitment carries its linked deal's id.

``commitments.deal_id`` mirrors ``commitment_deal_links.deal_id`` (NULL when the
commitment has no link, or was unlinked by hand); the store writes both in the
same transaction. With the index on ``(deal_id, status, due, snoozed_until)``,
the deal listing counts every deal's open, overdue, due-soon and done
commitments by reading that index alone, instead of joining every link row to
its commitment (seconds at a million commitments).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("commitments", sa.Column("deal_id", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE commitments SET deal_id = ("
        "SELECT l.deal_id FROM commitment_deal_links l WHERE l.commitment_id = commitments.id"
        ") WHERE id IN (SELECT commitment_id FROM commitment_deal_links WHERE deal_id IS NOT NULL)"
    )
    op.create_index(
        "ix_commitments_deal_counts",
        "commitments",
        ["deal_id", "status", "due", "snoozed_until"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_commitments_deal_counts", table_name="commitments")
    op.drop_column("commitments", "deal_id")
