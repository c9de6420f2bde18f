"""Per-source leases, so that two syncs (or two pushes) of one source never run at once; pending CRM tasks.

``source_states`` gains two leases per source, one for ``sync`` and one for ``crm push``: ``*_holder``
names the process holding it (host, process id and a random part), ``*_since`` when it took it and
``*_expires`` when the lease ends unless renewed (UTC). A process takes a lease with one conditional
UPDATE (free, expired or its own), renews it after each batch and clears it at the end; one that
crashed leaves it to expire.

``crm_tasks.task_id`` may now be NULL: ``crm push`` records a *pending* row (commitment, source)
before it asks the CRM to create the task, so that a push interrupted between the CRM's create and
the local commit looks for the task it may have created (by the item's link in its body) instead of
creating a second one.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

_LEASES = ("sync", "push")


def upgrade() -> None:
    with op.batch_alter_table("source_states") as batch:
        for lease in _LEASES:
            batch.add_column(sa.Column(f"{lease}_holder", sa.String(length=120), nullable=True))
            batch.add_column(sa.Column(f"{lease}_since", sa.DateTime(timezone=True), nullable=True))
            batch.add_column(sa.Column(f"{lease}_expires", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("crm_tasks") as batch:
        batch.alter_column("task_id", existing_type=sa.String(length=200), nullable=True)


def downgrade() -> None:
    op.execute("DELETE FROM crm_tasks WHERE task_id IS NULL")
    with op.batch_alter_table("crm_tasks") as batch:
        batch.alter_column("task_id", existing_type=sa.String(length=200), nullable=False)
    with op.batch_alter_table("source_states") as batch:
        for lease in reversed(_LEASES):
            batch.drop_column(f"{lease}_expires")
            batch.drop_column(f"{lease}_since")
            batch.drop_column(f"{lease}_holder")
