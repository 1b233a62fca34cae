"""a portal whose stored token pair stopped working waits for an administrator to restore it

Revision ID: 0007_token_health
Revises: 0001_core
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import b24app.db


revision = "0007_token_health"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portal_installations") as batch:
        batch.add_column(sa.Column("tokens_broken_at", b24app.db.UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portal_installations") as batch:
        batch.drop_column("tokens_broken_at")
