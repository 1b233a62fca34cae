"""outreach: outbox, opt-outs, bounces

Revision ID: 0101_outreach
Revises: 0001_core
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import b24app.db

revision = "0101_outreach"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "outreach_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=200), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=True),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.String(length=32), nullable=True),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("time_zone", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("gateway", sa.String(length=64), nullable=True),
        sa.Column("provider_id", sa.String(length=128), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("cost", sa.Numeric(12, 4), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("lease_until", b24app.db.UTCDateTime(), nullable=True),
        sa.Column("created_at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", b24app.db.UTCDateTime(), nullable=True),
        sa.Column("updated_at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("replaces_id", sa.Integer(), nullable=True),
        sa.Column("fallback_address", sa.String(length=320), nullable=True),
        sa.Column("fallback_subject", sa.String(length=300), nullable=False),
        sa.Column("fallback_body", sa.Text(), nullable=False),
        sa.Column("portal_code", sa.String(length=64), nullable=True),
        sa.Column("portal_message_id", sa.String(length=64), nullable=True),
        sa.Column("portal_status", sa.String(length=16), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("key"),
    )
    op.create_index("ix_outreach_due", "outreach_messages", ["status", "not_before"])
    op.create_index("ix_outreach_person", "outreach_messages", ["person_ref", "created_at"])
    op.create_index("ix_outreach_portal", "outreach_messages", ["portal_message_id"])
    op.create_table(
        "outreach_opt_outs",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("created_at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("source", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )
    op.create_table(
        "outreach_bounces",
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("address"),
    )


def downgrade() -> None:
    op.drop_table("outreach_bounces")
    op.drop_table("outreach_opt_outs")
    op.drop_index("ix_outreach_portal", "outreach_messages")
    op.drop_index("ix_outreach_person", "outreach_messages")
    op.drop_index("ix_outreach_due", "outreach_messages")
    op.drop_table("outreach_messages")
