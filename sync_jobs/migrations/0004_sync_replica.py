"""sync replica of 1C records

Revision ID: 0004_sync_replica
Revises: 0002_sync
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import b24app.db


revision = "0004_sync_replica"
down_revision = "0002_sync"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_replica",
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("updated_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )


def downgrade() -> None:
    op.drop_table("sync_replica")
