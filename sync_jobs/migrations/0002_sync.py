"""sync tables

Revision ID: 0002_sync
Revises: 0001_core
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import b24app.db


revision = "0002_sync"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_mappings",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("b24_id", sa.Integer(), nullable=True),
        sa.Column("state_hash", sa.String(length=32), nullable=True),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("updated_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("kind", "key", name="uq_sync_mapping_key"),
    )
    op.create_table(
        "sync_bookmarks",
        sa.Column("stream", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.Column("updated_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("stream"),
    )
    op.create_table(
        "sync_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("mode", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("finished_at", b24app.db.UTCDateTime(), nullable=True),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_table(
        "sync_run_records",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("title", sa.String(length=255), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["run_id"], ["sync_runs.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_sync_run_records_run", "sync_run_records", ["run_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_sync_run_records_run", table_name="sync_run_records")
    op.drop_table("sync_run_records")
    op.drop_table("sync_runs")
    op.drop_table("sync_bookmarks")
    op.drop_table("sync_mappings")
