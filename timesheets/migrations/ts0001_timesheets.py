"""timesheets tables

Revision ID: ts0001_timesheets
Revises: 0001_core
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import b24app.db


revision = "ts0001_timesheets"
down_revision = "0001_core"
branch_labels = ("timesheets",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "timesheets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.Date(), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.Column("employee_ref", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("department_ref", sa.String(length=64), nullable=False),
        sa.Column("site_name", sa.String(length=255), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("legal_entity_ref", sa.String(length=64), nullable=False),
        sa.Column("legal_entity_name", sa.String(length=255), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("employee_name", sa.String(length=255), nullable=False),
        sa.Column("personnel_number", sa.String(length=32), nullable=False),
        sa.Column("position", sa.String(length=255), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("return_step", sa.String(length=16), nullable=True),
        sa.Column("return_comment", sa.Text(), nullable=True),
        sa.Column("submitted_by", sa.Integer(), nullable=True),
        sa.Column("element_id", sa.Integer(), nullable=True),
        sa.Column("workflow_id", sa.String(length=64), nullable=True),
        sa.Column("onec_ref", sa.String(length=64), nullable=True),
        sa.Column("onec_number", sa.String(length=32), nullable=True),
        sa.Column("onec_revision", sa.Integer(), nullable=True),
        sa.Column("created_at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("updated_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("employee_ref", "department_ref", "period_start", name="uq_timesheet_assignment"),
    )
    op.create_index("ix_timesheets_site_period", "timesheets", ["group_id", "period_start"])
    op.create_index("ix_timesheets_user_period", "timesheets", ["user_id", "period_start"])
    op.create_table(
        "timesheet_days",
        sa.Column("timesheet_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.SmallInteger(), nullable=False),
        sa.Column("code", sa.String(length=4), nullable=False),
        sa.Column("minutes", sa.Integer(), nullable=True),
        sa.Column("code2", sa.String(length=4), nullable=True),
        sa.Column("minutes2", sa.Integer(), nullable=True),
        sa.Column("planned", sa.String(length=16), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["timesheet_id"], ["timesheets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("timesheet_id", "day"),
    )
    op.create_table(
        "timesheet_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("timesheet_id", sa.Integer(), nullable=False),
        sa.Column("at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("actor_user_id", sa.Integer(), nullable=True),
        sa.Column("action", sa.String(length=24), nullable=False),
        sa.Column("day", sa.SmallInteger(), nullable=True),
        sa.Column("before", sa.Text(), nullable=False),
        sa.Column("after", sa.Text(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["timesheet_id"], ["timesheets.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_timesheet_events_sheet", "timesheet_events", ["timesheet_id", "id"])
    op.create_table(
        "timesheet_rates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("client_key", sa.String(length=64), nullable=False),
        sa.Column("position", sa.String(length=255), nullable=False),
        sa.Column("rate_kopecks", sa.Integer(), nullable=False),
        sa.Column("valid_from", sa.Date(), nullable=False),
        sa.Column("valid_to", sa.Date(), nullable=True),
        sa.Column("set_by", sa.Integer(), nullable=True),
        sa.Column("set_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("client_key", "position", "valid_from", name="uq_timesheet_rate"),
    )
    op.create_table(
        "timesheet_notices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=128), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_at", b24app.db.UTCDateTime(), nullable=False),
        sa.Column("sent_at", b24app.db.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=255), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dedupe_key", name="uq_timesheet_notice"),
    )
    op.create_index("ix_timesheet_notices_pending", "timesheet_notices", ["sent_at"])


def downgrade() -> None:
    op.drop_table("timesheet_notices")
    op.drop_table("timesheet_rates")
    op.drop_index("ix_timesheet_events_sheet", table_name="timesheet_events")
    op.drop_table("timesheet_events")
    op.drop_table("timesheet_days")
    op.drop_index("ix_timesheets_user_period", table_name="timesheets")
    op.drop_index("ix_timesheets_site_period", table_name="timesheets")
    op.drop_table("timesheets")
