"""employees' vacation wishes and the departments' approved schedules

Revision ID: 0008_bizproc_vacation_schedule
Revises: 0006_bizproc_answer
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import b24app.db


revision = "0008_bizproc_vacation_schedule"
down_revision = "0006_bizproc_answer"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bizproc_vacation_wishes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("department_ref", sa.String(length=36), nullable=False),
        sa.Column("organization_ref", sa.String(length=36), nullable=False),
        sa.Column("employee_ref", sa.String(length=36), nullable=False),
        sa.Column("person_ref", sa.String(length=36), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("ends_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("request_link", sa.String(length=255), nullable=False),
        sa.Column("submitted_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_bizproc_vacation_wishes_department", "bizproc_vacation_wishes",
                    ["member_id", "department_ref", "year"])
    op.create_index("ix_bizproc_vacation_wishes_employee", "bizproc_vacation_wishes",
                    ["member_id", "employee_ref", "year"])
    op.create_table(
        "bizproc_vacation_schedules",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.String(length=64), nullable=False),
        sa.Column("department_ref", sa.String(length=36), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("content_key", sa.String(length=32), nullable=False),
        sa.Column("max_away", sa.Integer(), nullable=False),
        sa.Column("approved_by", sa.String(length=255), nullable=False),
        sa.Column("zup_ref", sa.String(length=36), nullable=False),
        sa.Column("zup_number", sa.String(length=32), nullable=False),
        sa.Column("approved_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("member_id", "department_ref", "year", "content_key",
                            name="uq_bizproc_vacation_schedule"),
    )


def downgrade() -> None:
    op.drop_table("bizproc_vacation_schedules")
    op.drop_index("ix_bizproc_vacation_wishes_employee", table_name="bizproc_vacation_wishes")
    op.drop_index("ix_bizproc_vacation_wishes_department", table_name="bizproc_vacation_wishes")
    op.drop_table("bizproc_vacation_wishes")
