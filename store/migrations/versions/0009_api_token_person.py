"""Each API token may speak for one person (the dashboard's My items).

``api_tokens.person_email``: the email of the person the token belongs to (``tokens create --person``),
NULL for a token that is no one's (a CRM sync, a bot).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("person_email", sa.String(length=320), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("person_email")
