"""Deliveries of items to their owners by email and Slack (idempotent, retried).

``deliveries`` holds one row per (commitment, recipient, channel): the fingerprint of the item as
last announced, and the fingerprint, error line and attempts of a send that failed (pending until
the next digest delivers it).

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("commitment_id", sa.Integer(), nullable=False),
        sa.Column("recipient", sa.String(length=320), nullable=False),
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("announced", sa.String(length=64), nullable=True),
        sa.Column("announced_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("pending", sa.String(length=64), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["commitment_id"], ["commitments.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("commitment_id", "recipient", "channel", name="uq_deliveries_item_recipient"),
    )
    op.create_index("ix_deliveries_channel_recipient", "deliveries", ["channel", "recipient"])


def downgrade() -> None:
    op.drop_index("ix_deliveries_channel_recipient", table_name="deliveries")
    op.drop_table("deliveries")
