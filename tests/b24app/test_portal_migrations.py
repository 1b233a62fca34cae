"""The migrations that key the sync's, outreach's and timesheets' tables by portal, on a database written
before them: rows get the one installed portal's member_id, or '' when none or several are installed; the
keys then hold the same 1C key, address or employment for two portals. And the migrated schema is the
models' schema."""
from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import date, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from b24app import app as core
from b24app import db
from service import FEATURES, upgrade_schema
from tests.conftest import TEST_DATABASE_URL

A, B = "a" * 32, "b" * 32
NOW = datetime(2026, 1, 1)  # as the tables store it: naive UTC
BEFORE = ("0005_sync_directory", "0102_outreach_approvals", "ts0001_timesheets")
PORTAL_KEYED = ("sync_mappings", "sync_bookmarks", "sync_replica", "sync_runs", "sync_directory_sites",
                "sync_directory_people", "sync_directory_placements", "outreach_opt_outs", "outreach_bounces",
                "timesheets", "timesheet_rates", "timesheet_notices")
TIMESHEET = {"id": 1, "period_start": date(2026, 12, 1), "person_ref": "p1", "employee_ref": "e1", "user_id": 5,
             "department_ref": "d1", "site_name": "", "group_id": 7, "legal_entity_ref": "o1",
             "legal_entity_name": "", "client_key": "c1", "employee_name": "n", "personnel_number": "",
             "position": "", "status": "draft", "revision": 0, "created_at": NOW, "updated_at": NOW}


@pytest.fixture
def fresh_url(tmp_path: Path) -> Iterator[str]:
    """An empty database of its own (a PostgreSQL schema when TEST_DATABASE_URL is set)."""
    if not TEST_DATABASE_URL:
        yield f"sqlite:///{tmp_path / 'old.sqlite3'}"
        return
    schema = f"test_mig_{uuid.uuid4().hex[:10]}"
    engine = sa.create_engine(TEST_DATABASE_URL)
    with engine.begin() as connection:
        connection.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    separator = "&" if "?" in TEST_DATABASE_URL else "?"
    yield f"{TEST_DATABASE_URL}{separator}options=-csearch_path%3D{schema}"
    with engine.begin() as connection:
        connection.execute(sa.text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _old_database(url: str, installed: list[str]) -> None:
    """The schema before the portal keys, with the rows a one-portal deployment had written."""
    for revision in BEFORE:
        db.upgrade_schema(url, core.migration_folders(FEATURES), revision)
    rows = {
        "portal_installations": [{"member_id": m, "domain": f"{m[:4]}.bitrix24.ru", "client_endpoint": "x",
                                  "token_generation": 0, "scopes": "", "app_version": 1, "status": "installed",
                                  "installed_at": NOW, "updated_at": NOW} for m in installed]
        + [{"member_id": "c" * 32, "domain": "gone.bitrix24.ru", "client_endpoint": "x", "token_generation": 0,
            "scopes": "", "app_version": 1, "status": "uninstalled", "installed_at": NOW, "updated_at": NOW}],
        "sync_mappings": [{"kind": "user", "key": "p1", "b24_id": 5, "state": "{}", "updated_at": NOW}],
        "sync_bookmarks": [{"stream": "persons", "value": "", "updated_at": NOW}],
        "sync_replica": [{"stream": "persons", "payload": b"x", "updated_at": NOW}],
        "sync_runs": [{"mode": "full", "status": "ok", "started_at": NOW, "counts": "{}"}],
        "sync_directory_sites": [{"department_ref": "d1", "name": "n", "department_name": "n",
                                  "legal_entity_ref": "o1", "legal_entity_name": "o", "digest": "x"}],
        "sync_directory_people": [{"person_ref": "p1", "name": "n", "position": "", "personnel_numbers": "",
                                   "email_known": True, "departments": "[]", "contacts": "", "digest": "x",
                                   "updated_at": NOW}],
        "sync_directory_placements": [{"department_ref": "d1", "person_ref": "p1"}],
        "outreach_messages": [{"key": key, "kind": "invitation", "channel": "sms", "address": "+79160000000",
                               "subject": "", "body": "b", "status": "sent", "attempts": 1, "not_before": NOW,
                               "created_at": NOW, "updated_at": NOW, "fallback_subject": "", "fallback_body": "",
                               "member_id": member_id}
                              for key, member_id in (("invitation:p1:1", None), ("portal:x:1", B))],
        "outreach_opt_outs": [{"address": "+79160000000", "created_at": NOW, "source": "cli"}],
        "outreach_bounces": [{"address": "a@example.ru", "reason": "", "created_at": NOW}],
        "timesheets": [TIMESHEET],
        "timesheet_days": [{"timesheet_id": 1, "day": 1, "code": "Я", "minutes": 480, "planned": "Я 8", "version": 1}],
        "timesheet_rates": [{"client_key": "c1", "position": "", "rate_kopecks": 100, "valid_from": date(2026, 1, 1),
                             "set_at": NOW}],
        "timesheet_notices": [{"dedupe_key": "k", "user_id": 5, "message": "m", "created_at": NOW, "attempts": 0}],
    }
    engine = sa.create_engine(url)
    metadata = sa.MetaData()
    with engine.begin() as connection:
        for table, values in rows.items():
            connection.execute(sa.Table(table, metadata, autoload_with=connection).insert(), values)
    engine.dispose()


def _portals(url: str) -> dict[str, set[str | None]]:
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        found = {table: set(connection.execute(sa.text(f"SELECT member_id FROM {table}")).scalars())
                 for table in PORTAL_KEYED}
        found["outreach_messages"] = set(connection.execute(sa.text(
            "SELECT member_id FROM outreach_messages WHERE key = 'invitation:p1:1'")).scalars())
        found["provider_message"] = set(connection.execute(sa.text(
            "SELECT member_id FROM outreach_messages WHERE key = 'portal:x:1'")).scalars())
    engine.dispose()
    return found


@pytest.mark.parametrize("installed, expected", [([A], A), ([A, B], ""), ([], "")],
                         ids=["one installed", "two installed", "none installed"])
def test_existing_rows_get_the_one_installed_portal_or_nobody(fresh_url: str, installed: list[str],
                                                                expected: str) -> None:
    _old_database(fresh_url, installed)
    upgrade_schema(fresh_url)
    found = _portals(fresh_url)
    assert found.pop("provider_message") == {B}  # a message of the portal's SMS provider named its portal
    assert found == {table: {expected} for table in found}
    engine = sa.create_engine(fresh_url)
    mapping = sa.text("INSERT INTO sync_mappings (member_id, kind, key, state, updated_at) "
                      "VALUES ('z', 'user', 'p1', '{}', :now)")
    with engine.begin() as connection:  # the same keys for another portal now fit beside them
        connection.execute(sa.text(
            "INSERT INTO sync_directory_placements (member_id, department_ref, person_ref) VALUES ('z', 'd1', 'p1')"))
        connection.execute(mapping, {"now": NOW})
        connection.execute(sa.text("INSERT INTO outreach_opt_outs (member_id, address, created_at, source) "
                                   "VALUES ('z', '+79160000000', :now, 'cli')"), {"now": NOW})
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():  # but not twice for one portal
            connection.execute(mapping, {"now": NOW})
        timesheets = sa.Table("timesheets", sa.MetaData(), autoload_with=connection)
        connection.execute(timesheets.insert(), {**TIMESHEET, "id": 2, "member_id": "z"})
        with pytest.raises(sa.exc.IntegrityError), connection.begin_nested():
            connection.execute(timesheets.insert(), {**TIMESHEET, "id": 3, "member_id": "z"})
        assert connection.execute(sa.text("SELECT minutes FROM timesheet_days WHERE timesheet_id = 1")).scalar() == 480
    engine.dispose()


def test_the_migrated_schema_is_the_models_schema(fresh_url: str) -> None:
    """Tables, columns, keys, unique constraints and indexes as the models declare them (SQLite or PostgreSQL)."""
    upgrade_schema(fresh_url)
    engine = sa.create_engine(fresh_url)
    with engine.connect() as connection:
        differences = compare_metadata(MigrationContext.configure(connection), db.Base.metadata)
    engine.dispose()
    assert differences == []
