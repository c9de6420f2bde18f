"""Contacts keyed by name, so that the name directory is looked up instead of read whole.

``contacts.name_key`` holds the contact's name as the directory keys it
(:func:`followthrough.types.person_key`: lower-case, white space collapsed; ``NULL`` for no name or
one holding ``@``) and ``contacts.first_name_key`` that key's first word. One index on both answers
"who is Dana Lee" and "who are the Danas" from the index alone: a run no longer reads a million
contacts into memory to resolve the few names its documents write (:mod:`store.directory`).
Existing rows are keyed here, a thousand at a time.

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from followthrough.types import person_key

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None

_BATCH = 1000


def upgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        # 600: lower-casing "İ" gives two characters, so a 300-character name's key may double.
        batch.add_column(sa.Column("name_key", sa.String(length=600), nullable=True))
        batch.add_column(sa.Column("first_name_key", sa.String(length=600), nullable=True))
    contacts = sa.table(
        "contacts",
        sa.column("id", sa.Integer),
        sa.column("name", sa.String),
        sa.column("name_key", sa.String),
        sa.column("first_name_key", sa.String),
    )
    conn = op.get_bind()
    last = 0
    while True:
        rows = conn.execute(
            sa.select(contacts.c.id, contacts.c.name)
            .where(contacts.c.id > last, contacts.c.name.is_not(None))
            .order_by(contacts.c.id)
            .limit(_BATCH)
        ).all()
        if not rows:
            break
        last = rows[-1][0]
        keyed = [
            {"cid": id_, "key": key, "first": key.split()[0]}
            for id_, name in rows
            if (key := person_key(name)) and "@" not in key
        ]
        if keyed:
            conn.execute(
                contacts.update()
                .where(contacts.c.id == sa.bindparam("cid"))
                .values(name_key=sa.bindparam("key"), first_name_key=sa.bindparam("first")),
                keyed,
            )
    op.create_index("ix_contacts_first_name_key_name_key", "contacts", ["first_name_key", "name_key"])


def downgrade() -> None:
    op.drop_index("ix_contacts_first_name_key_name_key", table_name="contacts")
    with op.batch_alter_table("contacts") as batch:
        batch.drop_column("first_name_key")
        batch.drop_column("name_key")
