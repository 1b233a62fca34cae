"""timesheets keyed by portal: a timesheet, a rate and a notice belong to one portal

Bitrix24 user and group ids, list elements and the dedupe keys of notices are a portal's own: the unique
keys and the lookup indexes lead with ``member_id``. The day cells and the audit trail belong to their
timesheet. Existing rows get the member_id of the one installed portal, or '' when none or several are
installed (b24app.portal_migration).

Revision ID: ts0002_timesheet_portals
Revises: ts0001_timesheets
"""
from __future__ import annotations

from alembic import op

from b24app.portal_migration import add_portal_column, drop_portal_column, existing_rows_portal

revision = "ts0002_timesheet_portals"
down_revision = "ts0001_timesheets"
branch_labels = None
depends_on = None

UNIQUE = {"timesheets": ("uq_timesheet_assignment", ["employee_ref", "department_ref", "period_start"]),
          "timesheet_rates": ("uq_timesheet_rate", ["client_key", "position", "valid_from"]),
          "timesheet_notices": ("uq_timesheet_notice", ["dedupe_key"])}
INDEXES = {"ix_timesheets_site_period": ["group_id", "period_start"],
           "ix_timesheets_user_period": ["user_id", "period_start"]}


def _rekey(table: str, name: str, columns: list[str]) -> None:
    with op.batch_alter_table(table) as batch:
        batch.drop_constraint(name, type_="unique")
        batch.create_unique_constraint(name, columns)


def upgrade() -> None:
    portal = existing_rows_portal()
    for index in INDEXES:
        op.drop_index(index, table_name="timesheets")
    for table, (name, columns) in UNIQUE.items():
        add_portal_column(table, portal)
        _rekey(table, name, ["member_id", *columns])
    for index, columns in INDEXES.items():
        op.create_index(index, "timesheets", ["member_id", *columns])


def downgrade() -> None:
    for index in INDEXES:
        op.drop_index(index, table_name="timesheets")
    for table, (name, columns) in UNIQUE.items():
        _rekey(table, name, columns)
        drop_portal_column(table)
    for index, columns in INDEXES.items():
        op.create_index(index, "timesheets", columns)
