"""app-activity answers are stored with their marker, so a resend carries the same answer

Revision ID: 0006_bizproc_answer
Revises: 0003_bizproc
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa


revision = "0006_bizproc_answer"
down_revision = "0003_bizproc"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bizproc_activity_answers") as batch:
        batch.add_column(sa.Column("answer", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("bizproc_activity_answers") as batch:
        batch.drop_column("answer")
