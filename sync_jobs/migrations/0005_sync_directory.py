"""the directory of who is who: people and the client sites they work at

Revision ID: 0005_sync_directory
Revises: 0004_sync_replica
"""
from __future__ import annotations

from alembic import op
import sqlalchemy as sa

import b24app.db


revision = "0005_sync_directory"
down_revision = "0004_sync_replica"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sync_directory_sites",
        sa.Column("department_ref", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("department_name", sa.String(length=255), nullable=False),
        sa.Column("legal_entity_ref", sa.String(length=64), nullable=False),
        sa.Column("legal_entity_name", sa.String(length=255), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.PrimaryKeyConstraint("department_ref"),
    )
    op.create_table(
        "sync_directory_people",
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=255), nullable=False),
        sa.Column("position", sa.String(length=255), nullable=False),
        sa.Column("personnel_numbers", sa.String(length=255), nullable=False),
        sa.Column("email_known", sa.Boolean(), nullable=False),
        sa.Column("departments", sa.Text(), nullable=False),
        sa.Column("contacts", sa.Text(), nullable=False),
        sa.Column("digest", sa.String(length=32), nullable=False),
        sa.Column("updated_at", b24app.db.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("person_ref"),
    )
    op.create_table(
        "sync_directory_placements",
        sa.Column("department_ref", sa.String(length=64), nullable=False),
        sa.Column("person_ref", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("department_ref", "person_ref"),
    )
    op.create_index("ix_sync_directory_placements_person", "sync_directory_placements", ["person_ref"])


def downgrade() -> None:
    op.drop_index("ix_sync_directory_placements_person", table_name="sync_directory_placements")
    op.drop_table("sync_directory_placements")
    op.drop_table("sync_directory_people")
    op.drop_table("sync_directory_sites")
