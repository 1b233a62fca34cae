"""Helpers for the migrations that give a feature's tables a portal key (``member_id``).

Rows written before the key existed belong to the one portal the app was installed on: they get the
member_id of the only *installed* row of ``portal_installations`` when there is exactly one, otherwise
'' (webhook mode — the portal a webhook reaches — or an ambiguous database: the operator reassigns them).
Both SQLite (the table rebuilt by Alembic's batch mode) and PostgreSQL (plain ALTERs) are served.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.exc import SAWarning


def existing_rows_portal() -> str:
    """The member_id the rows already stored belong to (see the module's rule)."""
    installed = op.get_bind().execute(sa.text(
        "SELECT member_id FROM portal_installations WHERE status = 'installed'")).scalars().all()
    return installed[0] if len(installed) == 1 else ""


def _sqlite() -> bool:
    return op.get_bind().dialect.name == "sqlite"


def add_portal_column(table: str, portal: str, *, primary_key: Sequence[str] | None = None) -> None:
    """Add ``member_id`` (NOT NULL) to ``table``, set it to ``portal`` on every row and, with
    ``primary_key``, make the table's primary key ``(member_id, *primary_key)``."""
    with op.batch_alter_table(table) as batch:
        batch.add_column(sa.Column("member_id", sa.String(length=64), nullable=False, server_default=""))
    op.get_bind().execute(sa.table(table, sa.column("member_id")).update().values(member_id=portal))
    if not _sqlite():
        op.alter_column(table, "member_id", server_default=None)
        if primary_key:
            op.drop_constraint(f"{table}_pkey", table, type_="primary")
            op.create_primary_key(f"{table}_pkey", table, ["member_id", *primary_key])
        return
    with warnings.catch_warnings():  # batch mode says the rebuilt table's key differs from the old: on purpose
        warnings.filterwarnings("ignore", "Table '_alembic_tmp_", SAWarning)
        with op.batch_alter_table(table, recreate="always") as batch:
            batch.alter_column("member_id", server_default=None)
            if primary_key:
                batch.create_primary_key(f"{table}_pkey", ["member_id", *primary_key])


def drop_portal_column(table: str, *, primary_key: Sequence[str] | None = None) -> None:
    """The inverse of :func:`add_portal_column` (the downgrade: one portal's rows only make sense)."""
    if primary_key and not _sqlite():
        op.drop_constraint(f"{table}_pkey", table, type_="primary")
        op.create_primary_key(f"{table}_pkey", table, list(primary_key))
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "Table '_alembic_tmp_", SAWarning)
        with op.batch_alter_table(table, recreate="always" if _sqlite() else "auto") as batch:
            if primary_key and _sqlite():
                batch.create_primary_key(f"{table}_pkey", list(primary_key))
            batch.drop_column("member_id")
