"""many machines: a portal can be paused; an accepted call remembers when the broker confirmed it

Revision ID: 0008_cluster
Revises: 0007_token_health
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import b24app.db


revision = "0008_cluster"
down_revision = "0007_token_health"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_installations") as batch:
        batch.add_column(sa.Column("paused_at", b24app.db.UTCDateTime(), nullable=True))
    with op.batch_alter_table("inbox_items") as batch:
        batch.add_column(sa.Column("enqueued_at", b24app.db.UTCDateTime(), nullable=True))
    op.create_index("ix_inbox_member_status", "inbox_items", ["member_id", "status"])


def downgrade() -> None:
    op.drop_index("ix_inbox_member_status", table_name="inbox_items")
    with op.batch_alter_table("inbox_items") as batch:
        batch.drop_column("enqueued_at")
    with op.batch_alter_table("portal_installations") as batch:
        batch.drop_column("paused_at")
