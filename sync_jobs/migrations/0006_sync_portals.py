"""the sync's tables keyed by portal: one database holds the sync state of many portals

Existing rows get the member_id of the one installed portal, or '' when none or several are installed
(b24app.portal_migration).

Revision ID: 0006_sync_portals
Revises: 0005_sync_directory
"""
from __future__ import annotations

from alembic import op

from b24app.portal_migration import add_portal_column, drop_portal_column, existing_rows_portal

revision = "0006_sync_portals"
down_revision = "0005_sync_directory"
branch_labels = None
depends_on = None

KEYED = {"sync_bookmarks": ["stream"], "sync_replica": ["stream"], "sync_directory_sites": ["department_ref"],
         "sync_directory_people": ["person_ref"], "sync_directory_placements": ["department_ref", "person_ref"]}


def upgrade() -> None:
    portal = existing_rows_portal()
    for table, key in KEYED.items():
        add_portal_column(table, portal, primary_key=key)
    op.drop_index("ix_sync_directory_placements_person", table_name="sync_directory_placements")
    op.create_index("ix_sync_directory_placements_person", "sync_directory_placements", ["member_id", "person_ref"])
    add_portal_column("sync_runs", portal)
    op.create_index("ix_sync_runs_portal", "sync_runs", ["member_id", "id"])
    add_portal_column("sync_mappings", portal)
    with op.batch_alter_table("sync_mappings") as batch:
        batch.drop_constraint("uq_sync_mapping_key", type_="unique")
        batch.create_unique_constraint("uq_sync_mapping_portal_key", ["member_id", "kind", "key"])


def downgrade() -> None:
    with op.batch_alter_table("sync_mappings") as batch:
        batch.drop_constraint("uq_sync_mapping_portal_key", type_="unique")
        batch.create_unique_constraint("uq_sync_mapping_key", ["kind", "key"])
    drop_portal_column("sync_mappings")
    op.drop_index("ix_sync_runs_portal", table_name="sync_runs")
    drop_portal_column("sync_runs")
    op.drop_index("ix_sync_directory_placements_person", table_name="sync_directory_placements")
    op.create_index("ix_sync_directory_placements_person", "sync_directory_placements", ["person_ref"])
    for table, key in KEYED.items():
        drop_portal_column(table, primary_key=key)
