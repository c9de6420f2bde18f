"""Failures that would recur: the condition an extraction failed under.

``extractions.held_under`` names, for a failed extraction that the same backend would fail again on
the same content (the offline extractor's time budget spent), the condition it failed under
(``"budget 20 s"``). A later run under the same condition does not try the document again unless
asked (``run --retry-failed``); a run under another (a larger budget) does. ``NULL`` for every other
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
    op.add_column("extractions", sa.Column("held_under", sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("extractions") as batch:
        batch.drop_column("held_under")
