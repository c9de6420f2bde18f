"""Failures that spent a time budget: the budget, so that a later run does not spend it again.

``extractions.budget_s`` holds, for a failed extraction that spent the offline extractor's time
budget, that budget in seconds. A later run under a budget no larger does not try the same content
again unless asked (``run --retry-failed``); a run under a larger one does. ``NULL`` for every other
extraction, as for every row written before this revision.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("extractions", sa.Column("budget_s", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("extractions") as batch:
        batch.drop_column("budget_s")
