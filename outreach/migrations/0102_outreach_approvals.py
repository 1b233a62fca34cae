"""outreach: the portal of a provider message; absences, notices, approval tasks and requests watched

Revision ID: 0102_outreach_approvals
Revises: 0101_outreach
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import b24app.db

revision = "0102_outreach_approvals"
down_revision = "0101_outreach"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("outreach_messages") as batch:
        batch.add_column(sa.Column("member_id", sa.String(length=64), nullable=True))
    op.create_table(
        "outreach_absences",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("date_from", sa.Date(), nullable=False),
        sa.Column("date_to", sa.Date(), nullable=False),
        sa.Column("substitute_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=80), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("created_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "source", name="uq_outreach_absence_source"),
    )
    op.create_index("ix_outreach_absence_user", "outreach_absences", ["member_id", "user_id", "date_to"])
    op.create_table(
        "outreach_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=160), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=24), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", b24app.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "key", name="uq_outreach_notice_key"),
    )
    op.create_index("ix_outreach_notice_status", "outreach_notices", ["status"])
    op.create_table(
        "outreach_approval_tasks",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("task_id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("process", sa.String(length=64), nullable=False),
        sa.Column("workflow_id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("document_name", sa.Text(), nullable=False),
        sa.Column("assigned_at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("closed_at", b24app.db.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("member_id", "task_id", "user_id"),
    )
    op.create_table(
        "outreach_request_states",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("process", sa.String(length=64), nullable=False),
        sa.Column("element_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("updated_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "process", "element_id"),
    )
    op.create_table(
        "outreach_request_scans",
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("process", sa.String(length=64), nullable=False),
        sa.Column("last_element_id", sa.Integer(), nullable=False),
        sa.Column("scanned_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("member_id", "process"),
    )


def downgrade() -> None:
    op.drop_table("outreach_request_scans")
    op.drop_table("outreach_request_states")
    op.drop_table("outreach_approval_tasks")
    op.drop_index("ix_outreach_notice_status", "outreach_notices")
    op.drop_table("outreach_notices")
    op.drop_index("ix_outreach_absence_user", "outreach_absences")
    op.drop_table("outreach_absences")
    with op.batch_alter_table("outreach_messages") as batch:
        batch.drop_column("member_id")
