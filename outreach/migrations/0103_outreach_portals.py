"""outreach keyed by portal: every message, opt-out and bounce belongs to one portal

Existing rows get the member_id of the one installed portal, or '' when none or several are installed
(b24app.portal_migration); a message the portal's SMS provider took already names its portal.

Revision ID: 0103_outreach_portals
Revises: 0102_outreach_approvals
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from b24app.portal_migration import add_portal_column, drop_portal_column, existing_rows_portal

revision = "0103_outreach_portals"
down_revision = "0102_outreach_approvals"
branch_labels = None
depends_on = None

# SQLite keeps the unnamed UNIQUE (key) of 0101 unnamed: batch mode names it by this convention to drop it
UNNAMED_UNIQUE = {"uq": "uq_%(table_name)s_%(column_0_name)s"}


def upgrade() -> None:
    portal = existing_rows_portal()
    for table in ("outreach_opt_outs", "outreach_bounces"):
        add_portal_column(table, portal, primary_key=["address"])
    messages = sa.table("outreach_messages", sa.column("member_id"))
    op.get_bind().execute(messages.update().where(messages.c.member_id.is_(None)).values(member_id=portal))
    sqlite = op.get_bind().dialect.name == "sqlite"
    with op.batch_alter_table("outreach_messages", naming_convention=UNNAMED_UNIQUE) as batch:
        batch.alter_column("member_id", existing_type=sa.String(length=64), nullable=False)
        batch.drop_constraint("uq_outreach_messages_key" if sqlite else "outreach_messages_key_key", type_="unique")
        batch.create_unique_constraint("uq_outreach_message_key", ["member_id", "key"])


def downgrade() -> None:
    with op.batch_alter_table("outreach_messages") as batch:
        batch.drop_constraint("uq_outreach_message_key", type_="unique")
        batch.create_unique_constraint("uq_outreach_messages_key", ["key"])
        batch.alter_column("member_id", existing_type=sa.String(length=64), nullable=True)
    for table in ("outreach_opt_outs", "outreach_bounces"):
        drop_portal_column(table, primary_key=["address"])
