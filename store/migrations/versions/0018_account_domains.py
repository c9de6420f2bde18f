"""Each account's domains in a table of their own, so that an email's account is looked up by domain.

``account_domains`` holds one row per (lower-cased domain, account): what ``accounts.domains`` lists.
Finding the account of a person's email domain (the silent accounts, deal linking) read every
account's JSON list before, a million of them for a large CRM; the primary key (domain first) now
answers it from the index. Existing accounts' domains are copied here, a thousand accounts at a time;
one longer than DNS allows (253 characters) is no email's domain and is not listed.

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-02
"""

from __future__ import annotations

import json

import sqlalchemy as sa
from alembic import op

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    op.create_table(
        "account_domains",
        sa.Column("domain", sa.String(length=300), nullable=False),
        sa.Column("account_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["account_id"], ["accounts.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("domain", "account_id"),
    )
    accounts = sa.table("accounts", sa.column("id", sa.Integer), sa.column("domains", sa.Text))
    domains = sa.table("account_domains", sa.column("domain", sa.String), sa.column("account_id", sa.Integer))
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(accounts.c.id, sa.cast(accounts.c.domains, sa.Text))
            .where(accounts.c.id > last)
            .order_by(accounts.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        pairs = [
            {"domain": d, "account_id": id_}
            for id_, listed in rows
            for d in sorted({str(x).lower() for x in json.loads(listed or "[]") or []})
            if len(d) <= 253
        ]
        if pairs:
            conn.execute(sa.insert(domains), pairs)


def downgrade() -> None:
    op.drop_table("account_domains")
