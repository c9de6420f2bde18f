"""Claims on deliveries, so that concurrent digests do not announce the same item twice.

``deliveries.claimed_by`` names the digest process that is sending a message about the row's item
(host, process id and a random part) and ``claimed_at`` when it claimed it (UTC). A digest claims its
rows with one conditional UPDATE, committed before it sends; another digest skips rows claimed less
than a lease ago (:data:`followthrough.notify.deliver.CLAIM_LEASE`). Recording the outcome clears
the claim; a claimant that crashed leaves it to expire.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("deliveries") as batch:
        batch.drop_column("claimed_at")
        batch.drop_column("claimed_by")
